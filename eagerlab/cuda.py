"""`eagerlab.cuda`: is CUDA usable here, how many devices, and the runtime calls PyTorch scripts make
(synchronize, set_device, capability). Without CUDA the device calls raise DeviceError, as PyTorch's do."""
from .backend import cuda_available, cuda_device_count, manual_seed as _manual_seed
from .backend.cuda_runtime import current_device, set_device, synchronize
from .backend.cuda_runtime import capability as get_device_capability

__all__ = ["current_device", "device_count", "get_device_capability", "is_available", "is_bf16_supported",
           "manual_seed", "manual_seed_all", "set_device", "synchronize"]


def is_available():
    """True when cupy imports and sees at least one GPU."""
    return cuda_available()


def device_count():
    return cuda_device_count()


def manual_seed(seed):
    """Seed the generators of all devices (eagerlab keeps one seed for every device)."""
    _manual_seed(seed)


manual_seed_all = manual_seed


def is_bf16_supported():
    """True when eagerlab can compute in bfloat16 on the current GPU: compute capability 8.0 or newer and a cupy
    that holds bfloat16 arrays (nanoGPT asks before choosing it); False without CUDA."""
    from .backend.device import Device, _cupy_has_bfloat16

    if not cuda_available():
        return False
    return get_device_capability() >= (8, 0) and _cupy_has_bfloat16(Device("cuda").xp)
