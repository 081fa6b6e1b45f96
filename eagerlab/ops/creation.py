"""Tensor creation: tensor/as_tensor/from_numpy, zeros/ones/full/empty(_like), arange, linspace, eye; device moves."""
import numpy as np

from .._tensor import Tensor
from ..backend import CPU, Device, array_to_device, as_dtype, device_of_array, from_numpy_dtype, get_default_dtype
from ..errors import DTypeError
from ._registry import Aval, bind, primitive


def _to_array(data, dtype):
    if isinstance(data, Tensor):
        return data._data, data._device
    if isinstance(data, np.ndarray):
        return data, CPU
    if hasattr(data, "__cuda_array_interface__"):
        return data, device_of_array(data)
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat(data)):
        data = _nested_to_lists(data)
    arr = np.asarray(data)
    if arr.dtype == object:
        raise DTypeError(f"tensor: could not infer a numeric dtype from data of type {type(data).__name__}")
    if dtype is None and arr.dtype.kind == "f":  # Python floats (not numpy arrays) take the default float dtype
        arr = arr.astype(get_default_dtype().np)
    elif dtype is None and arr.dtype.kind in "iu" and arr.dtype != np.int64 and not _is_numpy_scalar(data):
        arr = arr.astype(np.int64)
    return arr, CPU


def _is_numpy_scalar(x):
    return isinstance(x, np.generic)


def _flat(data):
    for x in data:
        if isinstance(x, (list, tuple)):
            yield from _flat(x)
        else:
            yield x


def _nested_to_lists(data):
    return [(_nested_to_lists(x) if isinstance(x, (list, tuple)) else x.item() if isinstance(x, Tensor) else x)
            for x in data]


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of `data` (nested lists, numbers, numpy arrays, tensors)."""
    arr, src_dev = _to_array(data, dtype)
    dev = Device(device) if device is not None else src_dev
    if dtype is not None:
        arr = arr.astype(as_dtype(dtype).np, copy=False)
    else:
        from_numpy_dtype(arr.dtype)  # unsupported numpy dtypes raise here, naming the dtype
    arr = array_to_device(arr, dev) if dev is not src_dev else arr
    arr = arr.copy() if _shares(arr, data) else arr
    if arr.ndim and not arr.flags.c_contiguous:
        arr = dev.xp.ascontiguousarray(arr)
    t = Tensor._make(arr, dev)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _shares(arr, data):
    src = data._data if isinstance(data, Tensor) else data
    return isinstance(src, type(arr)) and (arr is src or arr.base is not None and arr.base is src or
                                            getattr(src, "base", None) is not None and arr.base is src.base)


def as_tensor(data, dtype=None, device=None):
    """Like tensor(), but shares memory with a numpy array or tensor when dtype and device already match."""
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=device)
    if isinstance(data, np.ndarray) and (dtype is None or as_dtype(dtype).np == data.dtype) and \
            (device is None or Device(device) is CPU):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array):
    """A CPU tensor sharing memory with `array` (its dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(array).__name__})")
    from_numpy_dtype(array.dtype)
    return Tensor._make(array, CPU)


def _factory(dtype, device):
    return as_dtype(dtype) if dtype is not None else get_default_dtype(), Device(device) if device else CPU


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(s) for s in size)


def _filled(xp_fn, size, dtype, device, requires_grad):
    dt, dev = _factory(dtype, device)
    t = Tensor._make(xp_fn(dev.xp)(_size(size), dtype=dt.np), dev)
    return t.requires_grad_(True) if requires_grad else t


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _filled(lambda xp: xp.zeros, size, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _filled(lambda xp: xp.ones, size, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return _filled(lambda xp: xp.empty, size, dtype, device, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    if dtype is None:
        from ..backend import result_type

        dtype = result_type(fill_value)
    return _filled(lambda xp: (lambda s, dtype: xp.full(s, fill_value, dtype=dtype)), (size,), dtype, device,
                   requires_grad)


def _like(fn):
    def like(input, *, dtype=None, device=None, requires_grad=False):
        return fn(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                  requires_grad=requires_grad)

    like.__name__ = fn.__name__ + "_like"
    like.__doc__ = f"{fn.__name__}() with the shape (and by default dtype and device) of `input`."
    return like


zeros_like, ones_like, empty_like = _like(zeros), _like(ones), _like(empty)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False):
    return full(input.shape, fill_value, dtype=dtype or input.dtype, device=device or input.device,
                requires_grad=requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """Values from start (default 0) to end (exclusive); int64 for integer arguments, else the default float."""
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if dtype is None:
        dtype = "int64" if all(isinstance(v, (int, np.integer)) for v in vals) else get_default_dtype()
    dt, dev = _factory(dtype, device)
    t = Tensor._make(dev.xp.arange(*vals, dtype=np.float64 if dt.is_floating_point else None).astype(dt.np), dev)
    return t.requires_grad_(True) if requires_grad else t


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    dt, dev = _factory(dtype, device)
    t = Tensor._make(dev.xp.linspace(start, end, int(steps)).astype(dt.np), dev)
    return t.requires_grad_(True) if requires_grad else t


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    dt, dev = _factory(dtype, device)
    t = Tensor._make(dev.xp.eye(n, m, dtype=dt.np), dev)
    return t.requires_grad_(True) if requires_grad else t


# ---- moving between devices (differentiable) ---------------------------------------------------------------
def _to_device_infer(x, target, source):
    return Aval(x.shape, x.dtype, target)


to_device_p = primitive("to_device", _to_device_infer)(lambda xp, x, target, source: array_to_device(x, target))


@to_device_p.defvjp
def _(ctx, g):
    return to_device(g, ctx.attrs["source"]),


def to_device(x, device):
    """Copy x to `device`; gradients flow back to the source device."""
    device = Device(device)
    device.xp  # raises a clear DeviceError when CUDA is unavailable
    return bind(to_device_p, x, target=device, source=x.device)


def _new(fn):
    def new(self, *size, dtype=None, device=None, requires_grad=False):
        return fn(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    new.__name__ = "new_" + fn.__name__
    return new


Tensor.new_zeros, Tensor.new_ones, Tensor.new_empty = _new(zeros), _new(ones), _new(empty)
Tensor.new_full = lambda self, size, fill_value, *, dtype=None, device=None, requires_grad=False: full(
    size, fill_value, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)
Tensor.new_tensor = lambda self, data, *, dtype=None, device=None, requires_grad=False: tensor(
    data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)
