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


def _softmax_impl(xp, x, dim):
    if not x.size:
        return x.copy()
    if not x.ndim:
        return _softmax_impl(xp, x.reshape(1), 0).reshape(())
    e = x - x.max(axis=dim, keepdims=True)
    xp.exp(e, out=e)
    e /= e.sum(axis=dim, keepdims=True)
    return e


log_softmax_p = primitive("log_softmax", _softmax_infer, save_outputs=(0,))(in_float32(_log_softmax_impl))
softmax_p = primitive("softmax", _softmax_infer, save_outputs=(0,))(in_float32(_softmax_impl))


@log_softmax_p.defvjp
def _(ctx, g):
    (out,) = ctx.saved
    return g - out.exp() * g.sum(dim=ctx.attrs["dim"], keepdim=True),


@softmax_p.defvjp
def _(ctx, g):
    (out,) = ctx.saved
    return out * (g - (g * out).sum(dim=ctx.attrs["dim"], keepdim=True)),


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
