"""softmax and log_softmax: fused, stable primitives (the max is subtracted before exponentiating)."""
import numpy as np

from . import _infer as I
from ._registry import Aval, Sample, bind, op, primitive


def _dim_infer(x, dim):
    return Aval(x.shape, x.dtype, x.device)


def _log_softmax_impl(xp, x, dim):
    shifted = x - x.max(axis=dim, keepdims=True) if x.size else x
    return shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))


def _softmax_impl(xp, x, dim):
    e = xp.exp(x - x.max(axis=dim, keepdims=True)) if x.size else x
    return e / e.sum(axis=dim, keepdims=True)


log_softmax_p = primitive("log_softmax", _dim_infer, save_outputs=(0,))(_log_softmax_impl)
softmax_p = primitive("softmax", _dim_infer, save_outputs=(0,))(_softmax_impl)


@log_softmax_p.defvjp
def _(ctx, g):
    (out,) = ctx.saved
    return g - out.exp() * g.sum(dim=ctx.attrs["dim"], keepdim=True),


@softmax_p.defvjp
def _(ctx, g):
    (out,) = ctx.saved
    return out * (g - (g * out).sum(dim=ctx.attrs["dim"], keepdim=True)),


def _samples(rng):
    return [Sample(rng.standard_normal((3, 4)), 1), Sample(rng.standard_normal((2, 3, 2)), 0),
            Sample(rng.standard_normal((4, 3)).T, -1, note="non-contiguous"), Sample(rng.standard_normal(()), 0)]


def _np_log_softmax(x, dim):
    m = np.max(x, axis=dim, keepdims=True)
    return x - m - np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True))


def _normalize(op_name, input, dim, dtype):
    if dtype is not None:
        input = input.to(dtype)
    return I.to_float(op_name, input), I.norm_dim(op_name, dim, input.ndim)


@op(methods=("log_softmax",), samples=_samples, torch="log_softmax", ref=_np_log_softmax)
def log_softmax(input, dim, dtype=None):
    """log(softmax(input)) computed stably along `dim`."""
    x, d = _normalize("log_softmax", input, dim, dtype)
    return bind(log_softmax_p, x, dim=d)


@op(methods=("softmax",), samples=_samples, torch="softmax", ref=lambda x, dim: np.exp(_np_log_softmax(x, dim)))
def softmax(input, dim, dtype=None):
    """exp(input) / sum(exp(input)) along `dim`, computed stably."""
    x, d = _normalize("softmax", input, dim, dtype)
    return bind(softmax_p, x, dim=d)
