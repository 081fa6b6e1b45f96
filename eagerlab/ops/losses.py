"""Classification losses over class scores (N, C, d1, ...): cross_entropy and nll_loss, plus the reduction helpers
every loss shares.

Class-index targets go through fused primitives: cross_entropy's forward is one stable log-sum-exp pass that also
keeps the softmax, so its gradient is one pass with no exp (softmax - smoothed one-hot, scaled). Each gradient is
itself a `*_grad` primitive whose vjp is written in eagerlab ops, so double backward works. Class weights are
constants (not differentiable, as in PyTorch).
"""
import warnings

import numpy as np

from .._tensor import Tensor
from ..backend.blas import matmul as gemm
from ..backend.dtypes import FLOAT, INT
from ..backend.low_precision import in_float32
from ..errors import DTypeError, IndexOutOfRange, ShapeError, fmt_shape
from ._registry import Aval, Sample, bind, op, primitive

_REDUCTIONS = ("none", "mean", "sum")


def reduction_arg(op_name, reduction, size_average=None, reduce=None, allowed=_REDUCTIONS):
    """The reduction to use, from the deprecated size_average/reduce flags when given (as PyTorch does)."""
    if size_average is not None or reduce is not None:
        warnings.warn(f"{op_name}: size_average and reduce are deprecated, use reduction= instead", UserWarning,
                      stacklevel=3)
        reduction = "none" if reduce is False else ("sum" if size_average is False else "mean")
    if reduction not in allowed:
        raise ValueError(f"{op_name}: reduction must be one of {', '.join(map(repr, allowed))}, got {reduction!r}")
    return reduction


def reduce_loss(loss, reduction):
    """Apply a 'none'/'sum'/'mean' reduction to an elementwise loss (the mean of an empty loss is nan)."""
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


# ---- checks shared by eager calls and infer ---------------------------------------------------------------------
def _check_index_target(op_name, x, target, weight):
    """Scores (N, C, d...) or (C,), integer targets (N, d...) or (), weights (C,)."""
    if x.dtype.category != FLOAT:
        raise DTypeError(f"{op_name}: expected floating-point scores, got {x.dtype.name} input {fmt_shape(x.shape)}")
    if len(x.shape) == 0:
        raise ShapeError(f"{op_name}: input must have a class dim, got a 0-d tensor")
    want = tuple(x.shape[:1]) + tuple(x.shape[2:]) if len(x.shape) > 1 else ()
    if target.dtype.category == FLOAT and op_name == "cross_entropy":
        raise ShapeError(f"cross_entropy: a float target must hold class probabilities shaped like the input "
                         f"{fmt_shape(x.shape)}, got {fmt_shape(target.shape)}; class indices must be an integer "
                         f"tensor of shape {fmt_shape(want)}")
    if target.dtype.name not in ("int64", "uint8"):
        # PyTorch's rule: int64 (long) or uint8 class indices; int32 is refused
        raise DTypeError(f"{op_name}: expected target dtype to be int64 (Long) or uint8 (Byte), but got "
                         f"{target.dtype.name} target {fmt_shape(target.shape)} for input {fmt_shape(x.shape)}; "
                         "convert it with target.long()")
    if tuple(target.shape) != want:
        raise ShapeError(f"{op_name}: expected target of shape {fmt_shape(want)} for input {fmt_shape(x.shape)}, got "
                         f"target {fmt_shape(target.shape)}")
    c = x.shape[1] if len(x.shape) > 1 else x.shape[0]
    if weight is not None and tuple(weight.shape) != (c,):
        raise ShapeError(f"{op_name}: weight must have one entry per class, shape ({c},), got "
                         f"{fmt_shape(weight.shape)}")


def _index_loss_infer(name):
    def infer(x, target, weight=None, *, ignore_index, reduction, **attrs):
        _check_index_target(name, x, target, weight)
        loss = Aval(target.shape if reduction == "none" else (), x.dtype, x.device)
        return (loss, Aval(x.shape, x.dtype, x.device)) if name == "cross_entropy" else loss

    return infer


# ---- raw-array helpers (used inside impls) ------------------------------------------------------------------------
def _class_index(xp, safe):
    """A fancy index picking entry safe[n, d...] along axis 1 of an (N, C, d...) array."""
    k = safe.ndim
    if k == 1:
        return xp.arange(safe.shape[0]), safe
    grid = [xp.arange(s).reshape((-1,) + (1,) * (k - 1 - i)) for i, s in enumerate(safe.shape)]
    return (grid[0], safe, *grid[1:])


def _target_weights(xp, t, w, ignore_index, c, dtype, op_name=None, shape=None):
    """(safe targets, weight per target or None when all are 1, keep mask or None when nothing is ignored).
    Checks the class range when op_name is given. The common case (no weights, nothing ignored) makes no arrays."""
    if not t.size:
        return t, (None if w is None else w[t]), None
    safe, keep = t, None
    lo, hi = int(t.min()), int(t.max())
    if lo <= ignore_index <= hi:
        keep = t != ignore_index
        safe = xp.where(keep, t, 0)
        lo, hi = int(safe.min()), int(safe.max())
    if op_name is not None and (lo < 0 or hi >= c):
        bad = lo if lo < 0 else hi
        raise IndexOutOfRange(f"{op_name}: target {bad} is out of bounds for {c} classes (input {fmt_shape(shape)}; "
                              f"valid targets are 0..{c - 1}, or ignore_index={ignore_index})")
    if w is None:
        return safe, (None if keep is None else keep.astype(dtype)), keep
    return safe, (w[safe] if keep is None else w[safe] * keep), keep


def _denominator(wt, t):
    """What a 'mean' divides by: the summed weights of the counted targets."""
    return t.size if wt is None else wt.sum()


def _reduce_impl(loss, wt, t, reduction):
    if reduction == "none":
        return loss
    total = loss.sum()
    return total if reduction == "sum" else total / _denominator(wt, t)


def _scale(xp, g, wt, t, reduction):
    """The upstream gradient shaped to multiply an (N, C, d...) gradient."""
    if reduction == "none":
        return g[:, None]
    if reduction == "sum":
        return g
    total = _denominator(wt, t)
    return g / total if total else g * 0  # every target ignored: the loss is nan (0/0), PyTorch's gradient is 0


# ---- nll_loss ---------------------------------------------------------------------------------------------------
def _nll_impl(xp, x, t, w=None, *, ignore_index, reduction):
    safe, wt, _ = _target_weights(xp, t, w, ignore_index, x.shape[1], x.dtype, "nll_loss", x.shape)
    picked = x[_class_index(xp, safe)]
    return _reduce_impl(-picked if wt is None else -picked * wt, wt, t, reduction)


def _nll_grad_impl(xp, g, t, w=None, *, shape, ignore_index, reduction):
    safe, wt, _ = _target_weights(xp, t, w, ignore_index, shape[1], g.dtype)
    out = xp.zeros(shape, g.dtype)
    scale = g if reduction == "none" else _scale(xp, g, wt, t, reduction)
    out[_class_index(xp, safe)] = -scale if wt is None else -scale * wt
    return out


def _nll_grad_infer(g, t, w=None, *, shape, **attrs):
    return Aval(shape, g.dtype, g.device)


nll_loss_p = primitive("nll_loss", _index_loss_infer("nll_loss"), save_inputs=(1, 2))(_nll_impl)
# the gradient does not depend on the log-probabilities' values: only their shape is kept (an attr)
nll_loss_grad_p = primitive("nll_loss_grad", _nll_grad_infer, save_inputs=(1, 2))(_nll_grad_impl)


@nll_loss_p.defvjp
def _(ctx, g):
    t, *w = ctx.saved
    return bind(nll_loss_grad_p, g, t, *w, shape=ctx.shapes[0], **ctx.attrs), None, None


@nll_loss_grad_p.defvjp
def _(ctx, v):
    t, *w = ctx.saved  # the gradient is linear in g, and its adjoint is nll_loss itself
    return bind(nll_loss_p, v, t, *w, ignore_index=ctx.attrs["ignore_index"], reduction=ctx.attrs["reduction"]), \
        None, None


# ---- cross_entropy with class-index targets ---------------------------------------------------------------------
def _ce_impl(xp, x, t, w=None, *, ignore_index, reduction, label_smoothing):
    """(loss, softmax): the softmax falls out of the log-sum-exp pass and is kept so the backward needs no exp."""
    c, ls = x.shape[1], label_smoothing
    safe, wt, keep = _target_weights(xp, t, w, ignore_index, c, x.dtype, "cross_entropy", x.shape)
    s = x - x.max(axis=1, keepdims=True)
    p = xp.exp(s)
    total = p.sum(axis=1)
    lse = xp.log(total)
    loss = lse - s[_class_index(xp, safe)]  # -log_softmax at the target
    if wt is not None:
        loss *= wt
    if ls:
        # the loss against the uniform distribution: -sum_c w_c log_softmax_c = lse * sum(w) - sum_c w_c s_c
        smooth = lse * c - s.sum(axis=1) if w is None else lse * w.sum() - gemm(xp, xp.moveaxis(s, 1, -1), w)
        loss = (1 - ls) * loss + (ls / c) * (smooth if keep is None else smooth * keep)
    p /= total[:, None]
    return _reduce_impl(loss, wt, t, reduction), p


def _ce_grad_impl(xp, g, x, p, t, w=None, *, ignore_index, reduction, label_smoothing):
    """(softmax * A - a) * scale, where a is the (weighted, smoothed) target distribution and A its sum per row;
    x is an input only so that the vjp (double backward) can differentiate through it."""
    c, ls = p.shape[1], label_smoothing
    safe, wt, keep = _target_weights(xp, t, w, ignore_index, c, p.dtype)
    if w is not None:
        total = (1 - ls) * wt + (ls / c) * w.sum() * (1 if keep is None else keep)
    else:
        total = keep  # (1 - ls) + ls: 1 for every counted target
    grad = p * total[:, None] if total is not None else p.copy()
    grad[_class_index(xp, safe)] -= (1 - ls) * (1 if wt is None else wt)
    if ls:
        spread = (ls / c) * (w.reshape((1, c) + (1,) * (p.ndim - 2)) if w is not None else 1)
        grad -= spread if keep is None else spread * keep[:, None]
    grad *= _scale(xp, g, wt, t, reduction)
    return grad


def _ce_grad_infer(g, x, p, t, w=None, **attrs):
    return Aval(x.shape, x.dtype, x.device)


cross_entropy_p = primitive("cross_entropy", _index_loss_infer("cross_entropy"), save_inputs=(0, 1, 2),
                            save_outputs=(1,), n_out=2, nondiff_outputs=(1,))(in_float32(_ce_impl))
cross_entropy_grad_p = primitive("cross_entropy_grad", _ce_grad_infer, save_inputs=(0, 1, 3, 4))(
    in_float32(_ce_grad_impl))


@cross_entropy_p.defvjp
def _(ctx, g, _):
    x, t, *w, p = ctx.saved
    return bind(cross_entropy_grad_p, g, x, p, t, *w, **ctx.attrs), None, None


def _ce_terms(x, t, w, ignore_index, label_smoothing):
    """In eagerlab ops: (A, a, sum of target weights) with the gradient = (softmax * A - a) * scale."""
    from .creation import arange
    from .index import where

    c, ls = x.shape[1], label_smoothing
    cls_shape = (1, c) + (1,) * (x.ndim - 2)
    keep_b = t != ignore_index
    safe = where(keep_b, t, 0)
    keep = keep_b.to(x.dtype)
    wt = keep if w is None else w.detach()[safe] * keep
    onehot = (safe.unsqueeze(1) == arange(c, device=x.device).reshape(cls_shape)).to(x.dtype)
    a = onehot * ((1 - ls) * wt).unsqueeze(1)
    total = (1 - ls) * wt
    if ls:
        a = a + (ls / c) * keep.unsqueeze(1) * (1 if w is None else w.detach().reshape(cls_shape))
        total = total + (ls / c) * (c if w is None else w.detach().sum()) * keep
    return total.unsqueeze(1), a, wt.sum()


@cross_entropy_grad_p.defvjp
def _(ctx, v):
    from .softmax import softmax

    g, x, t, *w = ctx.saved  # the saved softmax is not an input of this vjp: it recomputes one it can differentiate
    reduction = ctx.attrs["reduction"]
    total, a, denom = _ce_terms(x, t, w[0] if w else None, ctx.attrs["ignore_index"], ctx.attrs["label_smoothing"])
    p = softmax(x, 1)
    scale = g.unsqueeze(1) if reduction == "none" else (g if reduction == "sum" else g / denom)
    gg = gx = None
    if ctx.needs[0]:
        r = (v * (p * total - a)).sum(1)
        gg = r if reduction == "none" else (r.sum() if reduction == "sum" else r.sum() / denom)
    if ctx.needs[1]:
        u = v * scale * total
        gx = p * (u - (u * p).sum(1, keepdim=True))  # the softmax vjp
    return gg, gx, None, None, None


# ---- samples and numpy references ---------------------------------------------------------------------------------
def _nll_samples(rng):
    logp = np.log(rng.dirichlet(np.ones(3), 4))
    return [Sample(logp, np.array([0, 2, 1, 2])), Sample(logp, np.array([0, -100, 1, 2]), reduction="sum"),
            Sample(logp, np.array([1, 1, 0, 2]), weight=np.array([0.5, 2.0, 1.0])),
            Sample(logp, np.array([1, 1, 0, 2]), weight=np.array([0.5, 2.0, 1.0]), ignore_index=0, reduction="none"),
            Sample(np.log(rng.dirichlet(np.ones(3), (2, 2))).transpose(0, 2, 1), np.array([[0, 2], [1, 1]]),
                   note="(N, C, d), non-contiguous"),
            Sample(logp[0], np.array(2), note="(C,) input, 0-d target")]


def _ce_samples(rng):
    r = rng.standard_normal
    return [Sample(r((4, 3)), np.array([0, 2, 1, 2])),
            Sample(r((4, 3)), np.array([0, 2, -100, 1]), reduction="sum", note="ignore_index"),
            Sample(r((3, 4)), np.array([3, 0, 1]), label_smoothing=0.2),
            Sample(r((2, 3, 2)), np.array([[0, 2], [1, 1]]), reduction="none", note="(N, C, d)"),
            Sample(r((2, 3, 2, 2)), rng.integers(0, 3, (2, 2, 2)), weight=np.array([0.3, 1.0, 2.0]),
                   label_smoothing=0.1, note="(N, C, d1, d2), weight, smoothing"),
            Sample(r((3, 4)), rng.dirichlet(np.ones(4), 3), note="probability targets"),
            Sample(r((2, 3, 2)), rng.dirichlet(np.ones(3), (2, 2)).transpose(0, 2, 1), weight=np.array([1.0, 2.0, 0.5]),
                   label_smoothing=0.3, reduction="sum", note="probability targets (N, C, d), weight, smoothing"),
            Sample(r((3, 4)), np.array([3, 0, 1]), weight=np.abs(r(4)) + 0.5, note="class weights"),
            Sample(r((4, 3)), np.array([0, 1, 2, 1]), weight=np.array([0.5, 2.0, 1.0]), ignore_index=1,
                   label_smoothing=0.2, note="weight + ignore_index + smoothing"),
            Sample(r((4, 3)) * 1e4, np.array([0, 1, 2, 1]), reduction="none", note="extreme logits"),
            Sample(r(3), np.array(1), note="(C,) input, 0-d target"), Sample(r(3), rng.dirichlet(np.ones(3))),
            Sample(r((3, 4)).T, np.array([2, 0, 1, 1]), note="non-contiguous"),
            Sample(r((0, 3)), np.zeros(0, np.int64), reduction="sum", note="empty batch")]


def _np_nll(logp, target, weight=None, ignore_index=-100, reduction="mean", smoothing=0.0):
    if logp.ndim == 1:
        out = _np_nll(logp[None], np.reshape(target, 1), weight, ignore_index, reduction, smoothing)
        return out.reshape(()) if reduction == "none" else out
    c = logp.shape[1]
    cls = np.moveaxis(logp, 1, -1).reshape(-1, c)
    t = np.reshape(target, -1)
    w = np.ones(c) if weight is None else weight
    keep = t != ignore_index
    safe = np.where(keep, t, 0)
    wt = w[safe] * keep
    loss = -(1 - smoothing) * cls[np.arange(len(t)), safe] * wt - smoothing / c * (cls * w).sum(-1) * keep
    if reduction == "none":
        return loss.reshape(target.shape)
    return loss.sum() if reduction == "sum" else loss.sum() / wt.sum()


def _np_log_softmax(x, axis):
    z = x - x.max(axis=axis, keepdims=True) if x.size else x
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _np_cross_entropy(x, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    axis = 1 if x.ndim > 1 else 0
    logp = _np_log_softmax(x, axis)
    if target.dtype.kind != "f":
        return _np_nll(logp, target, weight, ignore_index, reduction, label_smoothing)
    c = x.shape[axis]
    t = target * (1 - label_smoothing) + label_smoothing / c
    w = 1.0 if weight is None else weight.reshape((c,) + (1,) * (x.ndim - axis - 1))
    loss = -(t * w * logp).sum(axis)
    return loss if reduction == "none" else (loss.sum() if reduction == "sum" else loss.mean())


# ---- public ops -------------------------------------------------------------------------------------------------
def _batched(input, target):
    """(C,) scores with a 0-d target are one sample: make them (1, C) and (1,)."""
    if input.ndim == 1:
        return input.reshape(1, -1), target.reshape(1), True
    return input, target, False


def _class_weight(weight, x):
    if weight is None or weight.dtype is x.dtype:
        return () if weight is None else (weight,)
    return (weight.to(x.dtype),)


@op(samples=_nll_samples, ref=_np_nll,
    torch=lambda torch, a, t, **kw: torch.nn.functional.nll_loss(a, t, **kw))
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood of class-index targets, given log-probabilities (N, C, d1, ...) or (C,)."""
    reduction = reduction_arg("nll_loss", reduction, size_average, reduce)
    _check_index_target("nll_loss", input, target, weight)
    x, t, single = _batched(input, target)
    out = bind(nll_loss_p, x, t, *_class_weight(weight, x), ignore_index=int(ignore_index), reduction=reduction)
    return out.reshape(()) if single and reduction == "none" else out


@op(samples=_ce_samples, ref=_np_cross_entropy,
    torch=lambda torch, a, t, **kw: torch.nn.functional.cross_entropy(a, t, **kw))
def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                  label_smoothing=0.0):
    """Cross entropy of scores (N, C, d1, ...) or (C,) against class indices, or class probabilities shaped like
    the input; optional class weights, ignore_index (index targets) and label smoothing."""
    reduction = reduction_arg("cross_entropy", reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    if isinstance(target, Tensor) and target.dtype.category == FLOAT and target.shape == input.shape:
        return _soft_cross_entropy(input, target, weight, reduction, float(label_smoothing))
    _check_index_target("cross_entropy", input, target, weight)
    x, t, single = _batched(input, target)
    out = bind(cross_entropy_p, x, t, *_class_weight(weight, x), ignore_index=int(ignore_index), reduction=reduction,
               label_smoothing=float(label_smoothing))[0]
    return out.reshape(()) if single and reduction == "none" else out


def _soft_cross_entropy(input, target, weight, reduction, label_smoothing):
    """-sum_c w_c * target_c * log_softmax_c per sample; the mean is over samples (and extra dims)."""
    from .softmax import log_softmax

    dim = 1 if input.ndim > 1 else 0
    c = input.shape[dim]
    if weight is not None and tuple(weight.shape) != (c,):
        raise ShapeError(f"cross_entropy: weight must have one entry per class, shape ({c},), got "
                         f"{fmt_shape(weight.shape)}")
    if target.dtype is not input.dtype:
        target = target.to(input.dtype)
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / c
    if weight is not None:
        target = target * weight.to(input.dtype).reshape((c,) + (1,) * (input.ndim - dim - 1))
    return reduce_loss(-(target * log_softmax(input, dim)).sum(dim), reduction)
