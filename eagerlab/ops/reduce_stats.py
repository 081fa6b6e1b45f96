"""More reductions: max/min (values and indices), amax/amin, all/any, var/std, logsumexp, prod."""
import numpy as np

from .._tensor import Tensor
from ..backend.dtypes import bool_
from ..errors import ShapeError, UnsupportedError, fmt_shape
from . import _shape_rules as shape_rules
from ._registry import Aval, Sample, bind, op, primitive
from ._return_types import values_indices
from .reduce import _np_axis, _reduce_samples, _reduced_shape, sum_p


def _amax_infer(x, dims, keepdim):
    return Aval(_reduced_shape(x.shape, dims, keepdim), x.dtype, x.device)


amax_p = primitive("amax", _amax_infer, save_inputs=(0,), save_outputs=(0,))(
    lambda xp, x, dims, keepdim: xp.max(x, axis=dims, keepdims=keepdim))
amin_p = primitive("amin", _amax_infer, save_inputs=(0,), save_outputs=(0,))(
    lambda xp, x, dims, keepdim: xp.min(x, axis=dims, keepdims=keepdim))


def _extremum_vjp(ctx, g):
    """The gradient is shared evenly among the elements equal to the extremum (PyTorch's amax rule)."""
    x, out = ctx.saved
    dims, keepdim = ctx.attrs["dims"], ctx.attrs["keepdim"]
    if not keepdim:
        shape = _reduced_shape(x.shape, dims, True)
        out, g = out.reshape(shape), g.reshape(shape)
    mask = (x == out).to(g.dtype)
    return g * mask / bind(sum_p, mask, dims=dims, keepdim=True),


amax_p.defvjp(_extremum_vjp)
amin_p.defvjp(_extremum_vjp)


def _nonempty(op_name, x, dims):
    if any(x.shape[d] == 0 for d in dims) or (not dims and x.numel() == 0):
        raise ShapeError(f"{op_name}: cannot reduce over an empty dimension (input shape {fmt_shape(x.shape)}); "
                         "specify a non-empty dim")


def _distinct_samples(rng):
    def draw(shape):
        return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.5 + rng.random(shape) * 0.1

    return [Sample(draw((3, 4))), Sample(draw((3, 4)), dim=1), Sample(draw((2, 3, 4)), dim=(0, 2), keepdim=True),
            Sample(draw(())), Sample(draw((4, 3)).T, dim=0)]


@op(methods=("amax",), samples=_distinct_samples, torch="amax",
    ref=lambda x, dim=(), keepdim=False: np.max(x, axis=_np_axis(dim) if dim != () else None, keepdims=keepdim))
def amax(input, dim=(), keepdim=False):
    """Maximum over `dim` (all dims for the default ())."""
    dims = shape_rules.norm_dims("amax", dim if dim != () else None, input.ndim)
    _nonempty("amax", input, dims)
    return bind(amax_p, input, dims=dims, keepdim=bool(keepdim))


@op(methods=("amin",), samples=_distinct_samples, torch="amin",
    ref=lambda x, dim=(), keepdim=False: np.min(x, axis=_np_axis(dim) if dim != () else None, keepdims=keepdim))
def amin(input, dim=(), keepdim=False):
    """Minimum over `dim` (all dims for the default ())."""
    dims = shape_rules.norm_dims("amin", dim if dim != () else None, input.ndim)
    _nonempty("amin", input, dims)
    return bind(amin_p, input, dims=dims, keepdim=bool(keepdim))


def _max_samples(rng):
    return [s for s in _distinct_samples(rng) if not isinstance(s.kwargs.get("dim"), tuple)]


def _extremum(op_name, reduce_fn, arg_fn, input, dim, keepdim):
    if isinstance(dim, Tensor):
        raise UnsupportedError(f"{op_name}(input, other): the elementwise form is not supported yet")
    if dim is None:
        return reduce_fn(input)
    return values_indices(reduce_fn(input, dim, keepdim), arg_fn(input, dim, keepdim))


def _np_max(x, dim=None, keepdim=False):
    if dim is None:
        return np.max(x)
    return np.max(x, axis=dim, keepdims=keepdim), np.argmax(x, axis=dim, keepdims=keepdim)


def _np_min(x, dim=None, keepdim=False):
    if dim is None:
        return np.min(x)
    return np.min(x, axis=dim, keepdims=keepdim), np.argmin(x, axis=dim, keepdims=keepdim)


@op("max", methods=("max",), samples=_max_samples, torch="max", ref=_np_max)
def max_(input, dim=None, keepdim=False, *, axis=None, out=None):
    """The largest value; with `dim`, (values, indices) along it."""
    from .reduce import argmax

    return _extremum("max", amax, argmax, input, axis if axis is not None else dim, keepdim)


@op("min", methods=("min",), samples=_max_samples, torch="min", ref=_np_min)
def min_(input, dim=None, keepdim=False, *, axis=None, out=None):
    """The smallest value; with `dim`, (values, indices) along it."""
    from .reduce import argmin

    return _extremum("min", amin, argmin, input, axis if axis is not None else dim, keepdim)


# ---- all / any -----------------------------------------------------------------------------------------------
def _bool_infer(x, dims, keepdim):
    return Aval(_reduced_shape(x.shape, dims, keepdim), bool_, x.device)


all_p = primitive("all", _bool_infer)(lambda xp, x, dims, keepdim: xp.all(x, axis=dims, keepdims=keepdim))
any_p = primitive("any", _bool_infer)(lambda xp, x, dims, keepdim: xp.any(x, axis=dims, keepdims=keepdim))


def _bool_samples(rng):
    return [Sample(rng.random((3, 4)) > 0.3, grad=False), Sample(rng.random((3, 4)) > 0.5, dim=1, grad=False),
            Sample(rng.standard_normal((2, 3)), dim=0, keepdim=True, grad=False)]


@op("all", methods=("all",), samples=_bool_samples, torch="all", grad=False,
    ref=lambda x, dim=None, keepdim=False: np.all(x, axis=dim, keepdims=keepdim))
def all_(input, dim=None, keepdim=False):
    """True where every element (along `dim`) is nonzero."""
    return bind(all_p, input, dims=shape_rules.norm_dims("all", dim, input.ndim), keepdim=bool(keepdim))


@op("any", methods=("any",), samples=_bool_samples, torch="any", grad=False,
    ref=lambda x, dim=None, keepdim=False: np.any(x, axis=dim, keepdims=keepdim))
def any_(input, dim=None, keepdim=False):
    """True where some element (along `dim`) is nonzero."""
    return bind(any_p, input, dims=shape_rules.norm_dims("any", dim, input.ndim), keepdim=bool(keepdim))


# ---- var / std / logsumexp (composites) -------------------------------------------------------------------------
def _var_samples(rng):
    return [s for s in _reduce_samples(rng) if np.size(s.args[0]) > 1]  # one element: 0/0, as in PyTorch


@op(methods=("var",), samples=_var_samples, torch="var", atol=1e-6,
    ref=lambda x, dim=None, keepdim=False, correction=1: np.var(x, axis=_np_axis(dim), keepdims=keepdim,
                                                                ddof=correction))
def var(input, dim=None, keepdim=False, *, correction=1, unbiased=None):
    """Variance over `dim` with Bessel's `correction` (1 by default, as in PyTorch)."""
    from .reduce import mean

    if unbiased is not None:
        correction = int(unbiased)
    dims = shape_rules.norm_dims("var", dim, input.ndim)
    n = 1
    for d in dims:
        n *= input.shape[d]
    centered = input - mean(input, dims, keepdim=True)
    return bind(sum_p, centered * centered, dims=dims, keepdim=bool(keepdim)) / max(n - correction, 0)


@op(methods=("std",), samples=_var_samples, torch="std",
    ref=lambda x, dim=None, keepdim=False, correction=1: np.std(x, axis=_np_axis(dim), keepdims=keepdim,
                                                                ddof=correction))
def std(input, dim=None, keepdim=False, *, correction=1, unbiased=None):
    """Standard deviation: sqrt(var)."""
    from .elementwise import sqrt

    return sqrt(var(input, dim, keepdim, correction=correction, unbiased=unbiased))


def _np_logsumexp(x, dim, keepdim=False):
    m = np.max(x, axis=dim, keepdims=True, initial=-np.inf)
    m = np.where(np.isinf(m), 0.0, m)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True)) + m
    return out if keepdim else np.squeeze(out, axis=dim)


def _lse_samples(rng):
    return [Sample(rng.standard_normal((3, 4)), 1), Sample(rng.standard_normal((2, 3, 4)), (0, 2), keepdim=True),
            Sample(rng.standard_normal((3, 4)) * 50, 0, note="large values stay finite"),
            Sample(np.zeros((0, 3)), 0, note="empty sum: -inf")]


@op(methods=("logsumexp",), samples=_lse_samples, torch="logsumexp", ref=_np_logsumexp)
def logsumexp(input, dim, keepdim=False):
    """log(sum(exp(input))) along `dim`, computed stably (the max is factored out)."""
    from .elementwise import exp, log

    from .creation import zeros
    from .elementwise import isinf
    from .index import where

    dims = shape_rules.norm_dims("logsumexp", dim, input.ndim)
    x = shape_rules.to_float("logsumexp", input)
    if any(x.shape[d] == 0 for d in dims):  # an empty sum: log(0) = -inf, as in PyTorch
        m = zeros(_reduced_shape(x.shape, dims, True), dtype=x.dtype, device=x.device)
    else:
        # an infinite max is not factored out (a row of -inf, a fully masked attention row, gives -inf, not nan)
        m = amax(x, dims, keepdim=True).detach()
        m = where(isinf(m), 0.0, m)
    out = log(bind(sum_p, exp(x - m), dims=dims, keepdim=True)) + m
    return out if keepdim else out.reshape(_reduced_shape(x.shape, dims, False))


# ---- running sums ------------------------------------------------------------------------------------------------
cumsum_p = primitive("cumsum", shape_rules.same_along_dim("cumsum"))(
    lambda xp, x, dim: xp.cumsum(x, axis=dim, dtype=x.dtype))


@cumsum_p.defvjp
def _(ctx, g):
    from .join import flip

    dim = ctx.attrs["dim"]
    return flip(cumsum(flip(g, (dim,)), dim), (dim,)),  # each input feeds every later output


def _cumsum_samples(rng):
    return [Sample(rng.standard_normal((3, 4)), 1), Sample(rng.standard_normal((3, 4)), 0),
            Sample(rng.standard_normal((5,)), -1)]


@op(methods=("cumsum",), samples=_cumsum_samples, torch="cumsum", ref=lambda x, dim: np.cumsum(x, axis=dim))
def cumsum(input, dim, *, dtype=None):
    """Running sum along `dim` (integer inputs accumulate in int64, as in PyTorch)."""
    from .reduce import _accum_dtype

    x = _accum_dtype(input, dtype)
    return bind(cumsum_p, x, dim=shape_rules.norm_dim("cumsum", dim, x.ndim))
