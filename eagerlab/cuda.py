"""`eagerlab.cuda`: is CUDA usable here, and how many devices."""
from .backend import cuda_available, cuda_device_count, manual_seed as _manual_seed


def is_available():
    """True when cupy imports and sees at least one GPU."""
    return cuda_available()


def device_count():
    return cuda_device_count()


def is_bf16_supported():
    """True when CUDA is available and the installed cupy holds bfloat16 arrays (nanoGPT asks before choosing it)."""
    from .backend.device import Device, _cupy_has_bfloat16

    return cuda_available() and _cupy_has_bfloat16(Device("cuda").xp)


def manual_seed(seed):
    """Seed the generators of all devices (eagerlab keeps one seed for every device)."""
    _manual_seed(seed)


manual_seed_all = manual_seed
