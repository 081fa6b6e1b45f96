"""Activation layers: thin modules over nn.functional."""
from .. import functional as F
from .attention import MultiheadAttention
from .module import Module


class _Elementwise(Module):
    """An activation with no parameters: forward is F.<fn>(input, **options)."""

    _fn = None
    _options = ()

    def __init__(self, **options):
        super().__init__()
        for key, value in options.items():
            setattr(self, key, value)

    def forward(self, input):
        return type(self)._fn(input, **{k: getattr(self, k) for k in self._options})

    def extra_repr(self):
        return ", ".join(f"{k}={getattr(self, k)!r}" for k in self._options if k != "inplace" or self.inplace)


def _activation(name, fn, **defaults):
    def __init__(self, *args, **kwargs):
        options = dict(defaults)
        options.update(zip(defaults, args))
        unknown = set(kwargs) - set(defaults)
        if unknown or len(args) > len(defaults):
            raise TypeError(f"{name}.__init__ got unexpected arguments {sorted(unknown) or args[len(defaults):]}")
        options.update(kwargs)
        _Elementwise.__init__(self, **options)

    cls = type(name, (_Elementwise,), {"__init__": __init__, "_fn": staticmethod(fn), "_options": tuple(defaults),
                                       "__doc__": f"Applies F.{fn.__name__} elementwise."})
    cls.__module__ = __name__
    return cls


ReLU = _activation("ReLU", F.relu, inplace=False)
ReLU6 = _activation("ReLU6", F.relu6, inplace=False)
LeakyReLU = _activation("LeakyReLU", F.leaky_relu, negative_slope=0.01, inplace=False)
ELU = _activation("ELU", F.elu, alpha=1.0, inplace=False)
GELU = _activation("GELU", F.gelu, approximate="none")
SiLU = _activation("SiLU", F.silu)
Sigmoid = _activation("Sigmoid", F.sigmoid)
Tanh = _activation("Tanh", F.tanh)
Softplus = _activation("Softplus", F.softplus, beta=1.0, threshold=20.0)
Hardtanh = _activation("Hardtanh", F.hardtanh, min_val=-1.0, max_val=1.0, inplace=False)
Hardsigmoid = _activation("Hardsigmoid", F.hardsigmoid, inplace=False)
Hardswish = _activation("Hardswish", F.hardswish, inplace=False)
Mish = _activation("Mish", F.mish, inplace=False)
LogSigmoid = _activation("LogSigmoid", F.logsigmoid)
Softsign = _activation("Softsign", F.softsign)
Softmax = _activation("Softmax", F.softmax, dim=None)
LogSoftmax = _activation("LogSoftmax", F.log_softmax, dim=None)

# MultiheadAttention lives in attention.py; PyTorch serves it from this module too (torch.nn.modules.activation)
__all__ = ["ELU", "GELU", "Hardsigmoid", "Hardswish", "Hardtanh", "LeakyReLU", "LogSigmoid", "LogSoftmax", "Mish",
           "MultiheadAttention", "ReLU", "ReLU6", "Sigmoid", "SiLU", "Softmax", "Softplus", "Softsign", "Tanh"]
