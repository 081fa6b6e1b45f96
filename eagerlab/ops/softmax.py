"""softmax and log_softmax: fused, stable primitives (the max is subtracted before exponentiating)."""
import warnings

import numpy as np

from ..backend.low_precision import in_float32
from . import _shape_rules as shape_rules
from ._registry import Sample, bind, op, primitive


_softmax_infer = shape_rules.same_along_dim("softmax")


def _log_softmax_impl(xp, x, dim):
    if not x.size:
        return x.copy()
    if not x.ndim:  # numpy turns 0-d results into scalars, which the in-place steps below cannot write to
        return _log_softmax_impl(xp, x.reshape(1), 0).reshape(())
    shifted = x - x.max(axis=dim, keepdims=True)
    shifted -= xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
    return shifted


_ROW_SUM_FLOOR = 2.0 ** -20


def _sums(xp, e, dim):
    """Sums along `dim`, kept; along the last dim through einsum (numpy's reduction over many short rows costs
    ~4x as much: 85 against 20 us on attention's (12, 4, 64, 64) scores)."""
    if dim == e.ndim - 1:
        return xp.einsum("...i->...", e)[..., None]
    return e.sum(axis=dim, keepdims=True)


def _softmax_impl(xp, x, dim):
    if not x.size:
        return x.copy()
    if not x.ndim:
        return _softmax_impl(xp, x.reshape(1), 0).reshape(())
    # Shifted by the largest element of the whole array, one fast reduction, rather than by each row's maximum
    # (numpy's max over short rows: 185 against 10 us on attention's scores). Every row whose exponentials still
    # sum to 2^-20 or more loses nothing that float32 keeps (only entries below ~1e-32 of their row's total can
    # round differently); a row far below the others, all -inf, or inf/nan anywhere takes the per-row shift.
    e = x - x.max()
    xp.exp(e, out=e)
    s = _sums(xp, e, dim)
    if not s.min() >= _ROW_SUM_FLOOR:
        e = x - x.max(axis=dim, keepdims=True)
        xp.exp(e, out=e)
        s = _sums(xp, e, dim)
    e /= s
    return e


def _softmax_backward_impl(xp, g, out, dim):
    """out * (g - sum(g * out)) along dim: one einsum for the sum, the rest in place."""
    if dim == out.ndim - 1 and out.size:
        dot = xp.einsum("...i,...i->...", g, out)[..., None]
    else:
        dot = (g * out).sum(axis=dim, keepdims=True)
    r = g - dot
    r *= out
    return r


log_softmax_p = primitive("log_softmax", _softmax_infer, save_outputs=(0,))(in_float32(_log_softmax_impl))
softmax_p = primitive("softmax", _softmax_infer, save_outputs=(0,))(in_float32(_softmax_impl))
softmax_backward_p = primitive("softmax_backward", lambda g, out, dim: g, save_inputs=(0, 1))(
    in_float32(_softmax_backward_impl))


@log_softmax_p.defvjp
def _(ctx, g):
    (out,) = ctx.saved
    return g - out.exp() * g.sum(dim=ctx.attrs["dim"], keepdim=True),


@softmax_p.defvjp
def _(ctx, g):
    (out,) = ctx.saved
    return bind(softmax_backward_p, g, out, dim=ctx.attrs["dim"]),


@softmax_backward_p.defvjp
def _(ctx, a):
    """r = out (g - <g, out>) is linear in g (the same map applied to a) and, through out, in the softmax's
    output: dr/dout applied to a is a (g - <g, out>) - g <a, out>."""
    g, out = ctx.saved
    dim = ctx.attrs["dim"]
    ga = bind(softmax_backward_p, a, out, dim=dim) if ctx.needs[0] else None
    gout = a * (g - (g * out).sum(dim=dim, keepdim=True)) - g * (a * out).sum(dim=dim, keepdim=True) \
        if ctx.needs[1] else None
    return ga, gout


def _samples(rng):
    r = rng.standard_normal
    return [Sample(r((3, 4)), 1), Sample(r((2, 3, 2)), 0), Sample(r((4, 3)).T, -1, note="non-contiguous"),
            Sample(r(()), 0, note="0-d"), Sample(r((0, 3)), 1, note="empty"),
            Sample(r((2, 3)) * 300, 1, note="large logits stay finite")]


def _np_log_softmax(x, dim, dtype=None):
    m = np.max(x, axis=dim, keepdims=True) if x.size else 0
    return x - m - np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True))


def _normalize(op_name, input, dim, dtype):
    if dtype is not None:
        input = input.to(dtype)
    if dim is None:  # PyTorch's legacy implicit dim
        dim = 0 if input.ndim in (0, 1, 3) else 1
        warnings.warn(f"{op_name}: implicit dimension choice has been deprecated; pass dim= (using dim={dim} for "
                      f"shape {tuple(input.shape)})", UserWarning, stacklevel=3)
    x = input if input.dtype.is_floating_point else shape_rules.to_float(op_name, input)
    n = x._data.ndim
    if type(dim) is int and -n <= dim < n:  # the common case, without the general dim normalizer
        return x, dim % n
    return x, shape_rules.norm_dim(op_name, dim, n)


@op(methods=("log_softmax",), samples=_samples, torch="log_softmax", ref=_np_log_softmax)
def log_softmax(input, dim=None, dtype=None):
    """log(softmax(input)) computed stably along `dim`; `dtype` casts the input first."""
    x, d = _normalize("log_softmax", input, dim, dtype)
    return bind(log_softmax_p, x, dim=d)


@op(methods=("softmax",), samples=_samples, torch="softmax",
    ref=lambda x, dim, dtype=None: np.exp(_np_log_softmax(x, dim)))
def softmax(input, dim=None, dtype=None):
    """exp(input) / sum(exp(input)) along `dim`, computed stably; `dtype` casts the input first."""
    x, d = _normalize("softmax", input, dim, dtype)
    return bind(softmax_p, x, dim=d)
