"""The gather/scatter family: gather, scatter (value, reduce), scatter_add, take_along_dim; in-place variants.

PyTorch semantics: index has input's rank and may be smaller than input (but along dim) and than src; negative
indices are errors here, not wrapped as numpy would.
"""
import numpy as np

from .._tensor import Tensor
from ..errors import DTypeError, ShapeError, UnsupportedError, fmt_shape
from . import _shape_rules as shape_rules
from ._registry import Aval, Sample, apply_inplace, bind, method, op, primitive
from .getitem import _flat_add, getitem_grad_p
from .index import _index_dtype


def _check_range(xp, index, n, dim):
    """PyTorch's gather/scatter reject negative indices (numpy would wrap them) and ones past the dim's size."""
    if index.size:
        lo, hi = int(index.min()), int(index.max())
        if lo < 0 or hi >= n:
            raise IndexError(f"index {lo if lo < 0 else hi} is out of bounds for dimension {dim} with size {n}")


def _grid(xp, index, dim):
    """The full index tuple that pairs index[i, j, ...] with position (i, j, ...) except along dim."""
    nd = index.ndim
    return tuple(index if e == dim else xp.arange(s).reshape((-1,) + (1,) * (nd - 1 - e))
                 for e, s in enumerate(index.shape))


def _corner(a, shape):
    """a[:s0, :s1, ...]: PyTorch lets src be larger than index in every dim."""
    if not hasattr(a, "shape") or a.shape == shape:
        return a
    return a[tuple(slice(0, s) for s in shape)]


def _gather_impl(xp, x, index, dim):
    if x.ndim == 0:
        _check_range(xp, index, 1, 0)
        return x.copy()
    _check_range(xp, index, x.shape[dim], dim)
    return x[_grid(xp, index, dim)]


def _gather_infer(x, index, dim):
    # what the public function checked, again: a graph loaded from a file reaches the primitive directly
    shape_rules.norm_dim("gather", dim, x.ndim)
    if x.ndim and index.ndim != x.ndim:
        raise ShapeError(f"gather: index of shape {fmt_shape(index.shape)} must have as many dims as input "
                         f"{fmt_shape(x.shape)}")
    return Aval(index.shape, x.dtype, x.device)


gather_p = primitive("gather", _gather_infer, save_inputs=(1,))(_gather_impl)


def broadcast_zeros(like, shape):
    """Zeros of `shape` (like's dtype and device) as a 0-d zero expanded to it: traced, the shape is an attribute
    of an op, which a shape-polymorphic trace follows when the batch size changes; the data of a constant of that
    shape would tie the graph to one size. (The backward of gather and of sort/topk scatters into these.)"""
    return like.new_zeros(()).expand(shape)


@gather_p.defvjp
def _(ctx, g):
    return bind(scatter_p, broadcast_zeros(g, ctx.shapes[0]), ctx.saved[0], g, dim=ctx.attrs["dim"],
                reduce="add"), None


def _scatter_impl(xp, x, index, src, dim, reduce):
    if x.ndim == 0:  # one element, along a dim of size 1
        src = src.reshape(1) if hasattr(src, "shape") else src
        return _scatter_impl(xp, x.reshape(1), index.reshape(1), src, 0, reduce).reshape(())
    _check_range(xp, index, x.shape[dim], dim)
    out = x.copy()
    src = _corner(src, index.shape)
    if reduce == "add":
        pos = index * int(np.prod(out.shape[dim + 1:]))  # flat destinations in the C-contiguous copy
        for e, s in enumerate(index.shape):
            if e != dim:
                pos = pos + xp.arange(s).reshape((-1,) + (1,) * (index.ndim - 1 - e)) * int(np.prod(out.shape[e + 1:]))
        _flat_add(xp, out, pos, xp.broadcast_to(src, index.shape))
    elif reduce == "multiply":
        xp.multiply.at(out, _grid(xp, index, dim), src)
    else:
        out[_grid(xp, index, dim)] = src
    return out


def _scatter_infer(x, index, src, dim, reduce):
    _gather_infer(x, index, dim)  # the same dim and index rank rules
    return Aval(x.shape, x.dtype, x.device)


scatter_p = primitive("scatter", _scatter_infer, save_inputs=(1,))(_scatter_impl)


@scatter_p.defvjp
def _(ctx, g):
    (index,) = ctx.saved
    dim, reduce = ctx.attrs["dim"], ctx.attrs["reduce"]
    if reduce == "multiply":
        raise UnsupportedError("scatter: not supported yet: the gradient of reduce='multiply'")
    gx = gs = None
    if ctx.needs[0]:
        gx = g if reduce == "add" else bind(scatter_p, g, index, 0, dim=dim, reduce=None)
    if ctx.needs[2]:
        gs = bind(gather_p, g, index, dim=dim)
        if gs.shape != ctx.shapes[2]:  # src larger than index: the unused corner gets no gradient
            gs = bind(getitem_grad_p, gs, shape=ctx.shapes[2], index=tuple(slice(0, s) for s in index.shape))
    return gx, None, gs


def _check_gather(op_name, input, dim, index, src=None):
    """The normalized dim, after PyTorch's checks: integer index of input's rank, no larger than input (but
    along dim) and than src."""
    _index_dtype(op_name, index)
    d = shape_rules.norm_dim(op_name, dim, input.ndim)
    if index.ndim != input.ndim or any(i > s for e, (i, s) in enumerate(zip(index.shape, input.shape)) if e != d):
        raise ShapeError(f"{op_name}: index of shape {fmt_shape(index.shape)} must have as many dims as input "
                         f"{fmt_shape(input.shape)} and be no larger in any dim but {d}")
    if isinstance(src, Tensor) and (src.ndim != index.ndim or any(i > s for i, s in zip(index.shape, src.shape))):
        raise ShapeError(f"{op_name}: index of shape {fmt_shape(index.shape)} must be no larger than src "
                         f"{fmt_shape(src.shape)} in any dim")
    return d


def _gather_samples(rng):
    return [Sample(rng.standard_normal((3, 4)), 1, np.array([[0, 3], [1, 1], [2, 0]])),
            Sample(rng.standard_normal((3, 4)), 0, np.array([[0, 2, 1, 1]]), note="index smaller than input"),
            Sample(rng.standard_normal((2, 3, 2)), -1, np.array([[[1, 1, 0]], [[0, 1, 1]]]).transpose(0, 2, 1)),
            Sample(rng.standard_normal((4, 3)).T, 1, np.array([[3, 3, 3, 3, 3]]).T[:3, :1], note="non-contiguous"),
            Sample(rng.standard_normal(()), 0, np.array(0), note="0-d"),
            Sample(rng.standard_normal((2, 3)), 1, np.zeros((2, 0), np.int64), note="empty")]


def _np_gather(x, dim, index):
    if x.ndim == 0:
        return x
    return np.take_along_axis(x[tuple(slice(None) if e == dim % x.ndim else slice(0, s) for e, s in
                                      enumerate(index.shape))], index, axis=dim)


@op(methods=("gather",), samples=_gather_samples, torch="gather", ref=_np_gather)
def gather(input, dim, index):
    """out[i][j] = input[index[i][j]][j] (dim=0) / input[i][index[i][j]] (dim=1), for any rank."""
    return bind(gather_p, input, index, dim=_check_gather("gather", input, dim, index))


def _scatter_args(op_name, input, dim, index, src, reduce):
    d = _check_gather(op_name, input, dim, index, src)
    if isinstance(src, Tensor):
        if src.dtype is not input.dtype:
            src = src.to(input.dtype)
    elif not isinstance(src, (int, float, bool)):
        raise DTypeError(f"{op_name}: expected src to be a Tensor or value to be a Python number, got "
                         f"{type(src).__name__}")
    if reduce not in (None, "add", "multiply"):
        raise UnsupportedError(f"{op_name}: not supported yet: reduce={reduce!r} (use 'add' or 'multiply')")
    return src, d


def _scatter_samples(rng):
    x = rng.standard_normal((3, 4))
    return [Sample(x, 1, np.array([[0, 3], [1, 2], [2, 0]]), rng.standard_normal((3, 2))),
            Sample(x, 0, np.array([[2, 1, 0, 0]]), rng.standard_normal((2, 5)), note="src larger than index"),
            Sample(x, 1, np.array([[1, 1], [0, 0], [3, 3]]), rng.standard_normal((3, 2)), reduce="add",
                   note="repeated add"),
            Sample(x, -1, np.array([[0], [2], [1]]), 1.5, note="value"),
            Sample(rng.standard_normal((4, 3)).T, 1, np.array([[1, 0, 2, 3]]), rng.standard_normal((1, 4)),
                   note="non-contiguous"),
            Sample(rng.standard_normal(()), 0, np.array(0), rng.standard_normal(()), note="0-d")]


def _np_scatter(x, dim, index, src, reduce=None):
    out = x.copy().reshape(x.shape or (1,))
    index = index.reshape(index.shape or (1,))
    grid = list(np.indices(index.shape, sparse=True))
    grid[dim] = index
    vals = src[tuple(slice(0, s) for s in index.shape)] if np.ndim(src) else src
    if reduce == "add":
        np.add.at(out, tuple(grid), vals)
    else:
        out[tuple(grid)] = vals
    return out.reshape(x.shape)


def _torch_scatter(torch, x, dim, index, src, reduce=None):
    # the reduce argument of torch.scatter is deprecated there in favour of scatter_reduce
    return torch.scatter(x, dim, index, src) if reduce is None else torch.scatter_reduce(x, dim, index, src, "sum")


@op(methods=("scatter",), samples=_scatter_samples, torch=_torch_scatter, ref=_np_scatter)
def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """A copy of input with src (or the number value) written at index along dim; reduce='add'/'multiply'
    combines with what is there instead."""
    s, d = _scatter_args("scatter", input, dim, index, value if src is None else src, reduce)
    return bind(scatter_p, input, index, s, dim=d, reduce=reduce)


@method("scatter_")
def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
    """In-place scatter."""
    s, d = _scatter_args("scatter", self, dim, index, value if src is None else src, reduce)
    return apply_inplace(scatter_p, self, index, s, dim=d, reduce=reduce)


@op(methods=("scatter_add",), samples=lambda rng: [s for s in _scatter_samples(rng) if isinstance(s.args[3], np.ndarray)
                                                   and "reduce" not in s.kwargs],
    torch="scatter_add", ref=lambda x, dim, index, src: _np_scatter(x, dim, index, src, "add"))
def scatter_add(input, dim, index, src):
    """A copy of input with src added at index along dim (repeated indices accumulate)."""
    return scatter(input, dim, index, src, reduce="add")


@method("scatter_add_")
def scatter_add_(self, dim, index, src):
    """In-place scatter_add."""
    return scatter_(self, dim, index, src, reduce="add")


def _take_along_samples(rng):
    return [Sample(rng.standard_normal((3, 4)), np.array([[0, 3], [1, 1], [2, 0]]), 1),
            Sample(rng.standard_normal((3, 4)), np.array([[2, 0, 1, 2]]), 0, note="broadcast indices"),
            Sample(rng.standard_normal((3, 1)), np.array([[0, 0], [0, 0], [0, 0]]), 1, note="broadcast input"),
            Sample(rng.standard_normal((3, 4)), np.array([11, 0, 5]), note="flattened")]


def _np_take_along(x, indices, dim=None):
    return np.take_along_axis(x.reshape(-1) if dim is None else x, indices.reshape(-1) if dim is None else indices,
                              axis=0 if dim is None else dim)


@op(methods=("take_along_dim",), samples=_take_along_samples, torch="take_along_dim", ref=_np_take_along)
def take_along_dim(input, indices, dim=None):
    """gather with input and indices broadcast against each other except along dim (None: both flattened)."""
    _index_dtype("take_along_dim", indices)
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    d = shape_rules.norm_dim("take_along_dim", dim, input.ndim)
    if indices.ndim != input.ndim:
        raise ShapeError(f"take_along_dim: input {fmt_shape(input.shape)} and indices {fmt_shape(indices.shape)} "
                         "should have the same number of dimensions")
    rest = shape_rules.broadcast_shapes("take_along_dim", input.shape[:d] + (1,) + input.shape[d + 1:],
                              indices.shape[:d] + (1,) + indices.shape[d + 1:])
    x = input.expand(rest[:d] + (input.shape[d],) + rest[d + 1:])
    i = indices.expand(rest[:d] + (indices.shape[d],) + rest[d + 1:])
    return gather(x, d, i)
