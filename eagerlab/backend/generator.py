"""Per-device random number generators (numpy PCG64 on CPU, cupy's generator on CUDA)."""
import json

import numpy as np

from .device import CPU, Device

_DEFAULT_SEED = 67280421310721


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
        """The backend generator object (numpy.random.Generator or cupy's) that kernels draw from."""
        return self._rng

    def get_state(self):
        """The full state as a uint8 numpy array (JSON bytes), restorable with set_state."""
        if self.device.type != "cpu":
            from ..errors import UnsupportedError

            raise UnsupportedError("Generator.get_state: saving a CUDA generator's state is not supported yet")
        state = {"seed": self._seed, "bit_generator": self._rng.bit_generator.state}
        return np.frombuffer(json.dumps(state).encode(), dtype=np.uint8).copy()

    def set_state(self, state):
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
