"""Vector norms and counting: norm (p = 2/'fro', 1, inf, -inf, 0, any real p) and count_nonzero."""
import math

import numpy as np

from ..backend.dtypes import int64
from ..errors import DTypeError, UnsupportedError
from . import _shape_rules as shape_rules
from ._registry import Aval, Sample, bind, op, primitive
from .reduce import _np_axis, _reduced_shape


def _norm_infer(x, p, dims, keepdim):
    return Aval(_reduced_shape(x.shape, dims, keepdim), x.dtype, x.device)


def _norm_impl(xp, x, p, dims, keepdim):
    if p == 2:  # (before the abs below: the common case needs no pass for it)
        return xp.sqrt(xp.sum(x * x, axis=dims, keepdims=keepdim))
    a = xp.abs(x)
    if p == math.inf:
        return xp.max(a, axis=dims, keepdims=keepdim, initial=0)
    if p == -math.inf:
        return xp.min(a, axis=dims, keepdims=keepdim)
    if p == 0:
        return xp.sum(a != 0, axis=dims, keepdims=keepdim).astype(x.dtype)
    if p == 1:
        return xp.sum(a, axis=dims, keepdims=keepdim)
    return (xp.sum(a ** p, axis=dims, keepdims=keepdim) ** (1.0 / p)).astype(x.dtype, copy=False)


norm_p = primitive("norm", _norm_infer, save_inputs=(0,), save_outputs=(0,))(_norm_impl)


@norm_p.defvjp
def _(ctx, g):
    from .elementwise import absolute as abs, sign
    from .index import where

    x, out = ctx.saved
    p, dims = ctx.attrs["p"], ctx.attrs["dims"]
    if not ctx.attrs["keepdim"]:
        keep = _reduced_shape(x.shape, dims, True)
        g, out = g.reshape(keep), out.reshape(keep)
    if p == 0:
        return x * 0,
    if p == 1:
        return g * sign(x),
    if p in (math.inf, -math.inf):  # the gradient is shared evenly by the entries that reach the extreme
        hits = (abs(x) == out).to(x.dtype)
        return g * sign(x) * hits / hits.sum(dims, keepdim=True),
    safe_out = where(out == 0, 1.0, out)  # a zero norm means x == 0 there: the gradient is 0, not 0/0
    if p == 2:
        return g * x / safe_out,
    zero = x == 0  # sign(x) |x|^(p-1) / norm^(p-1), with |x|^(p-1) kept finite at 0 for p < 1
    scaled = where(zero, 0.0, sign(x) * where(zero, 1.0, abs(x)) ** (p - 1))
    return g * scaled / safe_out ** (p - 1),


def _np_norm(x, p="fro", dim=None, keepdim=False):
    p = 2 if p == "fro" else p
    axis = _np_axis(dim)
    a = np.abs(x)
    if p == np.inf:
        return np.max(a, axis=axis, keepdims=keepdim)
    if p == -np.inf:
        return np.min(a, axis=axis, keepdims=keepdim)
    if p == 0:
        return np.sum(a != 0, axis=axis, keepdims=keepdim).astype(x.dtype)
    return np.sum(a ** p, axis=axis, keepdims=keepdim) ** (1 / p)


def _norm_samples(rng):
    r = rng.standard_normal
    return [Sample(r((3, 4))), Sample(r((3, 4)), 1, 1), Sample(r((2, 3, 4)), 2, (0, 2), keepdim=True),
            Sample(r((3, 4)), float("inf"), 1), Sample(r((3, 4)), float("-inf"), 0), Sample(r((3, 4)), 3, 1),
            Sample(r((3, 4)), 0.5, 1, note="p < 1"), Sample(r((3, 4)), 0, 1, note="p = 0 counts nonzeros"),
            Sample(r(()), note="0-d")]


@op(methods=("norm",), samples=_norm_samples, torch="norm", ref=_np_norm)
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """The vector p-norm over `dim` (all dims when None), as torch.norm: p 'fro' or 2, 1, inf, -inf, 0 (the
    count of nonzeros), or any real number."""
    x = input.to(dtype) if dtype is not None else input
    if not x.dtype.is_floating_point:
        raise DTypeError(f"norm: input dtype should be floating point, got {x.dtype.name} input "
                         f"{tuple(x.shape)}; convert with .float()")
    if p == "fro":
        p = 2
    elif isinstance(p, str):
        raise UnsupportedError(f"norm: p={p!r} (a matrix norm) is not supported yet; use p='fro' or a number")
    dims = shape_rules.norm_dims("norm", dim, x.ndim)
    if p == -math.inf and any(x.shape[d] == 0 for d in dims):
        raise ValueError(f"norm: p=-inf over an empty dim of input {tuple(x.shape)} has no identity")
    return bind(norm_p, x, p=float(p), dims=dims, keepdim=bool(keepdim))


def _count_samples(rng):
    x = rng.standard_normal((3, 4))
    x[x < 0] = 0.0
    return [Sample(x, grad=False), Sample(x, 1, grad=False), Sample(x, (0, 1), grad=False),
            Sample(np.array([[1, 0, 2], [0, 0, 3]]), 0, grad=False, note="integer")]


@op(methods=("count_nonzero",), samples=_count_samples, torch="count_nonzero", grad=False,
    ref=lambda x, dim=None: np.count_nonzero(x, axis=_np_axis(dim)))
def count_nonzero(input, dim=None):
    """The number of nonzero entries over `dim` (all dims when None), as int64."""
    from .reduce import sum

    return sum(input != 0, dim).to(int64)
