"""Keras initializers: `init(shape, dtype)` -> a new Tensor, drawn from eagerlab's default generator (so
`eagerlab.manual_seed` makes them reproducible). Fans follow Keras's layout (kernel (..., in, out)), not PyTorch's."""
import math

from ..nn import init as _init
from ..ops.creation import empty
from . import _config

# the std of N(0, 1) truncated to [-2, 2]: truncated draws are scaled by 1 / this to keep the intended variance
_TRUNCATED_STD = 0.87962566103423978


class Initializer:
    def __call__(self, shape, dtype="float32"):
        tensor = empty(tuple(shape), dtype=dtype)
        self._fill(tensor)
        return tensor

    def get_config(self):
        return {}


class Zeros(Initializer):
    def _fill(self, tensor):
        _init.zeros_(tensor)


class Ones(Initializer):
    def _fill(self, tensor):
        _init.ones_(tensor)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = float(value)

    def _fill(self, tensor):
        _init.constant_(tensor, self.value)

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def _fill(self, tensor):
        _init.normal_(tensor, self.mean, self.stddev)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def _fill(self, tensor):
        _init.uniform_(tensor, self.minval, self.maxval)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


def _fans(shape):
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class VarianceScaling(Initializer):
    """Draws with variance scale / fan (fan_in, fan_out or their mean), from a uniform, a normal or a normal
    truncated at two standard deviations."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be 'fan_in', 'fan_out' or 'fan_avg'. Received: {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError("VarianceScaling: distribution must be 'truncated_normal', 'untruncated_normal' or "
                             f"'uniform'. Received: {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def _fill(self, tensor):
        fan_in, fan_out = _fans(tuple(tensor.shape))
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, fan)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            _init.uniform_(tensor, -limit, limit)
        elif self.distribution == "untruncated_normal":
            _init.normal_(tensor, 0.0, math.sqrt(variance))
        else:
            std = math.sqrt(variance) / _TRUNCATED_STD
            _init.trunc_normal_(tensor, 0.0, std, -2 * std, 2 * std)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


def _variance_scaling(name, scale, mode, distribution):
    """A named VarianceScaling with fixed arguments (GlorotUniform, HeNormal, ...), configured by seed only."""

    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config})


GlorotUniform = _variance_scaling("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _variance_scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _variance_scaling("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _variance_scaling("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _variance_scaling("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _variance_scaling("LecunNormal", 1.0, "fan_in", "truncated_normal")


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix over (prod(shape[:-1]), shape[-1]), times gain."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def _fill(self, tensor):
        _init.orthogonal_(tensor.view(-1, tensor.shape[-1]), self.gain)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


_CLASSES = {cls.__name__: cls for cls in (Zeros, Ones, Constant, RandomNormal, RandomUniform, VarianceScaling,
                                          GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform,
                                          LecunNormal, Orthogonal)}
_ALIASES = {"zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
            "normal": RandomNormal, "random_uniform": RandomUniform, "uniform": RandomUniform,
            "variance_scaling": VarianceScaling, "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
            "he_uniform": HeUniform, "he_normal": HeNormal, "lecun_uniform": LecunUniform,
            "lecun_normal": LecunNormal, "orthogonal": Orthogonal}


def get(identifier):
    """An initializer for a name ("glorot_uniform"), an instance, a serialized dict or a callable(shape, dtype)."""
    if identifier is None:
        raise ValueError("Unknown initializer: None. Valid names: " + ", ".join(sorted(_ALIASES)))
    return _config.lookup("initializer", identifier, _CLASSES, _ALIASES)


serialize = _config.serialize
