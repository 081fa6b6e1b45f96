"""Products: prod and cumprod.

Their gradients must stay exact when inputs contain zeros, so neither divides by the input: prod's is the
product of everything to the left times everything to the right (two exclusive running products), cumprod's
splits each row at its first zero. Both are written in eagerlab ops, so they differentiate again.
"""
import numpy as np

from ..backend.dtypes import bool_
from . import _shape_rules as shape_rules
from ._registry import Aval, Sample, bind, op, primitive
from .reduce import _accum_dtype, _np_axis, _reduced_shape


def _prod_infer(x, dims, keepdim):
    return Aval(_reduced_shape(x.shape, dims, keepdim), x.dtype, x.device)


prod_p = primitive("prod", _prod_infer, save_inputs=(0,))(
    lambda xp, x, dims, keepdim: xp.prod(x, axis=dims, keepdims=keepdim, dtype=x.dtype))
cumprod_p = primitive("cumprod", shape_rules.same_along_dim("cumprod"), save_inputs=(0,), save_outputs=(0,))(
    lambda xp, x, dim: xp.cumprod(x, axis=dim, dtype=x.dtype))


def _exclusive_cumprod(x, dim):
    """out[i] = x[0] * ... * x[i-1] along dim (1 at i = 0)."""
    from .join import cat, narrow
    from .creation import ones_like

    n = x.shape[dim]
    if n == 0:
        return x
    one = ones_like(narrow(x, dim, 0, 1))
    return cumprod(cat([one, narrow(x, dim, 0, n - 1)], dim), dim)


def _reverse_cumsum(x, dim):
    from .join import flip
    from .reduce_stats import cumsum

    return flip(cumsum(flip(x, (dim,)), dim), (dim,))


@prod_p.defvjp
def _(ctx, g):
    from .join import flip

    (x,) = ctx.saved
    dims, keepdim = ctx.attrs["dims"], ctx.attrs["keepdim"]
    if not dims:
        return g,
    kept = [d for d in range(x.ndim) if d not in dims]
    order = kept + list(dims)
    rows = x.permute(order).reshape(tuple(x.shape[d] for d in kept) + (-1,))  # reduced dims flattened last
    others = _exclusive_cumprod(rows, -1) * flip(_exclusive_cumprod(flip(rows, (-1,)), -1), (-1,))
    if not keepdim:
        g = g.reshape(_reduced_shape(x.shape, dims, True))
    g = g.permute(order).reshape(tuple(x.shape[d] for d in kept) + (1,))
    inverse = list(np.argsort(order))
    return (others * g).reshape(tuple(x.shape[d] for d in order)).permute(inverse),


_QUADRATIC_CUMPROD_GRAD = 128  # rows up to this length get the gradient that is exact at every order


@cumprod_p.defvjp
def _(ctx, g):
    x, y = ctx.saved
    dim = ctx.attrs["dim"]
    if x.shape[dim] <= _QUADRATIC_CUMPROD_GRAD:
        return _cumprod_grad_polynomial(x, g, dim),
    return _cumprod_grad_linear(x, y, g, dim),


def _cumprod_grad_polynomial(x, g, dim):
    """d/dx_i = sum_{k>=i} g_k * prod_{j<=k, j!=i} x_j, built as an (n, n) table per row. A polynomial in x,
    so its own derivatives are exact even at zeros; O(n^2) memory, hence only for short rows."""
    from .creation import arange, eye
    from .index import where
    from .shape import movedim

    n = x.shape[dim]
    rows = movedim(x, dim, -1).unsqueeze(-2)  # (..., 1, n): row i of the table leaves out x_i
    diagonal = eye(n, dtype=bool_, device=x.device)
    without_i = cumprod(where(diagonal, 1.0, rows.expand(rows.shape[:-2] + (n, n))), -1)
    index = arange(n, device=x.device)
    later = index >= index.reshape(-1, 1)  # k >= i
    terms = where(later, without_i * movedim(g, dim, -1).unsqueeze(-2), 0.0)
    return movedim(terms.sum(-1), -1, dim)


def _cumprod_grad_linear(x, y, g, dim):
    """The same gradient in O(n), split at each row's first zero z: before z, d y_k / d x_i = y_k / x_i; at z, a
    product of the prefix before z and the running product after it; after z, 0. Exact as a first derivative;
    its own derivative is exact away from zeros (the terms after z drop the zero factor's derivative)."""
    from .index import where
    from .reduce_stats import cumsum

    is_zero = x == 0
    zeros_so_far = cumsum(is_zero, dim)
    before = zeros_so_far == 0
    first = is_zero & (zeros_so_far == 1)
    safe = where(before, x, 1.0)
    grad = where(before, _reverse_cumsum(g * y, dim) / safe, 0.0)
    tail = cumprod(where((zeros_so_far >= 1) & ~first, x, 1.0), dim)
    head = cumprod(safe, dim)
    at_zero = head * _reverse_cumsum(where(zeros_so_far >= 1, g * tail, 0.0), dim)
    return grad + where(first, at_zero, 0.0)


def _prod_samples(rng):
    r = rng.standard_normal
    with_zero = r((3, 4))
    with_zero[1, 2] = 0.0
    two_zeros = r((2, 4))
    two_zeros[0, 1] = two_zeros[0, 3] = 0.0
    return [Sample(r((3, 4))), Sample(r((3, 4)), 1), Sample(r((2, 3, 4)), 0, keepdim=True),
            Sample(with_zero, 1, note="a zero"), Sample(with_zero, note="a zero, all dims"),
            Sample(two_zeros, 1, note="two zeros in a row"), Sample(r(()), note="0-d"),
            Sample(r((0, 3)), 0, note="empty")]


@op(methods=("prod",), samples=_prod_samples, torch="prod",
    ref=lambda x, dim=None, keepdim=False: np.prod(x, axis=_np_axis(dim), keepdims=keepdim))
def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Product over `dim` (all dims when None); bool and integer inputs accumulate in int64."""
    x = _accum_dtype(input, dtype)
    return bind(prod_p, x, dims=shape_rules.norm_dims("prod", dim, x.ndim), keepdim=bool(keepdim))


def _cumprod_samples(rng):
    r = rng.standard_normal
    with_zeros = r((3, 5))
    with_zeros[0, 1] = with_zeros[1, 4] = with_zeros[2, 0] = with_zeros[2, 3] = 0.0
    return [Sample(r((3, 4)), 1), Sample(r((3, 4)), 0), Sample(r((5,)), -1),
            Sample(with_zeros, 1, note="zeros: first, last, two in a row"),
            Sample(r((1, _QUADRATIC_CUMPROD_GRAD + 3)) * 0.1 + 1, 1, note="a long row: the O(n) gradient")]


@op(methods=("cumprod",), samples=_cumprod_samples, torch="cumprod", ref=lambda x, dim: np.cumprod(x, axis=dim))
def cumprod(input, dim, *, dtype=None):
    """Running product along `dim` (integer inputs accumulate in int64, as in PyTorch)."""
    x = _accum_dtype(input, dtype)
    return bind(cumprod_p, x, dim=shape_rules.norm_dim("cumprod", dim, x.ndim))
