"""Keras weight regularizers: `reg(weight)` -> a scalar penalty tensor added to the loss."""
from . import _config


class Regularizer:
    def get_config(self):
        return {}


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        return self.l1 * x.abs().sum() + self.l2 * (x * x).sum()

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2
_CLASSES = {cls.__name__: cls for cls in (L1, L2, L1L2)}


def get(identifier):
    """A regularizer for None, "l1", "l2", "l1_l2", an instance, a serialized dict or a callable(weight)."""
    return _config.lookup("regularizer", identifier, _CLASSES, {"l1": L1, "l2": L2, "l1_l2": L1L2})


serialize = _config.serialize
