"""Per-device random number generators (numpy PCG64 on CPU, cupy's generator on CUDA).

The draw methods (uniform, normal, exponential, integers, permutation) are the only place where the numpy and
cupy generator APIs differ; the random primitives call them and never the backend generator directly.
"""
import json

import numpy as np

from .device import CPU, Device

_DEFAULT_SEED = 67280421310721
_F16_STEPS = 2048.0  # float16 has an 11-bit significand: uniforms are multiples of 2**-11, always below 1


class Generator:
    """`eagerlab.Generator(device="cpu")`: a seedable random stream; `manual_seed` returns self as in PyTorch."""

    def __init__(self, device="cpu"):
        self.device = Device(device)
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed):
        seed = int(seed)
        if seed < 0:
            raise ValueError(f"Generator.manual_seed: seed must be non-negative, got {seed}")
        self._seed = seed
        xp = self.device.xp
        self._rng = np.random.Generator(np.random.PCG64(seed)) if xp is np else xp.random.default_rng(seed)
        return self

    def seed(self):
        """Reseed from OS entropy and return the new seed."""
        return self.manual_seed(int(np.random.SeedSequence().entropy % (2**63))).initial_seed()

    def initial_seed(self):
        return self._seed

    @property
    def rng(self):
        """The backend generator object (numpy.random.Generator or cupy's) that the draws below use."""
        return self._rng

    # ---- draws (raw backend arrays; `dtype` is a numpy float dtype) ------------------------------------------
    def uniform(self, shape, dtype):
        """Uniform [0, 1) of a float dtype (float16 is drawn as float32 and truncated so it stays below 1)."""
        dtype = np.dtype(dtype)
        if dtype.itemsize >= 4:
            return self.rng.random(shape, dtype=dtype)
        u = self.rng.random(shape, dtype=np.float32)
        return (self.device.xp.floor(u * _F16_STEPS) / _F16_STEPS).astype(dtype)

    def normal(self, shape, dtype):
        """Standard normal of a float dtype."""
        dtype = np.dtype(dtype)
        if dtype.itemsize >= 4:
            return self.rng.standard_normal(shape, dtype=dtype)
        return self.rng.standard_normal(shape, dtype=np.float32).astype(dtype)

    def exponential(self, shape, dtype):
        """Standard exponential (rate 1) of a float dtype."""
        dtype = np.dtype(dtype)
        if dtype.itemsize >= 4:
            return self.rng.standard_exponential(shape, dtype=dtype)
        return self.rng.standard_exponential(shape, dtype=np.float32).astype(dtype)

    def integers(self, low, high, shape):
        """int64 uniform in [low, high)."""
        return self.rng.integers(low, high, size=shape, dtype=np.int64)

    def permutation(self, n):
        """A random permutation of 0..n-1 (int64)."""
        perm = getattr(self.rng, "permutation", None)
        if perm is not None:
            return perm(n).astype(np.int64, copy=False)
        return self.device.xp.argsort(self.rng.random(n))  # generators without permutation (cupy's)

    # ---- state ---------------------------------------------------------------------------------------------
    def get_state(self):
        """The full state as a uint8 numpy array (JSON bytes), restorable with set_state."""
        if self.device.type != "cpu":
            from ..errors import UnsupportedError

            raise UnsupportedError("Generator.get_state: saving a CUDA generator's state is not supported yet")
        state = {"seed": self._seed, "bit_generator": self._rng.bit_generator.state}
        return np.frombuffer(json.dumps(state).encode(), dtype=np.uint8).copy()

    def set_state(self, state):
        if self.device.type != "cpu":
            from ..errors import UnsupportedError

            raise UnsupportedError("Generator.set_state: restoring a CUDA generator's state is not supported yet")
        data = json.loads(bytes(np.asarray(state, dtype=np.uint8)).decode())
        self._seed = data["seed"]
        self._rng.bit_generator.state = data["bit_generator"]
        return self

    def __repr__(self):
        return f"<eagerlab.Generator device={self.device} seed={self._seed}>"


_defaults = {}


def default_generator(device=CPU):
    """The process-wide generator for a device, created on first use."""
    dev = Device(device)
    gen = _defaults.get(dev)
    if gen is None:
        gen = _defaults[dev] = Generator(dev)
    return gen


def manual_seed(seed):
    """Seed the default generators of every device (as `torch.manual_seed`); returns the CPU generator."""
    for gen in _defaults.values():
        gen.manual_seed(seed)
    return default_generator(CPU).manual_seed(seed)
