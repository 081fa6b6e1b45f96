"""Selection ops: where, index_select/index_add, masked_fill/masked_select, take.

x[...] indexing and index_put live in getitem.py, gather/scatter in index_gather.py, the data-dependent ops
(nonzero, unique) in sorting.py.
"""
import numpy as np

from .._tensor import Tensor
from ..backend.dtypes import bool_
from ..errors import DTypeError, ShapeError, UnsupportedError, fmt_shape
from . import _shape_rules as shape_rules
from ._registry import Aval, Sample, bind, method, op, primitive
from .getitem import _put, index_put, masked_index_p


def _where_infer(cond, a, b):
    shapes = [x.shape for x in (cond, a, b) if isinstance(x, Aval)]
    ref = a if isinstance(a, Aval) else b
    return Aval(shape_rules.broadcast_shapes("where", *shapes), ref.dtype, cond.device)


where_p = primitive("where", _where_infer, save_inputs=(0,))(lambda xp, c, a, b: xp.where(c, a, b))


@where_p.defvjp
def _(ctx, g):
    (cond,) = ctx.saved
    zero = g.new_zeros(())
    return None, (where(cond, g, zero) if ctx.needs[1] else None), (where(cond, zero, g) if ctx.needs[2] else None)


def _where_samples(rng):
    return [Sample(rng.random((3, 4)) > 0.5, rng.standard_normal((3, 4)), rng.standard_normal((3, 4))),
            Sample(rng.random((3, 1)) > 0.5, rng.standard_normal((1, 4)), rng.standard_normal((3, 4)),
                   note="broadcast"),
            Sample(rng.random((2, 3)) > 0.5, rng.standard_normal((2, 3)), 0.0, note="scalar other"),
            Sample(rng.random((2, 3)) > 0.5, note="one argument: nonzero(as_tuple=True)")]


@op(methods=(), samples=_where_samples, torch="where", ref=lambda c, a=None, b=None: np.where(c, a, b) if a is not None
    else np.nonzero(c))
def where(condition, input=None, other=None):
    """Elements of input where condition holds, else of other; where(condition) is nonzero(as_tuple=True)."""
    if input is None and other is None:
        from .sorting import nonzero

        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, Tensor) or condition.dtype is not bool_:
        raise DTypeError(f"where: expected condition to be a bool tensor, got "
                         f"{getattr(condition, 'dtype', type(condition).__name__)}")
    from .arith import _operands

    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        # two Python numbers: the tensor of the first, in their common dtype (int64, or the default float)
        from ..backend import result_type
        from .creation import tensor

        input = tensor(input, dtype=result_type(input, other), device=condition.device)
    a, b = _operands("where", input, other)
    return bind(where_p, condition, a, b)


Tensor.where = lambda self, condition, other: where(condition, self, other)


def _index_dtype(op_name, index):
    if not isinstance(index, Tensor) or index.dtype.name not in ("int64", "int32", "int16", "int8", "uint8"):
        raise DTypeError(f"{op_name}: expected an integer index tensor, got "
                         f"{index.dtype.name if isinstance(index, Tensor) else type(index).__name__}")


# ---- along one dim with a 1-D index ---------------------------------------------------------------------------
def _check_vector(op_name, input, dim, index):
    _index_dtype(op_name, index)
    if index.ndim > 1:
        raise ShapeError(f"{op_name}: index is supposed to be a vector (0-d or 1-d), got shape "
                         f"{fmt_shape(index.shape)}")
    return shape_rules.norm_dim(op_name, dim, input.ndim)


def _index_select_samples(rng):
    return [Sample(rng.standard_normal((4, 3)), 0, np.array([3, 0, 0])),
            Sample(rng.standard_normal((2, 4)), 1, np.array([1])), Sample(rng.standard_normal((2, 4)), -1, np.array(2)),
            Sample(rng.standard_normal((4, 3)).T, 1, np.array([3, 0]), note="non-contiguous"),
            Sample(rng.standard_normal((3, 2)), 0, np.zeros((0,), np.int64), note="empty")]


@op(methods=("index_select",), samples=_index_select_samples, torch="index_select",
    ref=lambda x, dim, index: np.take(x, index.reshape(-1), axis=dim))
def index_select(input, dim, index):
    """The entries of `index` (1-D) along `dim`."""
    d = _check_vector("index_select", input, dim, index)
    return input[(slice(None),) * d + (index.reshape(-1) if index.ndim == 0 else index,)]


def _index_add_args(op_name, input, dim, index, source, alpha):
    d = _check_vector(op_name, input, dim, index)
    if not input.ndim:
        raise UnsupportedError(f"{op_name}: not supported yet: a 0-d input")
    want = input.shape[:d] + (index.numel(),) + input.shape[d + 1:]
    if not isinstance(source, Tensor) or tuple(source.shape) != tuple(want):
        raise ShapeError(f"{op_name}: source must be a tensor of shape {fmt_shape(want)} (input "
                         f"{fmt_shape(input.shape)} with dim {d} of index's length {index.numel()}), got "
                         f"{fmt_shape(source.shape) if isinstance(source, Tensor) else type(source).__name__}")
    return (slice(None),) * d + (index.reshape(-1),), source if alpha == 1 else source * alpha


def _index_add_samples(rng):
    return [Sample(rng.standard_normal((4, 3)), 0, np.array([3, 0, 3]), rng.standard_normal((3, 3))),
            Sample(rng.standard_normal((2, 5)), 1, np.array([1, 1, 4, 0]), rng.standard_normal((2, 4)), alpha=-2.0),
            Sample(rng.standard_normal((4, 3)).T, 0, np.array([2]), rng.standard_normal((1, 4)), note="non-contiguous"),
            Sample(rng.standard_normal((3,)), 0, np.array(1), rng.standard_normal((1,)), note="0-d index"),
            Sample(rng.standard_normal((3, 2)), 1, np.zeros((0,), np.int64), rng.standard_normal((3, 0)),
                   note="empty index")]


def _np_index_add(x, dim, index, source, alpha=1):
    out = np.moveaxis(x.copy(), dim, 0)
    np.add.at(out, index.reshape(-1), np.moveaxis(source, dim, 0) * alpha)
    return np.moveaxis(out, 0, dim)


@op(methods=("index_add",), samples=_index_add_samples, torch="index_add", ref=_np_index_add)
def index_add(input, dim, index, source, *, alpha=1):
    """A copy of input with alpha * source added at the entries of `index` along `dim` (repeats accumulate)."""
    idx, src = _index_add_args("index_add", input, dim, index, source, alpha)
    return index_put(input, idx, src, accumulate=True)


@method("index_add_")
def index_add_(self, dim, index, source, *, alpha=1):
    """In-place index_add."""
    idx, src = _index_add_args("index_add", self, dim, index, source, alpha)
    return _put(self, idx, src, True, "index_add")


# ---- masks --------------------------------------------------------------------------------------------------
def _mask(op_name, input, mask, to_input=True):
    """Check mask is a bool tensor that broadcasts to input's shape (or, not to_input, with it)."""
    if not isinstance(mask, Tensor) or mask.dtype is not bool_:
        raise DTypeError(f"{op_name}: expected a bool mask, got "
                         f"{mask.dtype.name if isinstance(mask, Tensor) else type(mask).__name__}")
    shape = shape_rules.broadcast_shapes(op_name, mask.shape, input.shape)
    if to_input and shape != input.shape:
        raise ShapeError(f"{op_name}: mask {fmt_shape(mask.shape)} does not broadcast to input "
                         f"{fmt_shape(input.shape)}")
    return shape


def _fill_value(op_name, input, value):
    if isinstance(value, Tensor):
        if value.ndim:
            raise ShapeError(f"{op_name}: only supports a 0-dimensional value tensor, got one of shape "
                             f"{fmt_shape(value.shape)}")
        return value if value.dtype is input.dtype else value.to(input.dtype)
    return input._data.dtype.type(value).item()  # PyTorch keeps input's dtype: 2.7 fills an int tensor with 2


def _masked_fill_samples(rng):
    return [Sample(rng.standard_normal((3, 4)), rng.random((3, 4)) > 0.5, -1.0),
            Sample(rng.standard_normal((3, 4)), rng.random((4,)) > 0.5, 0.0, note="broadcast mask"),
            Sample(rng.standard_normal((3, 4)), rng.random((3, 1)) > 0.5, rng.standard_normal(()),
                   note="0-d tensor value"),
            Sample(rng.standard_normal((4, 3)).T, rng.random((3, 4)) > 0.5, 2.0, note="non-contiguous"),
            Sample(np.arange(6).reshape(2, 3), rng.random((2, 3)) > 0.5, 2.7, note="int input keeps its dtype")]


@op(methods=("masked_fill",), samples=_masked_fill_samples, torch="masked_fill",
    ref=lambda x, mask, value: np.where(mask, np.asarray(value).astype(x.dtype), x))
def masked_fill(input, mask, value):
    """input with `value` where the bool `mask` (broadcast to input) is True."""
    _mask("masked_fill", input, mask)
    return bind(where_p, mask, _fill_value("masked_fill", input, value), input)


@method("masked_fill_")
def masked_fill_(self, mask, value):
    """In-place masked_fill."""
    _mask("masked_fill", self, mask)
    if mask.shape != self.shape:
        mask = mask.expand(self.shape)
    return _put(self, mask, _fill_value("masked_fill", self, value), False, "masked_fill")


def _masked_select_samples(rng):
    return [Sample(rng.standard_normal((3, 4)), rng.random((3, 4)) > 0.5),
            Sample(rng.standard_normal((3, 1)), rng.random((2, 3, 4)) > 0.5, note="broadcast both"),
            Sample(rng.standard_normal(()), np.array([True, False, True]), note="0-d input"),
            Sample(rng.standard_normal((4, 3)).T, rng.random((3, 4)) > 0.5, note="non-contiguous"),
            Sample(rng.standard_normal((2, 3)), np.zeros((2, 3), bool), note="nothing selected")]


@op(methods=("masked_select",), samples=_masked_select_samples, torch="masked_select",
    ref=lambda x, mask: np.broadcast_to(x, np.broadcast_shapes(x.shape, mask.shape))[
        np.broadcast_to(mask, np.broadcast_shapes(x.shape, mask.shape))])
def masked_select(input, mask):
    """The 1-D tensor of input's elements where the bool mask (both broadcast) is True."""
    shape = _mask("masked_select", input, mask, to_input=False)
    x = input if input.shape == shape else input.expand(shape)
    m = mask if mask.shape == shape else mask.expand(shape)
    if not shape:
        x, m = x.reshape(1), m.reshape(1)
    return bind(masked_index_p, x, m)


# ---- take ---------------------------------------------------------------------------------------------------
def _take_samples(rng):
    return [Sample(rng.standard_normal((3, 4)), np.array([[0, 11], [5, 5]])),
            Sample(rng.standard_normal((4, 3)).T, np.array([-1, 2, 0]), note="non-contiguous, negative"),
            Sample(rng.standard_normal(()), np.array(0), note="0-d")]


@op(methods=("take",), samples=_take_samples, torch="take", ref=lambda x, index: np.take(x, index))
def take(input, index):
    """input taken as 1-D, at `index` (any shape, negative wraps); the result has index's shape."""
    _index_dtype("take", index)
    return input.reshape(-1)[index]
