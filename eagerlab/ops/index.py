"""Selection ops: where, gather, index_select, masked_fill (x[...] indexing itself lives in getitem.py)."""
import numpy as np

from .._tensor import Tensor
from ..backend.dtypes import bool_
from ..errors import DTypeError, ShapeError, UnsupportedError, fmt_shape
from . import _infer as I
from ._registry import Aval, Sample, bind, op, primitive


def _where_infer(cond, a, b):
    shapes = [x.shape for x in (cond, a, b) if isinstance(x, Aval)]
    ref = a if isinstance(a, Aval) else b
    return Aval(I.broadcast_shapes("where", *shapes), ref.dtype, cond.device)


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
            Sample(rng.random((2, 3)) > 0.5, rng.standard_normal((2, 3)), 0.0, note="scalar other")]


@op(methods=(), samples=_where_samples, torch="where",
    ref=lambda c, a, b=None: __import__("numpy").where(c, a, b))
def where(condition, input=None, other=None):
    """Elements of input where condition holds, else of other."""
    if input is None and other is None:
        raise UnsupportedError("where(condition): the one-argument form (nonzero) is not supported yet")
    if not isinstance(condition, Tensor) or condition.dtype is not bool_:
        raise DTypeError(f"where: expected condition to be a bool tensor, got "
                         f"{getattr(condition, 'dtype', type(condition).__name__)}")
    from .arith import _operands

    a, b = _operands("where", input, other)
    return bind(where_p, condition, a, b)


def _where_method(self, condition, other):
    return where(condition, self, other)


Tensor.where = _where_method


def _index_dtype(op_name, index):
    if not isinstance(index, Tensor) or index.dtype.name not in ("int64", "int32", "int16", "int8", "uint8"):
        raise DTypeError(f"{op_name}: expected an integer index tensor, got "
                         f"{index.dtype.name if isinstance(index, Tensor) else type(index).__name__}")


def _gather_samples(rng):
    return [Sample(rng.standard_normal((3, 4)), 1, np.array([[0, 3], [1, 1], [2, 0]])),
            Sample(rng.standard_normal((3, 4)), 0, np.array([[0, 2, 1, 1]]))]


@op(methods=("gather",), samples=_gather_samples, torch="gather",
    ref=lambda x, dim, index: np.take_along_axis(x, index, axis=dim))
def gather(input, dim, index):
    """out[i][j] = input[index[i][j]][j] (dim=0) / input[i][index[i][j]] (dim=1), for any rank."""
    from .creation import arange

    _index_dtype("gather", index)
    d = I.norm_dim("gather", dim, input.ndim)
    if index.ndim != input.ndim:
        raise ShapeError(f"gather: index of shape {fmt_shape(index.shape)} must have as many dims as input "
                         f"{fmt_shape(input.shape)}")
    grid = [arange(s, device=input.device).reshape((-1,) + (1,) * (index.ndim - 1 - i)) for i, s in
            enumerate(index.shape)]
    grid[d] = index
    return input[tuple(grid)]


def _index_select_samples(rng):
    return [Sample(rng.standard_normal((4, 3)), 0, np.array([3, 0, 0])),
            Sample(rng.standard_normal((2, 4)), 1, np.array([1]))]


@op(methods=("index_select",), samples=_index_select_samples, torch="index_select",
    ref=lambda x, dim, index: np.take(x, index, axis=dim))
def index_select(input, dim, index):
    """The entries of `index` (1-D) along `dim`."""
    _index_dtype("index_select", index)
    d = I.norm_dim("index_select", dim, input.ndim)
    return input[(slice(None),) * d + (index,)]


def _masked_fill_samples(rng):
    return [Sample(rng.standard_normal((3, 4)), rng.random((3, 4)) > 0.5, -1.0),
            Sample(rng.standard_normal((3, 4)), rng.random((4,)) > 0.5, 0.0, note="broadcast mask")]


@op(methods=("masked_fill",), samples=_masked_fill_samples, torch="masked_fill",
    ref=lambda x, mask, value: np.where(mask, value, x))
def masked_fill(input, mask, value):
    """input with `value` where the bool `mask` (broadcast to input) is True."""
    if not isinstance(mask, Tensor) or mask.dtype is not bool_:
        raise DTypeError(f"masked_fill: expected a bool mask, got "
                         f"{mask.dtype.name if isinstance(mask, Tensor) else type(mask).__name__}")
    out = where(mask, value if not isinstance(value, Tensor) else value.to(input.dtype), input)
    if out.shape != input.shape:
        raise ShapeError(f"masked_fill: mask {fmt_shape(mask.shape)} does not broadcast to input "
                         f"{fmt_shape(input.shape)}")
    return out
