"""Shape and dtype rules shared by the ops' `infer` functions, and the argument normalizers the public ops use (dims,
promotion). Imported as `shape_rules`."""
import numpy as np

from .._tensor import Tensor
from ..backend import get_default_dtype, result_type
from ..backend.dtypes import FLOAT, bool_
from ..errors import DTypeError, ShapeError, fmt_shape
from ._registry import Aval


def broadcast_shapes(op, *shapes):
    """Broadcast shapes as numpy/PyTorch do; ShapeError names the op and every shape."""
    out = [1] * max(map(len, shapes))
    for shape in shapes:
        lead = len(out) - len(shape)
        for i, d in enumerate(shape, lead):
            if d != out[i]:
                if out[i] == 1:
                    out[i] = d
                elif d != 1:
                    raise ShapeError(
                        (f"{op}: " if op else "") + f"the shapes {' and '.join(fmt_shape(s) for s in shapes)} cannot "
                        "be broadcast together (sizes must match or be 1 in each trailing dimension)")
    return tuple(out)


def same(x, **attrs):
    """Output is like the (single) input."""
    return Aval(x.shape, x.dtype, x.device)


def same_along_dim(op):
    """The infer rule of an op along one `dim` of its input whose output is like the input (softmax, cumsum): the
    dim is checked again, as the public function did, since a graph loaded from a file reaches the primitive
    directly."""
    def infer(x, dim, **attrs):
        norm_dim(op, dim, len(x.shape))
        return Aval(x.shape, x.dtype, x.device)

    return infer


def new_dim(op, dim, ndim):
    """`dim` where an op inserts a dimension into an `ndim`-d shape (unsqueeze, stack): 0..ndim, checked."""
    if isinstance(dim, bool) or not isinstance(dim, int) or not 0 <= dim <= ndim:
        raise IndexError(f"{op}: Dimension out of range (expected to be in range of [0, {ndim}], but got {dim!r})")
    return dim


def elementwise(*operands, **attrs):
    """Broadcast tensor operands; the dtype is the first tensor's (inputs are promoted before bind)."""
    tensors = [a for a in operands if isinstance(a, Aval)]
    shape = broadcast_shapes(None, *[a.shape for a in tensors]) if len(tensors) > 1 else tensors[0].shape
    return Aval(shape, tensors[0].dtype, tensors[0].device)


def predicate(*operands, **attrs):
    """Broadcast, bool output (comparisons, isnan, logical ops)."""
    out = elementwise(*operands)
    return Aval(out.shape, bool_, out.device)


def by_eval(prim):
    """An infer rule for ops whose shape rule *is* the backend's (indexing, einsum): run impl on zero-stride
    dummies of the input shapes. Used only where writing the rule out would duplicate numpy."""

    def infer(*operands, **attrs):
        dev = next(a.device for a in operands if isinstance(a, Aval))
        xp = np
        args = [np.broadcast_to(np.zeros((), a.dtype.np), a.shape) if isinstance(a, Aval) else a for a in operands]
        out = prim.impl(xp, *args, **attrs)
        from ..backend import from_numpy_dtype

        if isinstance(out, tuple):
            return tuple(Aval(o.shape, from_numpy_dtype(o.dtype), dev) for o in out)
        return Aval(out.shape, from_numpy_dtype(out.dtype), dev)

    return infer


def promote(op, *operands):
    """Cast tensor operands to PyTorch's result type; Python scalars stay as they are (weak-typed).

    Returns (dtype, operands)."""
    from .elementwise import cast

    dt = result_type(*operands)
    return dt, tuple(cast(x, dt) if isinstance(x, Tensor) and x.dtype is not dt else _check_scalar(op, x, dt)
                     for x in operands)


def _check_scalar(op, x, dt):
    if isinstance(x, np.generic):  # numpy scalars are strongly typed; as operands they act like Python numbers
        x = x.item()
    if type(x) is int and dt.np.kind in "iu":
        return wrapped_int(x, dt.np)
    if isinstance(x, Tensor) or isinstance(x, (bool, int, float)):
        return x
    raise DTypeError(f"{op}: expected a Tensor or a Python number, got {type(x).__name__}")


_INT_BOUNDS = {np.dtype(t): (int(np.iinfo(t).min), int(np.iinfo(t).max))
               for t in (np.int8, np.int16, np.int32, np.int64, np.uint8)}


def wrapped_int(value, np_dtype):
    """A Python int as an operand of an integer tensor: wrapped into the tensor's dtype when it does not fit
    (int8 * 1000 computes with 1000 mod 256, as PyTorch does), where numpy would refuse it."""
    lo, hi = _INT_BOUNDS[np_dtype]
    if lo <= value <= hi:
        return value
    return int(np.array(value, dtype=np.int64).astype(np_dtype))


def to_float(op, x):
    """Integer/bool inputs of float-valued ops (exp, sqrt, mean, ...) are cast to the default float type."""
    from .elementwise import cast

    if x.dtype.category != FLOAT:
        return cast(x, get_default_dtype())
    return x


def norm_dims(op, dim, ndim):
    """A sorted tuple of non-negative dims from None (all), an int or a sequence; errors name the op."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    n = max(ndim, 1)
    for d in dims:
        if not isinstance(d, (int, np.integer)) or isinstance(d, bool):
            raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {dim!r}")
        if not -n <= d < n:
            raise IndexError(f"{op}: Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
        d = int(d) % n
        if d in out:
            raise ValueError(f"{op}: dim {d} appears multiple times in the list of dims")
        out.append(d)
    return tuple(sorted(out)) if ndim else ()


def norm_dim(op, dim, ndim):
    return norm_dims(op, dim, ndim)[0] if ndim else 0
