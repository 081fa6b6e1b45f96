"""Devices and the array module behind each: numpy for "cpu", cupy for "cuda:N".

This package is the only place that imports cupy. A Device is interned (one object per name) so the
hot path compares devices with `is`.
"""
import numpy as np

from ..errors import DeviceError, UnsupportedError

_cupy = None
_cupy_error = None


def _load_cupy():
    """Import cupy once; remember why it failed so the error can say so."""
    global _cupy, _cupy_error
    if _cupy is None and _cupy_error is None:
        try:
            import cupy

            cupy.cuda.runtime.getDeviceCount()
            _cupy = cupy
            from .cuda_runtime import apply_settings

            apply_settings(cupy)
        except Exception as e:  # ImportError, or a CUDA driver/runtime error
            _cupy_error = f"{type(e).__name__}: {e}"
    return _cupy


def cuda_available():
    cp = _load_cupy()
    return cp is not None and cp.cuda.runtime.getDeviceCount() > 0


def cuda_device_count():
    cp = _load_cupy()
    return 0 if cp is None else cp.cuda.runtime.getDeviceCount()


class Device:
    """`eagerlab.device("cpu" | "cuda" | "cuda:1")`. `xp` is the array module its tensors live in."""

    __slots__ = ("type", "index", "_xp")
    _interned = {}

    def __new__(cls, spec="cpu", index=None):
        if isinstance(spec, Device):
            return spec
        if not isinstance(spec, str):
            raise DeviceError(f"device: expected a string like 'cpu' or 'cuda:0', got {spec!r}")
        kind, _, idx = spec.partition(":")
        if kind not in ("cpu", "cuda"):
            raise DeviceError(f"device: unknown device type {kind!r} in {spec!r}; expected 'cpu' or 'cuda[:N]'")
        if idx:
            if index is not None or not idx.isdigit():
                raise DeviceError(f"device: bad device string {spec!r}")
            index = int(idx)
        if kind == "cpu":
            index = None
        elif index is None:
            index = 0
        key = (kind, index)
        dev = cls._interned.get(key)
        if dev is None:
            dev = object.__new__(cls)
            dev.type, dev.index, dev._xp = kind, index, np if kind == "cpu" else None
            cls._interned[key] = dev
        return dev

    @property
    def xp(self):
        """The array module (numpy or cupy); asking for CUDA without cupy or a GPU raises DeviceError."""
        if self._xp is None:
            cp = _load_cupy()
            if cp is None:
                raise DeviceError(
                    f"device {self}: CUDA is not available ({_cupy_error}). "
                    "Install the 'cuda' extra (pip install eagerlab[cuda]) on a machine with an NVIDIA GPU."
                )
            if self.index >= cp.cuda.runtime.getDeviceCount():
                raise DeviceError(f"device {self}: only {cp.cuda.runtime.getDeviceCount()} CUDA device(s) present")
            self._xp = cp
        return self._xp

    def __repr__(self):
        return f"device(type='{self.type}'" + (f", index={self.index})" if self.index is not None else ")")

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = Device(other)
            except DeviceError:
                return False
        return self is other

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (Device, (str(self),))


CPU = Device("cpu")


def device_of_array(arr):
    """The Device an array lives on: numpy arrays are on the CPU, cupy arrays carry `.device.id`."""
    if isinstance(arr, np.ndarray):
        return CPU
    cp = _load_cupy()
    if cp is not None and isinstance(arr, cp.ndarray):
        return Device("cuda", arr.device.id)
    raise DeviceError(f"unsupported array type {type(arr).__name__}")


def check_dtype_on_device(dtype_name, dev):
    """UnsupportedError when `dev` cannot hold `dtype_name` (bfloat16 on a cupy without it; float16 is native)."""
    if dev.type == "cuda" and dtype_name == "bfloat16" and not _cupy_has_bfloat16(dev.xp):
        raise UnsupportedError(
            f"bfloat16 tensors on {dev}: the installed cupy {dev.xp.__version__} has no bfloat16 arrays. Use "
            "float16 on the GPU (eagerlab.autocast('cuda', dtype=eagerlab.float16)), or keep bfloat16 on the CPU")


def _cupy_has_bfloat16(cp):
    global _bf16_on_cupy
    if _bf16_on_cupy is None:
        from .dtypes import bfloat16

        try:
            cp.zeros(1, dtype=bfloat16.np)
            _bf16_on_cupy = True
        except Exception:  # cupy raises TypeError/ValueError/NotImplementedError for a dtype it lacks
            _bf16_on_cupy = False
    return _bf16_on_cupy


_bf16_on_cupy = None


def array_to_device(arr, dev):
    """Copy `arr` onto `dev` (numpy <-> cupy, or across GPUs)."""
    if dev.type == "cpu":
        return arr if isinstance(arr, np.ndarray) else arr.get()
    cp = dev.xp
    check_dtype_on_device(arr.dtype.name, dev)
    with cp.cuda.Device(dev.index):
        return cp.asarray(arr)
