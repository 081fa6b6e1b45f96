"""Keras optimizers (`keras.optimizers.Adam(learning_rate=...)` or the strings "adam", "sgd", ...): Keras's names and
defaults over eagerlab's optimizers, bound to a model's trainable weights when the model is compiled.

The update rules are PyTorch's (eagerlab.optim): Keras's Adam folds its bias correction into the step size, which
moves epsilon's place by a factor sqrt(1 - beta_2^t); with Keras's epsilon (1e-7) the two agree to rounding.
"""
from .. import optim
from ..errors import UnsupportedError


class Optimizer:
    """Keras optimizer config; `build(params)` makes the eagerlab optimizer that does the updates."""

    _defaults = {}

    def __init__(self, learning_rate=0.001, name=None, global_clipnorm=None, clipnorm=None, clipvalue=None,
                 **kwargs):
        unknown = sorted(set(kwargs) - set(self._defaults))
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {unknown}; expected "
                            f"{['learning_rate', *self._defaults, 'global_clipnorm', 'name']}")
        if clipnorm is not None or clipvalue is not None:
            raise UnsupportedError(f"{type(self).__name__}: clipnorm / clipvalue (per-variable clipping) are not "
                                   "supported yet; use global_clipnorm (one norm over all gradients)")
        self.name = name or type(self).__name__.lower()
        self.global_clipnorm = global_clipnorm
        self._config = {**self._defaults, **kwargs}
        self._learning_rate = float(learning_rate)
        self.torch_optimizer = None  # the eagerlab optimizer, once built

    def build(self, params):
        """The eagerlab optimizer over `params` (made on the first call; the same one after)."""
        if self.torch_optimizer is None:
            self.torch_optimizer = self._make(list(params), self._learning_rate, **self._config)
        return self.torch_optimizer

    @property
    def learning_rate(self):
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        """Setting it (LearningRateScheduler, ReduceLROnPlateau) changes the rate of every parameter group."""
        self._learning_rate = float(value)
        if self.torch_optimizer is not None:
            for group in self.torch_optimizer.param_groups:
                group["lr"] = self._learning_rate

    lr = learning_rate

    def get_config(self):
        return {"name": self.name, "learning_rate": self._learning_rate, "global_clipnorm": self.global_clipnorm,
                **self._config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class SGD(Optimizer):
    _defaults = {"momentum": 0.0, "nesterov": False, "weight_decay": None}

    def __init__(self, learning_rate=0.01, **kwargs):
        super().__init__(learning_rate, **kwargs)

    @staticmethod
    def _make(params, lr, momentum, nesterov, weight_decay):
        return optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay or 0)


class Adam(Optimizer):
    _defaults = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False, "weight_decay": None}

    @staticmethod
    def _make(params, lr, beta_1, beta_2, epsilon, amsgrad, weight_decay):
        return optim.Adam(params, lr=lr, betas=(beta_1, beta_2), eps=epsilon, amsgrad=amsgrad,
                          weight_decay=weight_decay or 0)


class AdamW(Optimizer):
    _defaults = {"weight_decay": 0.004, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False}

    @staticmethod
    def _make(params, lr, weight_decay, beta_1, beta_2, epsilon, amsgrad):
        return optim.AdamW(params, lr=lr, betas=(beta_1, beta_2), eps=epsilon, amsgrad=amsgrad,
                           weight_decay=weight_decay)


class RMSprop(Optimizer):
    _defaults = {"rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False, "weight_decay": None}

    @staticmethod
    def _make(params, lr, rho, momentum, epsilon, centered, weight_decay):
        return optim.RMSprop(params, lr=lr, alpha=rho, eps=epsilon, momentum=momentum, centered=centered,
                             weight_decay=weight_decay or 0)


class Adagrad(Optimizer):
    _defaults = {"initial_accumulator_value": 0.1, "epsilon": 1e-7, "weight_decay": None}

    @staticmethod
    def _make(params, lr, initial_accumulator_value, epsilon, weight_decay):
        return optim.Adagrad(params, lr=lr, initial_accumulator_value=initial_accumulator_value, eps=epsilon,
                             weight_decay=weight_decay or 0)


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}
# classes a config dict may name besides those (wrappers such as mixed_precision.LossScaleOptimizer, which has no
# string identifier: it needs an inner optimizer)
_CONFIG_ONLY = {}


def register_config_class(cls):
    """Let get() rebuild `cls` from {"class_name": cls.__name__, "config": ...} (a saved model's optimizer)."""
    _CONFIG_ONLY[cls.__name__.lower()] = cls
    return cls


def get(identifier):
    """An Optimizer from a Keras name ("adam"), a config dict ({"class_name": "Adam", "config": {...}}) or itself."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        name = str(identifier.get("class_name", "")).lower()
        cls = _BY_NAME.get(name) or _CONFIG_ONLY.get(name)
        if cls is not None:
            return cls.from_config(identifier.get("config", {}))
    elif isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}; expected one of "
                     f"{sorted(_BY_NAME)} or a keras.optimizers.Optimizer")


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}
