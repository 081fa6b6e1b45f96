"""Ordering ops: sort, argsort, topk, nonzero/argwhere, unique; and one_hot."""
import numpy as np

from .._tensor import Tensor
from ..backend.dtypes import int64
from ..errors import DTypeError, IndexOutOfRange, ShapeError, fmt_shape
from . import _shape_rules as shape_rules
from ._registry import Aval, Sample, bind, op, primitive
from ._return_types import values_indices


def _along(dim, sl):
    return (slice(None),) * dim + (sl,)


def _argsort(xp, x, dim, descending, stable):
    if not descending:
        return xp.argsort(x, axis=dim, kind="stable" if stable else None)
    # a stable ascending sort of the reversed input, reversed back, keeps ties in input order and puts NaN first,
    # as PyTorch's descending sort does (negating would break that and overflow ints)
    return (x.shape[dim] - 1) - xp.flip(xp.argsort(xp.flip(x, dim), axis=dim, kind="stable"), dim)


def _sort_impl(xp, x, dim, descending, stable):
    if x.ndim == 0:
        return x.copy(), xp.zeros((), dtype=xp.int64)
    idx = _argsort(xp, x, dim, descending, stable)
    return xp.take_along_axis(x, idx, dim), idx


def _sort_infer(x, dim, descending, stable):
    shape_rules.norm_dim("sort", dim, x.ndim)  # (again: a graph loaded from a file reaches the primitive directly)
    return Aval(x.shape, x.dtype, x.device), Aval(x.shape, int64, x.device)


sort_p = primitive("sort", _sort_infer, save_outputs=(1,), n_out=2, nondiff_outputs=(1,))(_sort_impl)


def _scatter_back(ctx, g, _):
    """Gradient of ops that pick elements by (unique) `indices` along a dim: put g back where they came from."""
    (indices,) = ctx.saved
    if g.ndim == 0:
        return (g,)
    from .index_gather import broadcast_zeros, scatter_p

    return (bind(scatter_p, broadcast_zeros(g, ctx.shapes[0]), indices, g, dim=ctx.attrs["dim"], reduce=None),)


sort_p.defvjp(_scatter_back)


def _sort_samples(rng):
    return [Sample(rng.standard_normal((3, 4))), Sample(rng.standard_normal((3, 4)), 0, True),
            Sample(rng.standard_normal((5,)), descending=True, stable=True),
            Sample(rng.standard_normal(())), Sample(rng.standard_normal((0, 3))),
            Sample(rng.standard_normal((4, 3)).T, dim=0, note="non-contiguous"),
            Sample(np.array([3, 1, 2, 1, 3]), descending=True, stable=True, note="int ties keep input order")]


def _np_sort(x, dim=-1, descending=False, stable=False):
    if x.ndim == 0:
        return x, np.zeros((), np.int64)
    idx = np.argsort(-x if descending else x, axis=dim, kind="stable")
    return np.take_along_axis(x, idx, dim), idx


@op(methods=("sort",), samples=_sort_samples, torch="sort", ref=_np_sort)
def sort(input, dim=-1, descending=False, stable=False):
    """(values, indices) of input sorted along dim; NaN sorts as the largest value."""
    d = shape_rules.norm_dim("sort", dim, input.ndim)
    return values_indices(*bind(sort_p, input, dim=d, descending=bool(descending), stable=bool(stable)))


@op(methods=("argsort",), samples=_sort_samples, torch="argsort", grad=False,
    ref=lambda *args, **kwargs: _np_sort(*args, **kwargs)[1])
def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort input along dim."""
    return sort(input, dim, descending, stable).indices


def _topk_impl(xp, x, k, dim, largest, sorted):
    if x.ndim == 0:
        return x.copy(), xp.zeros((), dtype=xp.int64)
    n = x.shape[dim]
    if k == 0:
        idx = xp.zeros(x.shape[:dim] + (0,) + x.shape[dim + 1:], dtype=xp.int64)
    elif largest:
        idx = xp.argpartition(x, n - k, axis=dim)[_along(dim, slice(n - k, None))]
    else:
        idx = xp.argpartition(x, k - 1, axis=dim)[_along(dim, slice(None, k))]
    values = xp.take_along_axis(x, idx, dim)
    if sorted:
        order = _argsort(xp, values, dim, largest, True)
        idx = xp.take_along_axis(idx, order, dim)
        values = xp.take_along_axis(values, order, dim)
    return values, idx


def _topk_infer(x, k, dim, largest, sorted):
    shape = x.shape[:dim] + (k,) + x.shape[dim + 1:] if x.ndim else ()
    return Aval(shape, x.dtype, x.device), Aval(shape, int64, x.device)


topk_p = primitive("topk", _topk_infer, save_outputs=(1,), n_out=2, nondiff_outputs=(1,))(_topk_impl)
topk_p.defvjp(_scatter_back)


def _topk_samples(rng):
    return [Sample(rng.standard_normal((3, 5)), 2), Sample(rng.standard_normal((3, 5)), 3, 0, largest=False),
            Sample(rng.standard_normal((6,)), 6), Sample(rng.standard_normal((2, 4)), 0),
            Sample(rng.standard_normal(()), 1), Sample(rng.standard_normal((5, 3)).T, 2, note="non-contiguous")]


def _np_topk(x, k, dim=-1, largest=True, sorted=True):
    if x.ndim == 0:
        return x, np.zeros((), np.int64)
    idx = np.take(np.argsort(-x if largest else x, axis=dim, kind="stable"), np.arange(k), axis=dim)
    return np.take_along_axis(x, idx, dim), idx


@op(methods=("topk",), samples=_topk_samples, torch="topk", ref=_np_topk)
def topk(input, k, dim=-1, largest=True, sorted=True):
    """(values, indices) of the k largest (or smallest) elements along dim; sorted=False leaves them unordered."""
    d = shape_rules.norm_dim("topk", dim, input.ndim)
    n = input.shape[d] if input.ndim else 1
    if not 0 <= k <= n:
        raise IndexOutOfRange(f"topk: k ({k}) is out of range for dimension {d} of size {n} "
                              f"(input shape {fmt_shape(input.shape)})")
    return values_indices(*bind(topk_p, input, k=int(k), dim=d, largest=bool(largest), sorted=bool(sorted)))


# ---- data-dependent shapes ------------------------------------------------------------------------------
def _nonzero_impl(xp, x):
    flat = xp.flatnonzero(x)
    out = xp.empty((flat.size, x.ndim), dtype=xp.int64)
    for d in range(x.ndim - 1, 0, -1):  # unravel by the trailing sizes: far faster than xp.nonzero on n-d input
        flat, out[:, d] = xp.divmod(flat, x.shape[d])
    if x.ndim:
        out[:, 0] = flat
    return out


nonzero_p = primitive("nonzero", lambda x: Aval((None, x.ndim), int64, x.device), dynamic_shape=True)(_nonzero_impl)


def _nonzero_samples(rng):
    return [Sample(rng.standard_normal((3, 4)) > 0), Sample(rng.standard_normal((2, 3, 2)) > 0, as_tuple=True),
            Sample(np.array([0.0, 1.5, 0.0, -2.0])), Sample(np.array(3)), Sample(np.array(0), as_tuple=True),
            Sample(np.zeros((0, 3), bool))]


def _np_nonzero(x, as_tuple=False):
    if as_tuple:
        return tuple(np.nonzero(np.atleast_1d(x)))
    return np.argwhere(x)


@op(methods=("nonzero",), samples=_nonzero_samples, torch="nonzero", ref=_np_nonzero, grad=False)
def nonzero(input, *, as_tuple=False):
    """The (n, ndim) indices of the nonzero elements; as_tuple: one 1-D index tensor per dim (for indexing)."""
    if as_tuple and input.ndim == 0:
        input = input.reshape(1)
    nz = bind(nonzero_p, input)
    return tuple(nz.T) if as_tuple else nz


@op(methods=("argwhere",), samples=lambda rng: [s for s in _nonzero_samples(rng) if not s.kwargs],
    torch="argwhere", grad=False, ref=np.argwhere)
def argwhere(input):
    """nonzero(input): the (n, ndim) indices of the nonzero elements."""
    return bind(nonzero_p, input)


def _unique_impl(xp, x, return_inverse, return_counts, dim):
    flat = x.reshape(-1) if dim is None else x
    # NaNs are never equal, so each one is its own unique value (as in PyTorch)
    extra = {"equal_nan": False} if dim is None and x.dtype.kind == "f" else {}
    out = xp.unique(flat, return_inverse=return_inverse, return_counts=return_counts, axis=dim, **extra)
    if not (return_inverse or return_counts):
        out = (out,)
    it = iter(out[1:])
    none = xp.zeros((0,), dtype=xp.int64)
    inverse = next(it).reshape(x.shape if dim is None else (-1,)) if return_inverse else none
    counts = next(it) if return_counts else none
    return out[0], inverse, counts


def _unique_infer(x, return_inverse, return_counts, dim):
    none = Aval((0,), int64, x.device)
    return (Aval((None,) if dim is None else x.shape[:dim] + (None,) + x.shape[dim + 1:], x.dtype, x.device),
            Aval(x.shape if dim is None else (x.shape[dim],), int64, x.device) if return_inverse else none,
            Aval((None,), int64, x.device) if return_counts else none)


unique_p = primitive("unique", _unique_infer, n_out=3, dynamic_shape=True)(_unique_impl)


def _unique_samples(rng):
    return [Sample(np.array([[3, 1, 2], [1, 3, 3]])), Sample(np.array([2.5, -1.0, 2.5, 0.0]), return_inverse=True),
            Sample(np.array([4, 4, 1, 0, 4]), return_inverse=True, return_counts=True),
            Sample(np.array([[1, 2], [3, 4], [1, 2]]), return_counts=True, dim=0),
            Sample(np.array([[1, 2, 1], [3, 4, 3]]), return_inverse=True, dim=1),
            Sample(np.zeros((0,), np.int64)), Sample(np.array(5))]


def _np_unique(x, sorted=True, return_inverse=False, return_counts=False, dim=None):
    out = np.unique(x.reshape(-1) if dim is None else x, return_inverse=True, return_counts=True, axis=dim)
    res = (out[0],) + ((out[1].reshape(x.shape if dim is None else -1),) if return_inverse else ()) + \
        ((out[2],) if return_counts else ())
    return res if len(res) > 1 else res[0]


@op(methods=("unique",), samples=_unique_samples, torch="unique", ref=_np_unique, grad=False)
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The unique elements (or slices along dim), always sorted; optionally the inverse map and the counts."""
    d = None if dim is None else shape_rules.norm_dim("unique", dim, input.ndim)
    if d is not None and input.ndim == 0:
        raise ShapeError(f"unique: dim={dim} given for a 0-d input")
    values, inverse, counts = bind(unique_p, input, return_inverse=bool(return_inverse),
                                   return_counts=bool(return_counts), dim=d)
    res = (values,) + ((inverse,) if return_inverse else ()) + ((counts,) if return_counts else ())
    return res if len(res) > 1 else values


# ---- one_hot ---------------------------------------------------------------------------------------------
def _one_hot_samples(rng):
    return [Sample(np.array([0, 2, 1, 2])), Sample(np.array([[1, 0], [3, 3]]), 5), Sample(np.array(2), 3),
            Sample(np.zeros((0,), np.int64), 4)]


def _np_one_hot(x, num_classes=-1):
    n = int(x.max()) + 1 if num_classes == -1 else num_classes
    return (x[..., None] == np.arange(n)).astype(np.int64)


def _one_hot_infer(x, num_classes):
    return Aval((*x.shape, num_classes), int64, x.device)


def _one_hot_impl(xp, x, num_classes):
    # the range check runs with the kernel, so a compiled function raises the same error as eager code
    if x.size:
        lo, hi = int(x.min()), int(x.max())
        if lo < 0:
            raise IndexOutOfRange(f"one_hot: class values must be non-negative, got {lo}")
        if hi >= num_classes:
            raise IndexOutOfRange(f"one_hot: class values must be smaller than num_classes ({num_classes}), got {hi}")
    return (x[..., None] == xp.arange(num_classes)).astype(xp.int64)


one_hot_p = primitive("one_hot", _one_hot_infer)(_one_hot_impl)


@op(samples=_one_hot_samples, ref=_np_one_hot, grad=False,
    torch=lambda torch, x, num_classes=-1: torch.nn.functional.one_hot(x, num_classes))
def one_hot(tensor, num_classes=-1):
    """int64 one-hot encoding of an int64 class tensor, with a trailing dim of num_classes (-1: max + 1)."""
    if not isinstance(tensor, Tensor) or tensor.dtype is not int64:
        raise DTypeError(f"one_hot: expected an int64 index tensor, got "
                         f"{tensor.dtype.name if isinstance(tensor, Tensor) else type(tensor).__name__}")
    if num_classes == -1:  # the output's shape depends on the data: eager only
        if not tensor.numel():
            raise ShapeError("one_hot: can not infer the number of classes of an empty tensor; pass num_classes")
        num_classes = int(tensor.amax()) + 1
    return bind(one_hot_p, tensor, num_classes=int(num_classes))
