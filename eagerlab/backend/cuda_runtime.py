"""CUDA runtime controls PyTorch scripts touch (torch.cuda / torch.backends): the current device, synchronize,
compute capability, TF32 matrix products. On cupy; without CUDA the device calls raise DeviceError as PyTorch's
CPU build does, and the settings are kept and take effect when cupy loads."""
import importlib

import numpy as np

from ..errors import DeviceError
from . import device as _device

_settings = {"matmul_tf32": None}  # None: not set, cupy decides (its CUPY_TF32 variable)


def _cupy(what):
    cp = _device._load_cupy()
    if cp is None or cp.cuda.runtime.getDeviceCount() == 0:
        raise DeviceError(f"{what}: CUDA is not available ({_device._cupy_error or 'no GPU'})")
    return cp


def synchronize(index=None):
    """Wait for every kernel queued on the device (the current one when index is None)."""
    cp = _cupy("cuda.synchronize")
    with cp.cuda.Device(cp.cuda.Device().id if index is None else index):
        cp.cuda.Device().synchronize()


def set_device(index):
    """Make device `index` current for new cupy work (`eagerlab.device("cuda")` still means cuda:0)."""
    cp = _cupy("cuda.set_device")
    if not 0 <= index < cp.cuda.runtime.getDeviceCount():
        raise DeviceError(f"cuda.set_device: invalid device ordinal {index} "
                          f"({cp.cuda.runtime.getDeviceCount()} CUDA device(s) present)")
    cp.cuda.Device(index).use()


def current_device():
    return _cupy("cuda.current_device").cuda.Device().id


def capability(index=None):
    """(major, minor) compute capability of the device."""
    cp = _cupy("cuda.get_device_capability")
    cc = cp.cuda.Device(cp.cuda.Device().id if index is None else index).compute_capability
    return int(cc[:-1]), int(cc[-1])


def matmul_tf32():
    return bool(_settings["matmul_tf32"])


def set_matmul_tf32(enabled):
    """Let float32 matrix products use TF32 tensor cores (cupy's compute type for float32 GEMMs)."""
    _settings["matmul_tf32"] = bool(enabled)
    if _device._cupy is not None:
        apply_settings(_device._cupy)


def apply_settings(cp):
    """Push the settings made so far into a freshly loaded cupy."""
    if _settings["matmul_tf32"] is None:
        return
    try:
        linalg = importlib.import_module("cupy._core._routines_linalg")
    except ImportError:
        linalg = None
    if not hasattr(linalg, "set_compute_type"):
        return  # a cupy without the switch: float32 GEMMs keep full precision, which TF32 only relaxes
    tf32 = getattr(linalg, "COMPUTE_TYPE_TF32", None)
    default = getattr(linalg, "COMPUTE_TYPE_DEFAULT", None)
    if tf32 is not None and default is not None:
        linalg.set_compute_type(np.float32, tf32 if _settings["matmul_tf32"] else default)
