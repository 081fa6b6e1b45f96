"""Joining, splitting and reordering: cat, stack, split, chunk, narrow, flip, roll, repeat, tile, tril, triu."""
import numpy as np

from ..backend.dtypes import bool_
from ..errors import ShapeError, fmt_shape
from . import _shape_rules as shape_rules
from ._registry import Aval, Sample, bind, op, primitive


def _cat_infer(*xs, dim):
    first = xs[0]
    for x in xs[1:]:
        if len(x.shape) != len(first.shape) or any(a != b for i, (a, b) in enumerate(zip(x.shape, first.shape))
                                                   if i != dim):
            raise ShapeError(f"cat: sizes of tensors must match except in dimension {dim}; got "
                             f"{fmt_shape(first.shape)} and {fmt_shape(x.shape)}")
    shape = list(first.shape)
    shape[dim] = sum(x.shape[dim] for x in xs)
    return Aval(shape, first.dtype, first.device)


cat_p = primitive("cat", _cat_infer)(lambda xp, *xs, dim: xp.concatenate(xs, axis=dim))


@cat_p.defvjp
def _(ctx, g):
    from .getitem import getitem

    dim = ctx.attrs["dim"]
    out, start = [], 0
    for shape, need in zip(ctx.shapes, ctx.needs):
        stop = start + shape[dim]
        out.append(getitem(g, (slice(None),) * dim + (slice(start, stop),)) if need else None)
        start = stop
    return tuple(out)


def _tensors(op_name, tensors):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op_name}: expected a non-empty list of Tensors")
    dt, tensors = shape_rules.promote(op_name, *tensors)
    return tensors


def _cat_samples(rng):
    r = rng.standard_normal
    return [Sample([r((2, 3)), r((1, 3))]), Sample([r((2, 3)), r((2, 1)), r((2, 2))], dim=1),
            Sample([r((3,)), r((0,))], note="empty part"), Sample([r((2, 3)).T, r((1, 2))], dim=0)]


@op(aliases=("concat", "concatenate"), samples=_cat_samples, torch="cat",
    ref=lambda xs, dim=0: np.concatenate(xs, axis=dim))
def cat(tensors, dim=0):
    """Join tensors along an existing dim (dtypes promoted, other dims must match)."""
    tensors = _tensors("cat", tensors)
    d = shape_rules.norm_dim("cat", dim, tensors[0].ndim)
    _cat_infer(*[Aval.of(t) for t in tensors], dim=d)
    return bind(cat_p, *tensors, dim=d)


def _stack_samples(rng):
    r = rng.standard_normal
    return [Sample([r((2, 3)), r((2, 3))]), Sample([r((2,)), r((2,)), r((2,))], dim=1), Sample([r(()), r(())])]


@op(samples=_stack_samples, torch="stack", ref=lambda xs, dim=0: np.stack(xs, axis=dim))
def stack(tensors, dim=0):
    """Join same-shape tensors along a new dim."""
    tensors = _tensors("stack", tensors)
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise ShapeError(f"stack: expects each tensor to be equal size, but got {fmt_shape(tensors[0].shape)} "
                             f"and {fmt_shape(t.shape)}")
    return bind(stack_p, *tensors, dim=shape_rules.norm_dim("stack", dim, tensors[0].ndim + 1))


def _stack_infer(*xs, dim):
    first = xs[0]
    shape_rules.new_dim("stack", dim, len(first.shape))  # (again: a loaded graph reaches the primitive directly)
    return Aval(first.shape[:dim] + (len(xs),) + first.shape[dim:], first.dtype, first.device)


# stack and unbind are each other's backward: one op either way, however many tensors (an RNN stacks one per step)
stack_p = primitive("stack", _stack_infer)(lambda xp, *xs, dim: xp.stack(xs, axis=dim))
stack_p.defvjp(lambda ctx, g: bind(unbind_p, g, dim=ctx.attrs["dim"]))


def _unbind_infer(x, dim):
    if isinstance(dim, bool) or not isinstance(dim, int) or not 0 <= dim < len(x.shape):  # (a loaded graph's dim)
        raise IndexError(f"unbind: dim {dim!r} is out of range for a tensor of shape {fmt_shape(x.shape)}")
    return (Aval(x.shape[:dim] + x.shape[dim + 1:], x.dtype, x.device),) * x.shape[dim]


# One op with one output per index (not n slices): its backward is a single stack, where n getitems would each
# scatter into a zero tensor of the full shape and sum n of those - O(n^2) for the time steps of an RNN.
unbind_p = primitive("unbind", _unbind_infer, n_out=None, view=True)(
    lambda xp, x, dim: tuple(x[(slice(None),) * dim + (i,)] for i in range(x.shape[dim])))


@unbind_p.defvjp
def _(ctx, *grads):
    like = next(g for g in grads if g is not None)
    zero = None
    if any(g is None for g in grads):
        zero = like.new_zeros(like.shape)
    return (bind(stack_p, *(zero if g is None else g for g in grads), dim=ctx.attrs["dim"]),)


def _unbind_samples(rng):
    return [Sample(rng.standard_normal((3, 2))), Sample(rng.standard_normal((2, 3, 4)), 1),
            Sample(rng.standard_normal((2, 1)), -1, note="one piece")]


@op(methods=("unbind",), samples=_unbind_samples, torch="unbind",
    ref=lambda x, dim=0: tuple(np.moveaxis(x, dim, 0)))
def unbind(input, dim=0):
    """The slices along `dim` (views), with that dim removed: the inverse of stack."""
    return bind(unbind_p, input, dim=shape_rules.norm_dim("unbind", dim, input.ndim))


# ---- splitting and reordering ------------------------------------------------------------------------------------
def _dim_slice(ndim, dim, sl):
    return (slice(None),) * dim + (sl,) + (slice(None),) * (ndim - dim - 1)


def _split_infer(x, dim, bounds):
    return tuple(Aval(x.shape[:dim] + (b - a,) + x.shape[dim + 1:], x.dtype, x.device)
                 for a, b in zip(bounds, bounds[1:]))


# One op with a view per piece (pieces [bounds[i], bounds[i+1]) along dim), whose backward is one cat: as getitems,
# each piece's gradient was scattered into a zero tensor of the whole shape and those were summed (attention's
# q, k, v = qkv.split(...): 3 full-size scatters and 2 full-size adds per layer, against one concatenation).
split_p = primitive("split", _split_infer, n_out=None, view=True)(
    lambda xp, x, dim, bounds: tuple(x[_dim_slice(x.ndim, dim, slice(a, b))] for a, b in zip(bounds, bounds[1:])))


@split_p.defvjp
def _(ctx, *grads):
    dim, bounds = ctx.attrs["dim"], ctx.attrs["bounds"]
    like = next(g for g in grads if g is not None)
    shape = tuple(like.shape)
    pieces = [g if g is not None else like.new_zeros(shape[:dim] + (b - a,) + shape[dim + 1:])
              for g, a, b in zip(grads, bounds, bounds[1:])]
    return bind(cat_p, *pieces, dim=dim),


def _split_samples(rng):
    return [Sample(rng.standard_normal((5, 3)), 2), Sample(rng.standard_normal((3, 4)), [1, 3], dim=1),
            Sample(rng.standard_normal((2, 6, 3)), 2, dim=-2, note="equal pieces, negative dim"),
            Sample(rng.standard_normal((2, 3)), 5, dim=1, note="one piece")]


@op(methods=("split",), samples=_split_samples, torch="split",
    ref=lambda x, s, dim=0: np.split(x, list(range(s, x.shape[dim], s)) if isinstance(s, int)
                                     else np.cumsum(s)[:-1], axis=dim))
def split(tensor, split_size_or_sections, dim=0):
    """Views of consecutive pieces along `dim`: equal `split_size` pieces (the last may be smaller) or given sizes."""
    d = shape_rules.norm_dim("split", dim, tensor.ndim)
    size = tensor.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}")
        bounds = list(range(0, size, step)) + [size]
    else:
        sections = list(split_size_or_sections)
        if sum(sections) != size:
            raise ShapeError(f"split: sections {sections} sum to {sum(sections)}, but dim {d} of "
                             f"{fmt_shape(tensor.shape)} has size {size}")
        bounds = [0] + list(np.cumsum(sections))
    if len(bounds) < 2:
        return ()
    return bind(split_p, tensor, dim=d, bounds=tuple(int(b) for b in bounds))


def _chunk_samples(rng):
    return [Sample(rng.standard_normal((6, 2)), 3), Sample(rng.standard_normal((2, 5)), 2, dim=1)]


@op(methods=("chunk",), samples=_chunk_samples, torch="chunk",
    ref=lambda x, n, dim=0: np.array_split(x, range(-(-x.shape[dim] // n), x.shape[dim], -(-x.shape[dim] // n)),
                                           axis=dim))
def chunk(input, chunks, dim=0):
    """Split into `chunks` pieces of ceil(size / chunks) along `dim` (fewer when the size runs out)."""
    d = shape_rules.norm_dim("chunk", dim, input.ndim)
    return split(input, max(-(-input.shape[d] // chunks), 1), d)


def _narrow_samples(rng):
    return [Sample(rng.standard_normal((4, 3)), 0, 1, 2), Sample(rng.standard_normal((4, 3)), -1, 0, 2)]


@op(methods=("narrow",), samples=_narrow_samples, torch="narrow",
    ref=lambda x, dim, start, length: np.take(x, range(start, start + length), axis=dim))
def narrow(input, dim, start, length):
    """A view of `length` elements of `dim` starting at `start`."""
    d = shape_rules.norm_dim("narrow", dim, input.ndim)
    if start < 0:
        start += input.shape[d]
    if not 0 <= start <= start + length <= input.shape[d]:
        raise ShapeError(f"narrow: start {start} + length {length} exceeds dim {d} of size {input.shape[d]} "
                         f"(shape {fmt_shape(input.shape)})")
    return input[_dim_slice(input.ndim, d, slice(start, start + length))]


def _flip_samples(rng):
    return [Sample(rng.standard_normal((3, 4)), (0,)), Sample(rng.standard_normal((2, 3, 2)), (0, 2))]


@op(methods=("flip",), samples=_flip_samples, torch="flip", ref=lambda x, dims: np.flip(x, dims))
def flip(input, dims):
    """Reverse the order of elements along `dims`."""
    dims = shape_rules.norm_dims("flip", dims, input.ndim)
    return input[tuple(slice(None, None, -1) if i in dims else slice(None) for i in range(input.ndim))].clone()


def _tril_samples(rng):
    return [Sample(rng.standard_normal((3, 4))), Sample(rng.standard_normal((2, 3, 3)), 1),
            Sample(rng.standard_normal((4, 3)), -1), Sample(rng.standard_normal((3, 3)) > 0, 0, note="bool stays bool")]


def _triangle(op_name, input, diagonal, lower):
    from .creation import arange
    from .index import where

    if input.ndim < 2:
        raise ShapeError(f"{op_name}: input must have at least 2 dims, got {fmt_shape(input.shape)}")
    rows = arange(input.shape[-2], device=input.device).reshape(-1, 1)
    cols = arange(input.shape[-1], device=input.device)
    keep = (cols - rows <= diagonal) if lower else (cols - rows >= diagonal)
    return where(keep, input, False if input.dtype is bool_ else 0)  # a bool 0 keeps bool tensors bool


@op(methods=("tril",), samples=_tril_samples, torch="tril", ref=lambda x, k=0: np.tril(x, k))
def tril(input, diagonal=0):
    """The lower triangle (elements with col - row <= diagonal); the rest zeroed."""
    return _triangle("tril", input, diagonal, True)


@op(methods=("triu",), samples=_tril_samples, torch="triu", ref=lambda x, k=0: np.triu(x, k))
def triu(input, diagonal=0):
    """The upper triangle (elements with col - row >= diagonal); the rest zeroed."""
    return _triangle("triu", input, diagonal, False)


def _repeat_samples(rng):
    return [Sample(rng.standard_normal((2, 3)), (2, 1)), Sample(rng.standard_normal((3,)), (2, 2), note="new dims")]


def _tile(op_name, input, reps):
    reps = tuple(int(r) for r in reps)
    if any(r < 0 for r in reps):
        raise ValueError(f"{op_name}: repeats must be non-negative, got {reps}")
    ndim = max(len(reps), input.ndim)
    reps = (1,) * (ndim - len(reps)) + reps
    x = input.reshape((1,) * (ndim - input.ndim) + tuple(input.shape))
    # interleave a broadcast axis before each dim, then merge: (r0, s0, r1, s1, ...) -> (r0*s0, r1*s1, ...)
    spread = x.reshape(tuple(v for s in x.shape for v in (1, s)))
    full = spread.expand(*(v for r, s in zip(reps, x.shape) for v in (r, s)))
    return full.reshape(tuple(r * s for r, s in zip(reps, x.shape)))


@op(methods=("repeat",), samples=_repeat_samples, torch=lambda torch, x, reps: x.repeat(*reps),
    ref=lambda x, reps: np.tile(x, reps))
def repeat(input, *sizes):
    """Tile input `sizes` times along each dim (PyTorch's Tensor.repeat, numpy's tile)."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = sizes[0]
    if len(sizes) < input.ndim:
        raise ShapeError(f"repeat: number of repeat dims ({len(sizes)}) can not be smaller than number of tensor "
                         f"dims ({input.ndim}, shape {fmt_shape(input.shape)})")
    return _tile("repeat", input, sizes)


@op(methods=("tile",), samples=_repeat_samples, torch="tile", ref=lambda x, reps: np.tile(x, reps))
def tile(input, dims):
    """Tile input along each dim; fewer reps than dims repeat the trailing dims."""
    return _tile("tile", input, dims)


def _roll_samples(rng):
    return [Sample(rng.standard_normal((3, 4)), 1, 1), Sample(rng.standard_normal((3, 4)), (-1, 2), (0, 1)),
            Sample(rng.standard_normal((3, 4)), 5)]


@op(methods=("roll",), samples=_roll_samples, torch="roll", ref=lambda x, s, d=None: np.roll(x, s, d))
def roll(input, shifts, dims=None):
    """Shift elements cyclically along `dims` (over the flattened tensor when dims is None)."""
    if dims is None:
        return roll(input.reshape(-1), shifts, 0).reshape(input.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    out = input
    for shift, dim in zip(shifts, dims):
        d = shape_rules.norm_dim("roll", dim, out.ndim)
        n = out.shape[d]
        k = shift % n if n else 0
        if k:
            out = cat([out[_dim_slice(out.ndim, d, slice(n - k, None))], out[_dim_slice(out.ndim, d, slice(0, n - k))]],
                      dim=d)
    return out
