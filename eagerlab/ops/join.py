"""Joining tensors: cat and stack (more of the family arrives with the nn work)."""
import numpy as np

from ..errors import ShapeError, fmt_shape
from . import _infer as I
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
    dt, tensors = I.promote(op_name, *tensors)
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
    d = I.norm_dim("cat", dim, tensors[0].ndim)
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
    d = I.norm_dim("stack", dim, tensors[0].ndim + 1)
    return cat([t.unsqueeze(d) for t in tensors], dim=d)
