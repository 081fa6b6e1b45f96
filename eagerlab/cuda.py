"""`eagerlab.cuda`: is CUDA usable here, and how many devices."""
from .backend import cuda_available, cuda_device_count, manual_seed as _manual_seed


def is_available():
    """True when cupy imports and sees at least one GPU."""
    return cuda_available()


def device_count():
    return cuda_device_count()


def manual_seed(seed):
    """Seed the generators of all devices (eagerlab keeps one seed for every device)."""
    _manual_seed(seed)


manual_seed_all = manual_seed
