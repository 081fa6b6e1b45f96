"""Devices, array modules (numpy/cupy), dtypes and random generators. The only package that imports cupy."""
from . import host_memory  # noqa: F401  (tunes the host allocator once, at import)
from .device import CPU, Device, array_to_device, cuda_available, cuda_device_count, device_of_array
from .dtypes import (
    as_dtype,
    dtype,
    from_numpy_dtype,
    get_default_dtype,
    promote_types,
    result_type,
    set_default_dtype,
)
from .generator import Generator, default_generator, manual_seed

__all__ = [
    "CPU", "Device", "array_to_device", "cuda_available", "cuda_device_count", "device_of_array",
    "as_dtype", "dtype", "from_numpy_dtype", "get_default_dtype", "promote_types", "result_type",
    "set_default_dtype", "Generator", "default_generator", "manual_seed",
]
