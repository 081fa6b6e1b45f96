"""`eagerlab.accelerator`, as torch.accelerator: the one accelerator kind this process can use (CUDA through
cupy), or none."""
from .backend import Device, cuda_available, cuda_device_count


def is_available():
    return cuda_available()


def current_accelerator(check_available=False):
    """device("cuda") when a GPU is usable, else None."""
    return Device("cuda") if cuda_available() else None


def device_count():
    return cuda_device_count()
