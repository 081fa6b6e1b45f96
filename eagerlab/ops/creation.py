"""Tensor creation: tensor/as_tensor/from_numpy, zeros/ones/full/empty(_like), arange, linspace, eye, new_*, the
Tensor constructor and the legacy typed ones (FloatTensor, ...). Moving between devices is conversion.py."""
import math
import operator

import numpy as np

from .._tensor import Size, Tensor
from ..backend import CPU, Device, array_to_device, as_dtype, device_of_array, from_numpy_dtype, get_default_dtype
from ..backend.device import check_dtype_on_device
from ..backend.dtypes import bool_, int64, promote_types, scalar_dtype
from ..errors import DTypeError, ShapeError, fmt_shape
from ..autograd.interpreter import current
from ._registry import EXPORTS, export, method


# ---- from data ------------------------------------------------------------------------------------------------
def _from_data(op, data, dtype, device, copy):
    """The array behind a new tensor: with `copy` False it shares memory with an array or tensor whose dtype and
    device already match (as_tensor); with True it is always a fresh C-contiguous array (tensor)."""
    dt = as_dtype(dtype) if dtype is not None else None
    borrowed = True
    if isinstance(data, Tensor):
        arr, src = data._data, data._device
    elif isinstance(data, np.ndarray):
        arr, src = data, CPU
    elif hasattr(data, "__cuda_array_interface__"):
        arr, src = data, device_of_array(data)
    elif hasattr(data, "__array__") and not isinstance(data, (list, tuple)):
        arr, src = np.asarray(data), CPU  # another library's CPU array (may share its memory)
    else:
        arr, src, borrowed = _python_data(op, data, dt or _infer_dtype(op, data)), CPU, False
    if dt is None:
        from_numpy_dtype(arr.dtype)  # unsupported numpy dtypes (complex, object, ...) raise here, naming the dtype
    elif arr.dtype != dt.np:
        arr, borrowed = arr.astype(dt.np, order="C" if copy else "K"), False
    dev = src if device is None else Device(device)
    if dev is not src:
        arr, borrowed = array_to_device(arr, dev), False
    if copy and (borrowed or not arr.flags.c_contiguous):
        arr = dev.xp.array(arr, copy=True, order="C")
    return arr, dev


def _python_data(op, data, dt):
    try:
        return np.array(data, dtype=dt.np)
    except ValueError as e:
        err = ShapeError if "inhomogeneous" in str(e) else DTypeError
        raise err(f"{op}: could not convert the data to a {dt.name} tensor: {e}") from None


def _infer_dtype(op, data):
    """PyTorch's rule for Python data: every leaf's own type (bool, int64, the default float, a numpy scalar's or a
    tensor's dtype), promoted together; an empty sequence gives the default float."""
    found = set()
    _leaf_dtypes(op, data if isinstance(data, (list, tuple)) else (data,), found)
    dt = None
    for d in found:
        dt = d if dt is None else promote_types(dt, d)
    return dt or get_default_dtype()


def _leaf_dtypes(op, seq, found):
    kinds = set(map(type, seq))
    if not any(issubclass(k, (list, tuple, Tensor, np.ndarray)) for k in kinds):
        found.update(_scalar_type_dtype(op, k) for k in kinds)  # a flat list of numbers: one pass over types
        return
    for x in seq:
        if isinstance(x, (list, tuple)):
            _leaf_dtypes(op, x, found)
        elif isinstance(x, (Tensor, np.ndarray)):
            found.add(x.dtype if isinstance(x, Tensor) else from_numpy_dtype(x.dtype))
        else:
            found.add(_scalar_type_dtype(op, type(x)))


def _scalar_type_dtype(op, kind):
    if kind is float:
        return get_default_dtype()
    if kind is int:
        return int64
    if kind is bool:
        return bool_
    if issubclass(kind, np.generic):
        return from_numpy_dtype(np.dtype(kind))
    raise DTypeError(f"{op}: could not infer a dtype for an element of type {kind.__name__} "
                     "(expected numbers, nested lists of numbers, numpy arrays or tensors)")


def _finish(arr, dev, requires_grad):
    t = current().constant(arr, dev)  # (inside a compiled function: a graph constant)
    return t.requires_grad_(True) if requires_grad else t


@export()
def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of `data` (numbers, nested lists, numpy arrays, tensors), with PyTorch's dtype
    inference: Python floats take the default float dtype, ints int64, bools bool, arrays keep theirs."""
    return _finish(*_from_data("tensor", data, dtype, device, True), requires_grad)


@export()
def as_tensor(data, dtype=None, device=None):
    """Like tensor(), but shares memory with a numpy array or tensor when dtype and device already match."""
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=device)
    return Tensor._make(*_from_data("as_tensor", data, dtype, device, False))


@export()
def from_numpy(array):
    """A CPU tensor sharing memory with `array` (its dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(array).__name__})")
    from_numpy_dtype(array.dtype)
    return Tensor._make(array, CPU)


# ---- filled with a constant -------------------------------------------------------------------------------------
def _size(op, size):
    """A shape from `f(2, 3)`, `f((2, 3))` or `f([2, 3])`; sizes must be non-negative ints."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    try:
        shape = tuple(operator.index(s) for s in size)
    except TypeError:
        raise DTypeError(f"{op}: size must be ints or a tuple of ints, got {tuple(size)!r}") from None
    if any(s < 0 for s in shape):
        raise ShapeError(f"{op}: Dimension size must be non-negative, got size {fmt_shape(shape)}")
    return shape


def _factory(dtype, device):
    dt, dev = (as_dtype(dtype) if dtype is not None else get_default_dtype(),
               Device(device) if device is not None else CPU)
    if dev is not CPU:
        check_dtype_on_device(dt.name, dev)
    return dt, dev


def _filled(op, size, dtype, device, requires_grad):
    dt, dev = _factory(dtype, device)
    return _finish(getattr(dev.xp, op)(_size(op, size), dtype=dt.np), dev, requires_grad)


@export()
def zeros(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of zeros: zeros(2, 3) or zeros((2, 3))."""
    return _filled("zeros", size, dtype, device, requires_grad)


@export()
def ones(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of ones: ones(2, 3) or ones((2, 3))."""
    return _filled("ones", size, dtype, device, requires_grad)


@export()
def empty(*size, dtype=None, device=None, requires_grad=False):
    """An uninitialized tensor: empty(2, 3) or empty((2, 3))."""
    return _filled("empty", size, dtype, device, requires_grad)


@export()
def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    """A tensor filled with fill_value; the dtype follows it (bool, int64 or the default float) unless given."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    dt, dev = _factory(dtype if dtype is not None else scalar_dtype(fill_value), device)
    size = _size("full", size if isinstance(size, (tuple, list)) else (size,))
    return _finish(dev.xp.full(size, fill_value, dtype=dt.np), dev, requires_grad)


def _like(fn):
    def like(input, *, dtype=None, device=None, requires_grad=False):
        return fn(input.shape, dtype=dtype if dtype is not None else input.dtype,
                  device=device if device is not None else input.device, requires_grad=requires_grad)

    like.__name__ = like.__qualname__ = fn.__name__ + "_like"
    like.__doc__ = f"{fn.__name__}() with the shape (and by default dtype and device) of `input`."
    return export(like.__name__)(like)


zeros_like, ones_like, empty_like = _like(zeros), _like(ones), _like(empty)


@export()
def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False):
    """full() with the shape (and by default dtype and device) of `input`."""
    return full(input.shape, fill_value, dtype=dtype if dtype is not None else input.dtype,
                device=device if device is not None else input.device, requires_grad=requires_grad)


# ---- ranges -----------------------------------------------------------------------------------------------------
def _number(x):
    return x.item() if isinstance(x, Tensor) else x


@export()
def arange(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """Values from start (default 0) to end (exclusive) by step; int64 when all arguments are ints, else the
    default float. The length is PyTorch's ceil((end - start) / step)."""
    if end is None:
        start, end = 0, start
    start, end, step = _number(start), _number(end), _number(step)
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if step > 0 and end < start or step < 0 and end > start:
        raise ValueError(f"arange: upper bound and lower bound inconsistent with step sign (start={start}, "
                         f"end={end}, step={step})")
    integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    dt, dev = _factory(dtype if dtype is not None else (int64 if integral else None), device)
    xp = dev.xp
    if integral:
        return _finish(xp.arange(start, end, step, dtype=np.int64).astype(dt.np, copy=False), dev, requires_grad)
    n = max(0, math.ceil((end - start) / step))
    vals = xp.arange(n, dtype=np.float64)
    if step != 1:
        vals *= step
    if start != 0:
        vals += start
    return _finish(vals.astype(dt.np, copy=False), dev, requires_grad)


@export()
def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    """`steps` values evenly spaced from start to end inclusive (default float dtype)."""
    start, end, steps = _number(start), _number(end), operator.index(steps)
    if steps < 0:
        raise ShapeError(f"linspace: number of steps must be non-negative, got {steps}")
    dt, dev = _factory(dtype, device)
    xp = dev.xp
    i = xp.arange(steps, dtype=np.float64)
    step = (end - start) / (steps - 1) if steps > 1 else 0.0
    # PyTorch's symmetric formula: the first half counts up from start, the second half down from end
    vals = xp.where(i < max(steps // 2, 1), start + step * i, end - step * (steps - 1 - i))
    return _finish(vals.astype(dt.np, copy=False), dev, requires_grad)


@export()
def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    """An n x m (default n x n) identity matrix."""
    n = operator.index(n)
    m = n if m is None else operator.index(m)
    if n < 0 or m < 0:
        raise ShapeError(f"eye: n and m must be non-negative, got n={n}, m={m}")
    dt, dev = _factory(dtype, device)
    return _finish(dev.xp.eye(n, m, dtype=dt.np), dev, requires_grad)


@method("__init__")
def _construct(self, *args, dtype=None, device=None, requires_grad=False):
    """`Tensor(data)`: as eagerlab.tensor, with the default float dtype for Python data (as torch.Tensor); the
    legacy forms `Tensor(3, 4)` and `Tensor(size)` give an uninitialized tensor of that shape."""
    if args and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args) \
            or len(args) == 1 and isinstance(args[0], Size):
        src = empty(*args, dtype=dtype or get_default_dtype(), device=device, requires_grad=requires_grad)
    elif len(args) > 1:
        raise TypeError(f"Tensor(): expected data or sizes (ints), got {', '.join(type(a).__name__ for a in args)}")
    else:
        data = args[0] if args else ()
        src = tensor(data, dtype=dtype or (None if isinstance(data, Tensor) else get_default_dtype()), device=device,
                     requires_grad=requires_grad)
    for name in Tensor.__slots__[:-1]:  # adopt the new tensor's state (all slots but __weakref__)
        setattr(self, name, getattr(src, name))


class _LegacyTensorType(type):
    """The metaclass of FloatTensor, LongTensor, ...: `isinstance(t, FloatTensor)` asks t's dtype and device."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype and obj.device.type == cls.device_type

    def __repr__(cls):
        return f"<class 'eagerlab.{cls.__name__}'>"


def _legacy_type(name, dtype_name, device_type="cpu"):
    """PyTorch's typed constructors: `FloatTensor(2, 3)` (uninitialized) or `FloatTensor([1, 2])` (data), a
    Tensor of that dtype on that device."""

    def construct(cls, *args):
        out = Tensor.__new__(Tensor)
        _construct(out, *args, dtype=cls.dtype, device=device_type)
        return out

    return _LegacyTensorType(name, (), {"__new__": construct, "dtype": as_dtype(dtype_name),
                                        "device_type": device_type, "__doc__": _legacy_type.__doc__})


LEGACY_TENSOR_TYPES = {name: _legacy_type(name, dt) for name, dt in (
    ("FloatTensor", "float32"), ("DoubleTensor", "float64"), ("HalfTensor", "float16"), ("LongTensor", "int64"),
    ("IntTensor", "int32"), ("ShortTensor", "int16"), ("CharTensor", "int8"), ("ByteTensor", "uint8"),
    ("BoolTensor", "bool"))}
EXPORTS.update(LEGACY_TENSOR_TYPES)


# ---- Tensor.new_* (defaults: this tensor's dtype and device) --------------------------------------------------
def _new(fn):
    def new(self, *size, dtype=None, device=None, requires_grad=False):
        return fn(*size, dtype=dtype if dtype is not None else self.dtype,
                  device=device if device is not None else self.device, requires_grad=requires_grad)

    new.__name__ = "new_" + fn.__name__
    return new


def _new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    return full(size, fill_value, dtype=dtype if dtype is not None else self.dtype,
                device=device if device is not None else self.device, requires_grad=requires_grad)


def _new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    return tensor(data, dtype=dtype if dtype is not None else self.dtype,
                  device=device if device is not None else self.device, requires_grad=requires_grad)


Tensor.new_zeros, Tensor.new_ones, Tensor.new_empty = _new(zeros), _new(ones), _new(empty)
Tensor.new_full, Tensor.new_tensor = _new_full, _new_tensor
