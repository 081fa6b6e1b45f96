"""Normalization: layer_norm, group_norm, batch_norm, instance_norm.

All four normalize over some axes and then apply a per-channel (or per-element) affine, so they share one fused
primitive, `normalize`: one pass for the moments, one for the output; the mean and biased variance come out as
extra non-differentiable outputs, kept for backward and for the running-stat update. Its gradient is the
`normalize_backward` primitive (dx, dweight and dbias together, in closed form), whose own vjp is written in
eagerlab ops, so higher-order gradients work.

Attributes shared by both primitives: `axes` (the normalized axes of x), `wshape` (the weight's shape as it
broadcasts against x), `pshape` (the weight's own shape), `affine` (whether weight and bias are given), `eps`.
batch_norm and instance_norm (running statistics) are in batch_norm.py.
"""
import functools
import math
import operator

import numpy as np

from ..backend.dtypes import FLOAT
from ..backend.low_precision import in_float32
from ..errors import DTypeError, ShapeError, fmt_shape
from ._registry import Aval, Sample, bind, op, primitive


def _broadcast_axes(ndim, wshape):
    """The axes of x along which a parameter of (right-aligned) shape wshape is broadcast."""
    lead = ndim - len(wshape)
    return tuple(i for i in range(ndim) if i < lead or wshape[i - lead] == 1)


def _count(shape, axes):
    """The size of a normalized group (at least 1: the statistics of an empty input are 0, never used)."""
    return max(math.prod(shape[a] for a in axes), 1)


@functools.lru_cache(maxsize=1024)
def _wide_shape(a_shape, shape):
    """The shape to materialize an operand of a_shape at before a full-size op against `shape`: its trailing size-1
    dims filled in, when the copy is at most one sample's size (it does not vary along dim 0); None to leave it.
    numpy's broadcasting loops then run over whole rows instead of short ones: 1.5x faster for per-channel
    constants against (N, C, H, W) inputs."""
    k = max((i for i, n in enumerate(a_shape) if n != 1), default=-1)
    if k <= 0 or k == len(shape) - 1 or a_shape[0] != 1:
        return None
    return a_shape[:k + 1] + tuple(shape[k + 1:])


def _wide(xp, a, shape):
    target = _wide_shape(a.shape, shape)
    return a if target is None else xp.ascontiguousarray(xp.broadcast_to(a, target))


class _Plan:
    """What a normalization's kernels need that depends only on shapes and axes, computed once per signature:
    einsum specs for sums over the normalized axes (`axes`) and over the weight's broadcast axes (`waxes`)."""

    def __init__(self, shape, axes, wshape):
        ndim = len(shape)
        letters = "abcdefghijklmnopqrstuvwxyz"[:ndim]
        self.waxes = _broadcast_axes(ndim, wshape)
        self.stat = tuple(1 if i in axes else n for i, n in enumerate(shape))
        self.param = (1,) * (ndim - len(wshape)) + tuple(wshape)  # the weight at x's rank
        keep = "".join(c for i, c in enumerate(letters) if i not in axes)
        wkeep = "".join(c for i, c in enumerate(letters) if i not in self.waxes)
        self.sum, self.dot = f"{letters}->{keep}", f"{letters},{letters}->{keep}"
        self.wsum, self.wdot = f"{letters}->{wkeep}", f"{letters},{letters}->{wkeep}"
        self.inv_n = 1 / _count(shape, axes)
        self.const = set(axes) <= set(self.waxes)  # the weight is constant over each group (batch, instance norm)
        self.batch = self.waxes == tuple(axes)  # batch norm: the weight's sums are the group's


_plan = functools.lru_cache(maxsize=256)(_Plan)


def _total(xp, spec, shape, a, b=None):
    """sum(a * b) (or sum(a)) by an einsum spec, reshaped to `shape`: one einsum makes no temporary for the product
    and is several times faster than ndarray.sum over several or non-trailing axes (float32 error measured as
    small as ndarray.sum's)."""
    return (xp.einsum(spec, a) if b is None else xp.einsum(spec, a, b)).reshape(shape)


# ---- the fused primitive ------------------------------------------------------------------------------------------
def _normalize_infer(x, *params, axes, eps, wshape, pshape, affine):
    stat = Aval(tuple(1 if i in axes else s for i, s in enumerate(x.shape)), x.dtype, x.device)
    return Aval(x.shape, x.dtype, x.device), stat, stat


def _normalize_impl(xp, x, *params, axes, eps, wshape, pshape, affine):
    """(y, mean, biased variance): y = (x - mean) / sqrt(var + eps) * weight + bias, moments over `axes`."""
    p = _plan(x.shape, axes, wshape)
    mean = _total(xp, p.sum, p.stat, x) * p.inv_n
    y = x - _wide(xp, mean, x.shape)
    var = _total(xp, p.dot, p.stat, y, y) * p.inv_n  # two passes: no cancellation when the mean is large
    scale = 1 / xp.sqrt(var + eps)
    w = params[0].reshape(p.param) if affine[0] else None
    if w is not None and p.const:  # weight and rstd are both per statistic: one pass applies both
        scale, w = scale * w, None
    y *= _wide(xp, scale, x.shape)
    if w is not None:
        y *= _wide(xp, w, x.shape)
    if affine[1]:
        y += _wide(xp, params[-1].reshape(p.param), x.shape)
    return y, mean, var


def _normalize_backward_infer(g, x, mean, var, *w, axes, eps, wshape, pshape, affine):
    p = Aval(pshape, x.dtype, x.device)
    return Aval(x.shape, x.dtype, x.device), p, p


def _normalize_backward_impl(xp, g, x, mean, var, *w, axes, eps, wshape, pshape, affine):
    """(dx, dweight, dbias). With h = g * weight, xhat the normalized input, n the size of a normalized group and
    sums over it: dx = rstd * (h - sum(h) / n - xhat * sum(h * xhat) / n); dweight and dbias sum g * xhat and g
    over the weight's broadcast axes (zeros for an absent weight or bias). Two full-size arrays are
    allocated (xhat and dx), the rest is in place: fresh memory is what costs most at these sizes."""
    p = _plan(x.shape, axes, wshape)
    rstd = 1 / xp.sqrt(var + eps)
    xhat = x - _wide(xp, mean, x.shape)
    xhat *= _wide(xp, rstd, x.shape)
    wb = w[0].reshape(p.param) if w else None
    if wb is None or p.const:  # the weight factors out of the group sums, into the per-group scale
        scale = rstd if wb is None else rstd * wb
        h, dx = g, g * _wide(xp, scale, x.shape)
    else:
        scale, h, dx = rstd, g * _wide(xp, wb, x.shape), None
    sum_h, sum_hx = _total(xp, p.sum, p.stat, h), _total(xp, p.dot, p.stat, h, xhat)
    if p.batch:  # h is g
        dw, db = sum_hx.reshape(pshape), sum_h.reshape(pshape)
    else:  # (a sum for an absent weight or bias would be dropped: zeros, no pass over g)
        dw = _total(xp, p.wdot, pshape, g, xhat) if affine[0] else xp.zeros(pshape, g.dtype)
        db = _total(xp, p.wsum, pshape, g) if affine[1] else xp.zeros(pshape, g.dtype)
    if dx is None:  # h is a temporary: scaled in place, after its sums
        dx = h
        dx *= _wide(xp, rstd, x.shape)
    xhat *= _wide(xp, scale * sum_hx * p.inv_n, x.shape)
    dx -= xhat
    dx -= _wide(xp, scale * sum_h * p.inv_n, x.shape)
    return dx, dw, db


normalize_p = primitive("normalize", _normalize_infer, save_inputs=(0, 1), save_outputs=(1, 2), n_out=3,
                        nondiff_outputs=(1, 2))(in_float32(_normalize_impl))
normalize_backward_p = primitive("normalize_backward", _normalize_backward_infer, save_inputs=(0, 1, 4),
                                 n_out=3)(in_float32(_normalize_backward_impl))


@normalize_p.defvjp
def _(ctx, g, _mean, _var):
    x, *params, mean, var = ctx.saved
    has_w, has_b = ctx.attrs["affine"]
    w = params[:1] if has_w else ()
    dx, dw, db = bind(normalize_backward_p, g, x, mean, var, *w, **ctx.attrs)
    grads = [dx if ctx.needs[0] else None]
    if has_w:
        grads.append(dw if ctx.needs[1] else None)
    if has_b:
        grads.append(db if ctx.needs[-1] else None)
    return tuple(grads)


@normalize_backward_p.defvjp
def _(ctx, a, bw, cb):
    """The adjoint of (g, x, weight) -> (dx, dweight, dbias), in eagerlab ops. With P(v) = v - mean(v) -
    xhat * mean(v * xhat) over a normalized group (symmetric), r = rstd, M the group size, h = g * weight:
    dx = r P(h), so <a, dx> = r <h, P(a)>; differentiating r and xhat through x gives the x term below."""
    from .reduce import sum_to

    g, x, *w = ctx.saved
    axes, wshape, pshape = ctx.attrs["axes"], ctx.attrs["wshape"], ctx.attrs["pshape"]
    wb = w[0].reshape(wshape) if w else None
    # the moments again, differentiably (mean and var are saved as constants)
    xc = x - x.mean(axes, keepdim=True)
    r = ((xc * xc).mean(axes, keepdim=True) + ctx.attrs["eps"]).rsqrt()
    xh = xc * r
    m = _count(x.shape, axes)

    def proj(v):
        return v - v.mean(axes, keepdim=True) - xh * (v * xh).mean(axes, keepdim=True)

    def total(v):
        return v.sum(axes, keepdim=True)

    h = g if wb is None else g * wb
    q = r * proj(a) if a is not None else None  # d<a, dx>/dh
    gg = gx = gw = None
    if ctx.needs[0]:
        terms = [] if q is None else [q if wb is None else q * wb]
        if bw is not None:
            terms.append(bw.reshape(wshape) * xh)
        if cb is not None:
            terms.append(cb.reshape(wshape))
        gg = functools.reduce(operator.add, terms) if terms else None
        if gg is not None and tuple(gg.shape) != tuple(g.shape):
            gg = gg.expand(*g.shape)
    if ctx.needs[1]:
        parts = []
        if bw is not None:
            parts.append(r * proj(g * bw.reshape(wshape)))
        if a is not None:
            parts.append(-(r / m) * (total(h * q) * xh + r * proj(total(a * xh) * h + total(h * xh) * a)))
        gx = functools.reduce(operator.add, parts) if parts else None
    if w and ctx.needs[4] and q is not None:
        gw = sum_to(g * q, wshape).reshape(pshape)
    return gg, gx, None, None, gw


def _normalize(x, params, affine, axes, wshape, pshape, eps):
    return bind(normalize_p, x, *params, axes=axes, eps=float(eps), wshape=wshape, pshape=pshape, affine=affine)


# ---- argument checks ----------------------------------------------------------------------------------------------
def _check_float(op_name, x):
    if x.dtype.category != FLOAT:
        raise DTypeError(f"{op_name}: expected a floating-point input, got {x.dtype.name} input {fmt_shape(x.shape)}")


def _channels(op_name, x):
    _check_float(op_name, x)
    if x.ndim < 2:
        raise ShapeError(f"{op_name}: expected an input (N, C, ...) with at least 2 dims, got {fmt_shape(x.shape)}")
    return x.shape[1]


def _params(op_name, x, weight, bias, pshape, what):
    """The affine inputs that are given, in x's dtype, and (has_weight, has_bias); shapes checked against pshape."""
    out = []
    for name, p in (("weight", weight), ("bias", bias)):
        if p is None:
            continue
        if tuple(p.shape) != pshape:
            raise ShapeError(f"{op_name}: {name} of shape {fmt_shape(p.shape)} does not match {what} "
                             f"(expected {fmt_shape(pshape)}, input {fmt_shape(x.shape)})")
        out.append(p if p.dtype is x.dtype else p.to(x.dtype))
    return out, (weight is not None, bias is not None)


def _split(params, affine):
    """(weight or None, bias or None) from the list _params returned."""
    return (params[0] if affine[0] else None), (params[-1] if affine[1] else None)


# ---- samples and numpy references ---------------------------------------------------------------------------------
def _layer_norm_samples(rng):
    r = rng.standard_normal
    return [Sample(r((3, 4)), (4,), note="no affine"), Sample(r((2, 3, 4)), (4,), r(4), r(4)),
            Sample(r((2, 3, 4)), (3, 4), r((3, 4)), eps=1e-3, note="2 normalized dims, weight only"),
            Sample(r((2, 2, 3)), [2, 3], None, r((2, 3)), note="list shape, bias only"),
            Sample(r((4, 3)).T, (4,), r(4), r(4), note="non-contiguous"), Sample(r(5), 5, r(5), r(5), note="1-d"),
            Sample(r((0, 4)), (4,), r(4), r(4), note="empty")]


def _group_norm_samples(rng):
    r = rng.standard_normal
    return [Sample(r((2, 4, 3)), 2, r(4), r(4)), Sample(r((3, 6)), 3, note="no spatial dims, no affine"),
            Sample(r((2, 4, 2, 2)), 4, r(4), eps=1e-3, note="one channel per group, weight only"),
            Sample(r((1, 4, 3)), 1, None, r(4), note="one group, bias only"),
            Sample(r((2, 3, 4)).transpose(0, 2, 1)[:, :2], 2, r(2), r(2), note="non-contiguous")]


def _np_affine(y, weight, bias, shape):
    if weight is not None:
        y = y * np.reshape(weight, shape)
    return y if bias is None else y + np.reshape(bias, shape)


def _np_layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    k = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    rows = x.reshape(x.shape[:x.ndim - k] + (int(np.prod(x.shape[x.ndim - k:])),))
    mu, var = rows.mean(-1, keepdims=True), rows.var(-1, keepdims=True)
    y = ((rows - mu) / np.sqrt(var + eps)).reshape(x.shape)
    return _np_affine(y, weight, bias, x.shape[x.ndim - k:])


def _np_group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    g = x.reshape(x.shape[0], num_groups, -1)
    y = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + eps)).reshape(x.shape)
    return _np_affine(y, weight, bias, (-1,) + (1,) * (x.ndim - 2))


# ---- public ops ---------------------------------------------------------------------------------------------------
@op(samples=_layer_norm_samples, ref=_np_layer_norm,
    torch=lambda torch, x, shape, *a, **kw: torch.nn.functional.layer_norm(
        x, (shape,) if isinstance(shape, int) else shape, *a, **kw))
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the trailing dims `normalized_shape` (mean 0, variance 1), then scale and shift
    elementwise by weight and bias (each of shape normalized_shape)."""
    _check_float("layer_norm", input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(int(s) for s in normalized_shape)
    k = len(shape)
    if not k or input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise ShapeError(f"layer_norm: normalized_shape {fmt_shape(shape)} does not match the last dims of input "
                         f"{fmt_shape(input.shape)}")
    params, affine = _params("layer_norm", input, weight, bias, shape, f"normalized_shape {fmt_shape(shape)}")
    axes = tuple(range(input.ndim - k, input.ndim))
    return _normalize(input, params, affine, axes, shape, shape, eps)[0]


@op(samples=_group_norm_samples, ref=_np_group_norm,
    torch=lambda torch, x, g, *a, **kw: torch.nn.functional.group_norm(x, g, *a, **kw))
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalize each of `num_groups` groups of channels (and all their positions) per sample, then scale and
    shift per channel."""
    c = _channels("group_norm", input)
    if not isinstance(num_groups, int) or num_groups <= 0 or c % num_groups:
        raise ShapeError(f"group_norm: num_groups={num_groups!r} must be a positive divisor of the number of channels "
                         f"{c} (input {fmt_shape(input.shape)})")
    params, affine = _params("group_norm", input, weight, bias, (c,), "the number of channels")
    n, g = input.shape[0], num_groups
    x = input.reshape(n, g, c // g, math.prod(input.shape[2:]))
    y = _normalize(x, params, affine, (2, 3), (g, c // g, 1), (c,), eps)[0]
    return y.reshape(input.shape)
