"""batch_norm and instance_norm: the `normalize` primitive of normalization.py over (N, ...) or the spatial dims,
plus running statistics. Training updates them in place (outside autograd: they are buffers), through the
`running_update` primitive applied with apply_inplace so the update is one recorded effect. Evaluation (and
instance_norm with use_input_stats=False) is not a normalization over the batch but a per-channel affine map by
constants, the `normalize_by_stats` primitive: two passes over x; its vjp is in eagerlab ops.
"""
import math

import numpy as np

from ..autograd.grad_mode import no_grad
from ..backend.low_precision import in_float32
from ..errors import ShapeError, fmt_shape
from ._registry import Aval, Sample, apply_inplace, bind, op, primitive
from .normalization import _channels, _normalize, _np_affine, _params, _split, _wide


def _check_stats(op_name, x, running_mean, running_var):
    c = x.shape[1]
    for name, s in (("running_mean", running_mean), ("running_var", running_var)):
        if s is not None and tuple(s.shape) != (c,):
            raise ShapeError(f"{op_name}: {name} should have one entry per channel, shape ({c},) for input "
                             f"{fmt_shape(x.shape)}, got {fmt_shape(s.shape)}")


# ---- running statistics -------------------------------------------------------------------------------------------
def _running_update_impl(xp, r, stat, *, momentum, factor):
    """(1 - momentum) * r + momentum * factor * stat, stat averaged over the batch when it has one per sample."""
    new = stat.reshape(-1, r.shape[0]).mean(axis=0)
    return (r * (1 - momentum) + new * (momentum * factor)).astype(r.dtype, copy=False)


# running stats are buffers, never differentiated: no vjp
running_update_p = primitive("running_update", lambda r, s, **attrs: Aval(r.shape, r.dtype, r.device))(
    _running_update_impl)


def _update_running(running_mean, running_var, mean, var, momentum, n):
    """In place, as PyTorch: the running variance takes the unbiased estimate (n values per statistic)."""
    with no_grad():
        if running_mean is not None:
            apply_inplace(running_update_p, running_mean, mean, momentum=momentum, factor=1.0)
        if running_var is not None:
            apply_inplace(running_update_p, running_var, var, momentum=momentum, factor=n / (n - 1))


def _momentum(op_name, momentum):
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)):
        raise TypeError(f"{op_name}: momentum must be a number, got {momentum!r}")
    return float(momentum)


# ---- evaluation: a per-channel affine map by the running statistics -----------------------------------------------
def _channel_shape(x):
    return (1, x.shape[1]) + (1,) * (len(x.shape) - 2)


def _by_stats_impl(xp, x, mean, var, *params, eps, affine):
    """x * scale + shift per channel (dim 1): scale = weight / sqrt(var + eps), shift = bias - mean * scale."""
    w, b = _split(params, affine)
    scale = 1 / xp.sqrt(var + eps)
    if w is not None:
        scale *= w
    shift = -mean * scale
    if b is not None:
        shift += b
    shape = _channel_shape(x)
    y = x * _wide(xp, scale.reshape(shape), x.shape)
    y += _wide(xp, shift.reshape(shape), x.shape)
    return y


by_stats_p = primitive("normalize_by_stats", lambda x, *a, **attrs: Aval(x.shape, x.dtype, x.device),
                       save_inputs=(0, 1, 2, 3))(in_float32(_by_stats_impl))


@by_stats_p.defvjp
def _(ctx, g):
    x, mean, var, *params = ctx.saved
    w, _ = _split(params, ctx.attrs["affine"])
    shape, axes = _channel_shape(x), (0,) + tuple(range(2, x.ndim))
    rstd = (var + ctx.attrs["eps"]).rsqrt()
    grads = [g * (rstd if w is None else rstd * w).reshape(shape) if ctx.needs[0] else None, None, None]
    if w is not None:
        grads.append((g * (x - mean.reshape(shape))).sum(axes) * rstd if ctx.needs[3] else None)
    if ctx.attrs["affine"][1]:
        grads.append(g.sum(axes) if ctx.needs[-1] else None)
    return tuple(grads)


def _normalize_by_stats(x, running_mean, running_var, params, affine, eps):
    """The running statistics are constants here (as in PyTorch, no gradient reaches them)."""
    mean, var = (s.detach() if s.dtype is x.dtype else s.detach().to(x.dtype) for s in (running_mean, running_var))
    return bind(by_stats_p, x, mean, var, *params, eps=float(eps), affine=affine)


# ---- samples and numpy references ---------------------------------------------------------------------------------
def _stats(rng, c):
    return dict(running_mean=rng.standard_normal(c), running_var=rng.uniform(0.5, 2.0, c))


def _batch_norm_samples(rng):
    # running stats go as keywords: gradcheck differentiates positional tensors only, and they are constants
    r = rng.standard_normal
    return [Sample(r((4, 3)), weight=r(3), bias=r(3), training=True, **_stats(rng, 3)),
            Sample(r((4, 3)), None, None, r(3), r(3), True, note="training without running stats"),
            Sample(r((2, 3, 4)), weight=r(3), bias=r(3), **_stats(rng, 3), note="evaluation"),
            Sample(r((2, 3, 2, 2)), weight=r(3), training=True, momentum=0.3, eps=1e-3, **_stats(rng, 3)),
            Sample(r((2, 3, 3)), bias=r(3), training=True, momentum=0.0, **_stats(rng, 3), note="bias only"),
            Sample(r((5, 2)), **_stats(rng, 2), note="evaluation, no affine"),
            Sample(r((3, 4)).T, None, None, training=True, note="non-contiguous")]


def _instance_norm_samples(rng):
    r = rng.standard_normal
    return [Sample(r((2, 3, 4))), Sample(r((2, 3, 2, 2)), weight=r(3), bias=r(3), momentum=0.2, **_stats(rng, 3)),
            Sample(r((2, 3, 4)), weight=r(3), use_input_stats=False, **_stats(rng, 3), note="running stats")]


def _np_batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    shape = (-1,) + (1,) * (x.ndim - 2)
    axes = (0,) + tuple(range(2, x.ndim))
    if training:
        mu, var = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
    else:
        mu, var = running_mean.reshape(shape), running_var.reshape(shape)
    return _np_affine((x - mu) / np.sqrt(var + eps), weight, bias, shape)


def _np_instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                      momentum=0.1, eps=1e-5):
    if not use_input_stats:
        return _np_batch_norm(x, running_mean, running_var, weight, bias, False, eps=eps)
    return np.stack([_np_batch_norm(s[None], None, None, weight, bias, True, eps=eps)[0] for s in x])


# ---- public ops ---------------------------------------------------------------------------------------------------
@op(samples=_batch_norm_samples, ref=_np_batch_norm,
    torch=lambda torch, *a, **kw: torch.nn.functional.batch_norm(*a, **kw))
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Per-channel (dim 1) normalization of (N, C, ...) inputs. Training: batch statistics, and the running
    statistics (when given) are updated in place; evaluation: the running statistics."""
    c = _channels("batch_norm", input)
    _check_stats("batch_norm", input, running_mean, running_var)
    params, affine = _params("batch_norm", input, weight, bias, (c,), "the number of channels")
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var must be given in evaluation mode "
                             "(training=False)")
        return _normalize_by_stats(input, running_mean, running_var, params, affine, eps)
    momentum = _momentum("batch_norm", momentum)
    axes = (0,) + tuple(range(2, input.ndim))
    n = math.prod(input.shape[a] for a in axes)
    if n == 1:
        raise ShapeError(f"batch_norm: Expected more than 1 value per channel when training, got input size "
                         f"{fmt_shape(input.shape)}")
    y, mean, var = _normalize(input, params, affine, axes, (c,) + (1,) * (input.ndim - 2), (c,), eps)
    if n:
        _update_running(running_mean, running_var, mean, var, momentum, n)
    return y


@op(samples=_instance_norm_samples, ref=_np_instance_norm,
    torch=lambda torch, *a, **kw: torch.nn.functional.instance_norm(*a, **kw))
def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Per-sample, per-channel normalization over the spatial dims of (N, C, ...) inputs; the running statistics
    (when given) are updated with the batch average of the per-instance ones, or used instead when
    use_input_stats=False."""
    c = _channels("instance_norm", input)
    _check_stats("instance_norm", input, running_mean, running_var)
    params, affine = _params("instance_norm", input, weight, bias, (c,), "the number of channels")
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: running_mean and running_var must be given when use_input_stats=False")
        return _normalize_by_stats(input, running_mean, running_var, params, affine, eps)
    momentum = _momentum("instance_norm", momentum)
    axes = tuple(range(2, input.ndim))
    n = math.prod(input.shape[a] for a in axes)
    if n == 1:
        raise ShapeError(f"instance_norm: Expected more than 1 spatial element when training, got input size "
                         f"{fmt_shape(input.shape)}")
    y, mean, var = _normalize(input, params, affine, axes, (c,) + (1,) * (input.ndim - 2), (c,), eps)
    if input.shape[0] and c:
        _update_running(running_mean, running_var, mean, var, momentum, n)
    return y
