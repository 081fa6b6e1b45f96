"""Shape ops: reshape/view, permute/transpose, expand, squeeze/unsqueeze, flatten, ... Views share memory."""
import math

import numpy as np

from .._tensor import Tensor
from ..errors import ShapeError, fmt_shape
from . import _shape_rules as shape_rules
from ._registry import Aval, Sample, bind, op, primitive


def _shape_arg(op_name, shape):
    """Accept reshape(2, 3), reshape((2, 3)) and reshape([2, 3])."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        return tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"{op_name}: shape must be ints, got {shape!r}") from None


def _infer_reshape_shape(op_name, in_shape, shape):
    """Resolve a -1 and check the element count, naming both shapes on failure."""
    n = math.prod(in_shape)  # Python ints: no overflow, and far cheaper than np.prod on a short tuple
    if shape.count(-1) > 1:
        raise ShapeError(f"{op_name}: only one dimension can be inferred (-1), got shape {fmt_shape(shape)}")
    known = math.prod(s for s in shape if s != -1)
    if -1 in shape:
        if known == 0 or n % known:
            raise ShapeError(f"{op_name}: shape {fmt_shape(shape)} is invalid for input of shape "
                             f"{fmt_shape(in_shape)} ({n} elements)")
        shape = tuple(n // known if s == -1 else s for s in shape)
    elif known != n or any(s < 0 for s in shape):
        raise ShapeError(f"{op_name}: shape {fmt_shape(shape)} is invalid for input of shape {fmt_shape(in_shape)} "
                         f"({n} elements)")
    return shape


def _reshape_infer(x, shape):
    return Aval(_infer_reshape_shape("reshape", x.shape, shape), x.dtype, x.device)


reshape_p = primitive("reshape", _reshape_infer, view=True)(lambda xp, x, shape: x.reshape(shape))


@reshape_p.defvjp
def _(ctx, g):
    return reshape(g, ctx.shapes[0]),


def _reshape_samples(rng):
    return [Sample(rng.standard_normal((3, 4)), (4, 3)), Sample(rng.standard_normal((2, 3, 4)), (-1, 4)),
            Sample(rng.standard_normal(()), (1, 1)), Sample(rng.standard_normal((4, 3)).T, (12,), note="copies"),
            Sample(rng.standard_normal((0, 3)), (3, 0))]


@op(methods=(), samples=_reshape_samples, torch="reshape", ref=lambda x, shape: x.reshape(shape))
def reshape(input, *shape):
    """Same data with a new shape (a view when the layout allows, else a copy)."""
    shape = _infer_reshape_shape("reshape", input.shape, _shape_arg("reshape", shape))
    if shape == input._data.shape:
        return input
    return bind(reshape_p, input, shape=shape)


def _reshape_method(self, *shape):
    return reshape(self, *shape)


def view_is_possible(old_shape, old_strides, new_shape):
    """True when a tensor of `old_shape`/`old_strides` (in elements) can be seen as `new_shape` without copying:
    PyTorch's rule. Walking from the last dim, the old dims group into chunks, each laid out contiguously (with the
    stride of its innermost dim); every chunk must be covered exactly by a run of new dims (size-1 dims fit
    anywhere)."""
    if math.prod(old_shape) == 0:
        return True
    new_dim = len(new_shape) - 1
    base_stride = old_strides[-1] if old_strides else 1
    chunk_numel = view_numel = 1
    for d in range(len(old_shape) - 1, -1, -1):
        chunk_numel *= old_shape[d]
        # the chunk ends at d when the dim before it is not laid out right after this chunk
        if d == 0 or (old_shape[d - 1] != 1 and old_strides[d - 1] != chunk_numel * base_stride):
            while new_dim >= 0 and (view_numel < chunk_numel or new_shape[new_dim] == 1):
                view_numel *= new_shape[new_dim]
                new_dim -= 1
            if view_numel != chunk_numel:
                return False
            if d > 0:
                base_stride, chunk_numel, view_numel = old_strides[d - 1], 1, 1
    return new_dim == -1


def _view(self, *shape):
    """A view with a new shape, sharing memory; errors (like PyTorch) when the memory layout needs a copy."""

    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, int)):
        raise TypeError("view(dtype) is not supported; use .to(dtype)")
    if not self._data.flags.c_contiguous and self._data.size > 1:
        new_shape = _infer_reshape_shape("view", self.shape, _shape_arg("view", shape))
        if not view_is_possible(self.shape, self.stride(), new_shape):
            raise ShapeError(
                f"view: view size is not compatible with input tensor's size and stride (at least one dimension "
                f"spans across two contiguous subspaces): shape {fmt_shape(self.shape)} with strides "
                f"{self.stride()} can't be viewed as {fmt_shape(new_shape)}. Use .reshape(...) instead.")
    return reshape(self, *shape)


def _view_as(self, other):
    return _view(self, *other.shape)


def _reshape_as(self, other):
    return reshape(self, *other.shape)


Tensor.view_as, Tensor.reshape_as = _view_as, _reshape_as
Tensor.reshape = _reshape_method
Tensor.view = _view


def _permute_infer(x, dims):
    if sorted(dims) != list(range(len(x.shape))):
        raise ShapeError(f"permute: dims {dims} is not a permutation of the {len(x.shape)} dims of shape "
                         f"{fmt_shape(x.shape)}")
    return Aval(tuple(x.shape[d] for d in dims), x.dtype, x.device)


permute_p = primitive("permute", _permute_infer, view=True)(lambda xp, x, dims: xp.transpose(x, dims))


@permute_p.defvjp
def _(ctx, g):
    return bind(permute_p, g, dims=tuple(np.argsort(ctx.attrs["dims"]).tolist())),


def _permute_samples(rng):
    return [Sample(rng.standard_normal((2, 3, 4)), (2, 0, 1)), Sample(rng.standard_normal((3, 4)), (1, 0)),
            Sample(rng.standard_normal(()), ())]


@op(methods=(), samples=_permute_samples, torch="permute", ref=lambda x, dims: np.transpose(x, dims))
def permute(input, *dims):
    dims = _shape_arg("permute", dims)
    n = input.ndim
    if len(dims) != n:
        raise ShapeError(f"permute: number of dims {len(dims)} doesn't match the tensor's {n} dims "
                         f"(shape {fmt_shape(input.shape)})")
    dims = tuple(shape_rules.norm_dim("permute", d, n) for d in dims)
    if dims == tuple(range(n)):
        return input
    return bind(permute_p, input, dims=dims)


Tensor.permute = lambda self, *dims: permute(self, *dims)


def _transpose_samples(rng):
    return [Sample(rng.standard_normal((2, 3, 4)), 0, 2), Sample(rng.standard_normal((3, 4)), -1, -2)]


@op(methods=("transpose", "swapaxes", "swapdims"), samples=_transpose_samples, torch="transpose",
    ref=lambda x, a, b: np.swapaxes(x, a, b))
def transpose(input, dim0, dim1):
    n = input.ndim
    d0, d1 = shape_rules.norm_dim("transpose", dim0, n), shape_rules.norm_dim("transpose", dim1, n)
    dims = list(range(n))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return permute(input, *dims)


swapaxes = swapdims = transpose


def t(input):
    """Transpose a tensor of at most 2 dims."""
    if input.ndim > 2:
        raise ShapeError(f"t: expects a tensor with <= 2 dimensions, but got shape {fmt_shape(input.shape)}")
    return transpose(input, 0, 1) if input.ndim == 2 else input


Tensor.t = t


def _expand_infer(x, shape):
    out = shape_rules.broadcast_shapes("expand", x.shape, shape)
    if tuple(out) != tuple(shape):  # (broadcasting is symmetric; expand only widens x)
        raise ShapeError(f"expand: cannot expand a tensor of shape {fmt_shape(x.shape)} to {fmt_shape(shape)}")
    return Aval(out, x.dtype, x.device)


expand_p = primitive("expand", _expand_infer, view=True)(lambda xp, x, shape: xp.broadcast_to(x, shape))


@expand_p.defvjp
def _(ctx, g):
    from .reduce import sum_to

    return sum_to(g, ctx.shapes[0]),


def _expand_samples(rng):
    return [Sample(rng.standard_normal((3, 1)), (3, 4)), Sample(rng.standard_normal((4,)), (2, 3, 4)),
            Sample(rng.standard_normal(()), (2, 2))]


@op(methods=("broadcast_to",), samples=_expand_samples, torch="broadcast_to", ref=lambda x, s: np.broadcast_to(x, s))
def broadcast_to(input, shape):
    shape = tuple(shape)
    if shape == input._data.shape:
        return input
    target = tuple(input.shape[i - len(shape) + input.ndim] if s == -1 else s for i, s in enumerate(shape))
    if not _expandable(input._data.shape, target):
        raise ShapeError(f"expand: the expanded size of the tensor ({fmt_shape(target)}) must match the existing "
                         f"size {fmt_shape(input.shape)} at non-singleton dimensions")
    return bind(expand_p, input, shape=target)


def _expandable(shape, target):
    """Each dim of `shape` (aligned right) equals the target's or is 1; new leading dims are non-negative."""
    lead = len(target) - len(shape)
    if lead < 0 or any(t < 0 for t in target[:lead]):
        return False
    return all(s == t or s == 1 and t >= 0 for s, t in zip(shape, target[lead:]))


def _expand(self, *shape):
    return broadcast_to(self, _shape_arg("expand", shape))


Tensor.expand = _expand
Tensor.expand_as = lambda self, other: broadcast_to(self, other.shape)
expand = broadcast_to


def _unsqueeze_infer(x, dim):
    shape_rules.new_dim("unsqueeze", dim, len(x.shape))  # (again: a loaded graph reaches the primitive directly)
    return Aval(x.shape[:dim] + (1,) + x.shape[dim:], x.dtype, x.device)


# (a reshape: inserting a size-1 dim is always a view; xp.expand_dims would normalize the dim again, ~2 us more)
unsqueeze_p = primitive("unsqueeze", _unsqueeze_infer, view=True)(
    lambda xp, x, dim: x.reshape(x.shape[:dim] + (1,) + x.shape[dim:]))
unsqueeze_p.defvjp(lambda ctx, g: (reshape(g, ctx.shapes[0]),))


def _unsqueeze_samples(rng):
    return [Sample(rng.standard_normal((3, 4)), 1), Sample(rng.standard_normal((3,)), -1),
            Sample(rng.standard_normal(()), 0)]


@op(methods=("unsqueeze",), samples=_unsqueeze_samples, torch="unsqueeze", ref=np.expand_dims)
def unsqueeze(input, dim):
    """A view with a size-1 dim inserted at `dim` (negative dims count from the new rank)."""
    return bind(unsqueeze_p, input, dim=shape_rules.norm_dim("unsqueeze", dim, input.ndim + 1))



def _flatten_samples(rng):
    return [Sample(rng.standard_normal((2, 3, 4)), 1), Sample(rng.standard_normal((2, 3, 4))),
            Sample(rng.standard_normal(())), Sample(rng.standard_normal((2, 3, 4)), 0, 1)]


@op(methods=("flatten",), samples=_flatten_samples, torch="flatten",
    ref=lambda x, s=0, e=-1: x.reshape(x.shape[:s % max(x.ndim, 1)] + (-1,) + x.shape[e % max(x.ndim, 1) + 1:])
    if x.ndim else x.reshape(1))
def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims start_dim..end_dim into one."""
    if input.ndim == 0:
        return reshape(input, 1)
    s, e = shape_rules.norm_dim("flatten", start_dim, input.ndim), shape_rules.norm_dim("flatten", end_dim, input.ndim)
    if s > e:
        raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape "
                         f"{fmt_shape(input.shape)}")
    return reshape(input, input.shape[:s] + (-1,) + input.shape[e + 1:])


def _unflatten_samples(rng):
    return [Sample(rng.standard_normal((2, 6, 3)), 1, (2, 3)), Sample(rng.standard_normal((2, 6)), -1, (-1, 2)),
            Sample(rng.standard_normal((4, 3)), 0, [4]), Sample(rng.standard_normal((2, 0)), 1, (0, 5))]


def _np_unflatten(x, dim, sizes):
    d = dim % x.ndim
    sizes = tuple(sizes)
    if -1 in sizes:
        known = int(np.prod([s for s in sizes if s != -1]))
        sizes = tuple(x.shape[d] // known if s == -1 else s for s in sizes)
    return x.reshape(x.shape[:d] + sizes + x.shape[d + 1:])


@op(methods=("unflatten",), samples=_unflatten_samples, torch="unflatten", ref=_np_unflatten)
def unflatten(input, dim, sizes):
    """Split dim `dim` into `sizes` (one of which may be -1), the reverse of flatten."""
    d = shape_rules.norm_dim("unflatten", dim, input.ndim)
    sizes = _shape_arg("unflatten", (sizes,))
    if not sizes:
        raise ShapeError(f"unflatten: sizes must be non-empty (input {fmt_shape(input.shape)}, dim {dim})")
    n = input.shape[d]
    try:
        sizes = _infer_reshape_shape("unflatten", (n,), sizes)
    except ShapeError:
        if sizes.count(-1) > 1:
            raise
        raise ShapeError(f"unflatten: sizes {fmt_shape(sizes)} don't multiply up to the size of dim {d} ({n}) of "
                         f"input {fmt_shape(input.shape)}") from None
    return reshape(input, input.shape[:d] + sizes + input.shape[d + 1:])


def _squeeze_samples(rng):
    return [Sample(rng.standard_normal((2, 1, 3, 1))), Sample(rng.standard_normal((2, 1, 3)), 1),
            Sample(rng.standard_normal((2, 1, 3, 1)), (1, 3)), Sample(rng.standard_normal((2, 3)), 0)]


def _np_squeeze(x, dim=None):
    if dim is None:
        return np.squeeze(x)
    dims = (dim,) if isinstance(dim, int) else dim
    return np.squeeze(x, axis=tuple(d for d in dims if x.shape[d] == 1))


@op(methods=("squeeze",), samples=_squeeze_samples, ref=_np_squeeze,
    torch=lambda torch, x, dim=None: x.squeeze() if dim is None else x.squeeze(dim))
def squeeze(input, dim=None):
    """Drop size-1 dims (all of them, or those among `dim` that have size 1, as in PyTorch)."""
    dims = shape_rules.norm_dims("squeeze", dim, input.ndim)
    shape = tuple(s for i, s in enumerate(input.shape) if not (i in dims and s == 1))
    return reshape(input, shape)


def _movedim_samples(rng):
    return [Sample(rng.standard_normal((2, 3, 4)), 1, -1), Sample(rng.standard_normal((2, 3, 4)), 0, 2)]


@op(methods=("movedim", "moveaxis"), aliases=("moveaxis",), samples=_movedim_samples, torch="movedim",
    ref=np.moveaxis)
def movedim(input, source, destination):
    """Move one dim to a new position, keeping the others in order."""
    n = input.ndim
    s, d = shape_rules.norm_dim("movedim", source, n), shape_rules.norm_dim("movedim", destination, n)
    order = [i for i in range(n) if i != s]
    order.insert(d, s)
    return permute(input, *order)
