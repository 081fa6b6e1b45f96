"""Elementwise losses (mse, l1, smooth_l1, huber, binary cross entropy with and without logits, kl_div) and the
cosine similarity / cosine embedding loss. Binary cross entropy and its logits form are fused primitives (one pass,
stable, PyTorch's clamping); the rest are composites. Reductions: 'none', 'mean', 'sum'."""
import warnings

import numpy as np

from ..errors import DTypeError, ShapeError, fmt_shape
from . import _shape_rules as shape_rules
from ._registry import Sample, bind, op, primitive
from .losses import reduce_loss, reduction_arg


def _pair(op_name, input, target):
    """Promote input and target to one float dtype; differing shapes broadcast with PyTorch's warning. Two integer
    operands are refused, as PyTorch does (a regression loss on class labels is usually a mistake)."""
    if not (input.is_floating_point() or target.is_floating_point()):
        raise DTypeError(f"{op_name}: expected floating-point input or target, got {input.dtype.name} input "
                         f"{fmt_shape(input.shape)} and {target.dtype.name} target {fmt_shape(target.shape)}; "
                         "convert them with .float()")
    if input._data.dtype != target._data.dtype:
        _, (input, target) = shape_rules.promote(op_name, input, target)
    if input.shape != target.shape:
        shape = shape_rules.broadcast_shapes(op_name, input.shape, target.shape)
        warnings.warn(f"{op_name}: using a target size {fmt_shape(target.shape)} that is different to the input size "
                      f"{fmt_shape(input.shape)} (broadcast to {fmt_shape(shape)}). This will likely lead to incorrect "
                      "results due to broadcasting; please ensure they have the same size.", UserWarning, stacklevel=3)
    return shape_rules.to_float(op_name, input), shape_rules.to_float(op_name, target)


def _times_weight(loss, weight):
    """loss * weight, the weight cast to the loss's dtype (a float64 weight must not upcast a float32 loss)."""
    if weight is None:
        return loss
    return loss * (weight if weight.dtype is loss.dtype else weight.to(loss.dtype))


def _weighted(op_name, loss, weight, reduction, input, divide_by_weight):
    """PyTorch's optional elementwise weight: 'mean' divides by sum(weight) for mse/l1, by numel for huber."""
    if weight is None:
        return reduce_loss(loss, reduction)
    if weight.shape != input.shape:
        raise ShapeError(f"{op_name}: weight {fmt_shape(weight.shape)} and input {fmt_shape(input.shape)} must have "
                         "the same size")
    loss = _times_weight(loss, weight)
    if reduction == "mean" and divide_by_weight:
        return loss.sum() / weight.sum().to(loss.dtype)
    return reduce_loss(loss, reduction)


def _np_reduce(v, reduction="mean"):
    return v if reduction == "none" else (v.sum() if reduction == "sum" else v.mean())


def _pair_samples(rng):
    r = rng.standard_normal
    return [Sample(r((3, 4)), r((3, 4))), Sample(r((2, 3)), r((2, 3)), reduction="sum"),
            Sample(r((2, 3)), r((2, 3)), reduction="none"), Sample(r(()), r(()), note="0-d"),
            Sample(r((4, 3)).T, r((3, 4)), note="non-contiguous"),
            Sample(r((2, 3)), r((2, 3)), weight=np.abs(r((2, 3))) + 0.1, note="weight"),
            Sample(r((0, 3)), r((0, 3)), reduction="sum", note="empty")]


def _shifted_samples(rng):
    """Differences kept away from the kinks (0 for l1; +-beta for smooth_l1/huber) so finite differences hold."""
    r = rng.standard_normal
    d = np.array([[-2.5, -0.6, 0.3, 1.7], [0.8, -1.4, 3.0, -0.2], [0.45, -0.35, 2.2, -3.1]])
    t = r((3, 4))
    return [Sample(t + d, t), Sample(t + d, t, reduction="sum"), Sample((t + d)[:2], t[:2], reduction="none"),
            Sample(t + d, t, weight=np.abs(r((3, 4))) + 0.1, note="weight")]


# ---- mse / l1 / smooth_l1 / huber -----------------------------------------------------------------------------------
@op(samples=_pair_samples, torch=lambda torch, a, b, **kw: torch.nn.functional.mse_loss(a, b, **kw),
    ref=lambda a, b, reduction="mean", weight=None: _np_reduce((a - b) ** 2, reduction) if weight is None else
    {"none": (a - b) ** 2 * weight, "sum": ((a - b) ** 2 * weight).sum()}.get(
        reduction, ((a - b) ** 2 * weight).sum() / weight.sum()))
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error."""
    reduction = reduction_arg("mse_loss", reduction, size_average, reduce)
    x, t = _pair("mse_loss", input, target)
    d = x - t
    return _weighted("mse_loss", d * d, weight, reduction, input, True)


@op(samples=_shifted_samples, torch=lambda torch, a, b, **kw: torch.nn.functional.l1_loss(a, b, **kw),
    ref=lambda a, b, reduction="mean", weight=None: _np_reduce(np.abs(a - b), reduction) if weight is None else
    {"none": np.abs(a - b) * weight, "sum": (np.abs(a - b) * weight).sum()}.get(
        reduction, (np.abs(a - b) * weight).sum() / weight.sum()))
def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error."""
    reduction = reduction_arg("l1_loss", reduction, size_average, reduce)
    x, t = _pair("l1_loss", input, target)
    return _weighted("l1_loss", (x - t).abs(), weight, reduction, input, True)


def _quadratic_near_zero(d, threshold, scale):
    """0.5 d^2 / scale where |d| < threshold, else (|d| - 0.5 threshold) * threshold / scale."""
    from .index import where

    ad = d.abs()
    linear = ad - 0.5 * threshold
    return where(ad < threshold, d * d * (0.5 / scale), linear if threshold == scale else linear * (threshold / scale))


def _np_smooth_l1(a, b, reduction="mean", beta=1.0):
    d = np.abs(a - b)
    return _np_reduce(np.where(d < beta, 0.5 * d ** 2 / beta, d - 0.5 * beta) if beta else d, reduction)


def _smooth_l1_samples(rng):
    return _shifted_samples(rng)[:3] + [Sample(*_shifted_samples(rng)[0].args, beta=0.5),
                                        Sample(*_shifted_samples(rng)[0].args, beta=0.0, note="beta=0 is l1")]


@op(samples=_smooth_l1_samples, ref=_np_smooth_l1,
    torch=lambda torch, a, b, **kw: torch.nn.functional.smooth_l1_loss(a, b, **kw))
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Quadratic (0.5 d^2 / beta) for |d| < beta, linear (|d| - beta / 2) beyond."""
    reduction = reduction_arg("smooth_l1_loss", reduction, size_average, reduce)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    x, t = _pair("smooth_l1_loss", input, target)
    d = x - t
    return reduce_loss(_quadratic_near_zero(d, beta, beta) if beta else d.abs(), reduction)


def _np_huber(a, b, reduction="mean", delta=1.0, weight=None):
    d = np.abs(a - b)
    loss = np.where(d < delta, 0.5 * d ** 2, delta * (d - 0.5 * delta))
    return _np_reduce(loss if weight is None else loss * weight, reduction)


def _huber_samples(rng):
    base = _shifted_samples(rng)
    return base + [Sample(*base[0].args, delta=2.0), Sample(*base[0].args, reduction="none", delta=0.5)]


@op(samples=_huber_samples, ref=_np_huber, torch=lambda torch, a, b, **kw: torch.nn.functional.huber_loss(a, b, **kw))
def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """Quadratic (0.5 d^2) for |d| < delta, delta-scaled linear (delta (|d| - delta / 2)) beyond."""
    reduction = reduction_arg("huber_loss", reduction)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    x, t = _pair("huber_loss", input, target)
    return _weighted("huber_loss", _quadratic_near_zero(x - t, delta, 1.0), weight, reduction, input, False)


# ---- binary cross entropy ------------------------------------------------------------------------------------------
def _bce_impl(xp, x, t):
    if x.size and not (x.min() >= 0 and x.max() <= 1):  # also rejects nan, as PyTorch does
        raise ValueError(f"all elements of input should be between 0 and 1, got values in [{x.min()}, {x.max()}]")
    # log clamped at -100 (PyTorch's rule): a saturated probability gives a large finite loss, not inf
    log_x = xp.maximum(xp.log(x), -100)
    log_1mx = xp.maximum(xp.log1p(-x), -100)
    return -(log_1mx + t * (log_x - log_1mx))


bce_p = primitive("binary_cross_entropy", shape_rules.elementwise, save_inputs=(0, 1))(_bce_impl)


@bce_p.defvjp
def _(ctx, g):
    from .elementwise import clamp, log, log1p

    x, t = ctx.saved
    gx = g * (x - t) / clamp(x * (1 - x), min=1e-12) if ctx.needs[0] else None
    gt = g * (clamp(log1p(-x), min=-100) - clamp(log(x), min=-100)) if ctx.needs[1] else None
    return gx, gt


def _np_bce(x, t, weight=None, reduction="mean"):
    loss = -(t * np.maximum(np.log(x), -100) + (1 - t) * np.maximum(np.log1p(-x), -100))
    return _np_reduce(loss if weight is None else loss * weight, reduction)


def _bce_samples(rng):
    p = lambda s: rng.uniform(0.05, 0.95, s)  # noqa: E731
    return [Sample(p((3, 4)), rng.uniform(0, 1, (3, 4))), Sample(p((4,)), (rng.random(4) > 0.5) * 1.0, reduction="sum"),
            Sample(p((2, 3)), rng.uniform(0, 1, (2, 3)), weight=rng.uniform(0.5, 2, (3,)), reduction="none"),
            Sample(np.array([0.0, 1.0, 0.5, 1e-30]), np.array([1.0, 0.0, 0.5, 1.0]), grad=False,
                   note="saturated: clamped at 100"), Sample(p(()), rng.uniform(0, 1, ()), note="0-d")]


def _target_like(op_name, input, target):
    if input.shape != target.shape:
        raise ShapeError(f"{op_name}: target size {fmt_shape(target.shape)} must be the same as input size "
                         f"{fmt_shape(input.shape)}")
    if input._data.dtype != target._data.dtype:
        _, (input, target) = shape_rules.promote(op_name, input, target)
    return shape_rules.to_float(op_name, input), shape_rules.to_float(op_name, target)


@op(samples=_bce_samples, ref=_np_bce,
    torch=lambda torch, a, b, **kw: torch.nn.functional.binary_cross_entropy(a, b, **kw))
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """-(t log(p) + (1 - t) log(1 - p)) for probabilities p in [0, 1]; logs are clamped at -100."""
    reduction = reduction_arg("binary_cross_entropy", reduction, size_average, reduce)
    x, t = _target_like("binary_cross_entropy", input, target)
    return reduce_loss(_times_weight(bind(bce_p, x, t), weight), reduction)


def _bce_logits_impl(xp, x, t, pw=None):
    sp = xp.logaddexp(0, -x)  # softplus(-x) = -log(sigmoid(x)), never overflows
    if pw is None:
        return (1 - t) * x + sp
    return (1 - t) * x + (1 + (pw - 1) * t) * sp


bce_logits_p = primitive("binary_cross_entropy_with_logits", shape_rules.elementwise, save_inputs=(0, 1, 2))(
    _bce_logits_impl)


@bce_logits_p.defvjp
def _(ctx, g):
    from .activation import sigmoid, softplus

    x, t, *pw = ctx.saved
    needs = ctx.needs
    gx = gt = gpw = None
    if needs[0]:
        gx = g * (sigmoid(x) - t) if not pw else g * ((1 + (pw[0] - 1) * t) * sigmoid(x) - pw[0] * t)
    if needs[1] or len(needs) > 2 and needs[2]:
        sp = softplus(-x)
        gt = (-g * x if not pw else g * ((pw[0] - 1) * sp - x)) if needs[1] else None
        gpw = g * t * sp if len(needs) > 2 and needs[2] else None
    return gx, gt, gpw


def _np_bce_logits(x, t, weight=None, reduction="mean", pos_weight=None):
    log_sig = -np.logaddexp(0, -x)
    log_1m_sig = -np.logaddexp(0, x)
    pw = 1.0 if pos_weight is None else pos_weight
    loss = -(pw * t * log_sig + (1 - t) * log_1m_sig)
    return _np_reduce(loss if weight is None else loss * weight, reduction)


def _bce_logits_samples(rng):
    r = rng.standard_normal
    return [Sample(r((3, 4)), rng.uniform(0, 1, (3, 4))), Sample(r((4,)) * 3, (rng.random(4) > 0.5) * 1.0,
                                                                 reduction="sum"),
            Sample(r((2, 3)), rng.uniform(0, 1, (2, 3)), weight=rng.uniform(0.5, 2, (2, 1)), pos_weight=np.array(
                [0.5, 2.0, 3.0]), reduction="none", note="weight, pos_weight"),
            Sample(np.array([-1e4, 1e4, 50.0, -50.0]), np.array([1.0, 0.0, 0.3, 0.7]), note="extreme logits finite"),
            Sample(r((4, 2)).T, rng.uniform(0, 1, (2, 4)), pos_weight=np.array(1.5), note="non-contiguous")]


@op(samples=_bce_logits_samples, ref=_np_bce_logits,
    torch=lambda torch, a, b, **kw: torch.nn.functional.binary_cross_entropy_with_logits(a, b, **kw))
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean",
                                     pos_weight=None):
    """sigmoid + binary cross entropy in one stable step; pos_weight scales the positive term (per class)."""
    reduction = reduction_arg("binary_cross_entropy_with_logits", reduction, size_average, reduce)
    x, t = _target_like("binary_cross_entropy_with_logits", input, target)
    if pos_weight is None:
        loss = bind(bce_logits_p, x, t)
    else:
        broadcast = shape_rules.broadcast_shapes("binary_cross_entropy_with_logits", pos_weight.shape, x.shape)
        if broadcast != tuple(x.shape):
            raise ShapeError(f"binary_cross_entropy_with_logits: pos_weight {fmt_shape(pos_weight.shape)} must "
                             f"broadcast to the input {fmt_shape(x.shape)} (one weight per class)")
        loss = bind(bce_logits_p, x, t, pos_weight.to(x.dtype))
    return reduce_loss(_times_weight(loss, weight), reduction)


# ---- kl_div -------------------------------------------------------------------------------------------------------
_REDUCTIONS_KL = ("none", "batchmean", "sum", "mean")


def _np_kl_div(x, t, reduction="mean", log_target=False):
    loss = np.exp(t) * (t - x) if log_target else np.where(t > 0, t * np.log(np.where(t > 0, t, 1)), 0) - t * x
    if reduction == "batchmean":
        return loss.sum() / (x.shape[0] if x.ndim else 1)
    return _np_reduce(loss, reduction)


def _kl_samples(rng):
    logp = np.log(rng.dirichlet(np.ones(4), 3))
    q = rng.dirichlet(np.ones(4), 3)
    q0 = q.copy()
    q0[0, 1] = 0.0
    return [Sample(logp, q, reduction="batchmean"), Sample(logp, q, reduction="sum"),
            Sample(logp, np.log(q), reduction="none", log_target=True), Sample(logp, q0, reduction="batchmean",
                                                                               grad=False, note="zero target"),
            Sample(logp, q)]


@op(samples=_kl_samples, ref=_np_kl_div, torch=lambda torch, a, b, **kw: torch.nn.functional.kl_div(a, b, **kw))
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Pointwise KL divergence target * (log target - input), input given as log-probabilities; 'batchmean'
    divides the sum by the batch size (the mathematical KL), 'mean' by the number of elements (PyTorch's default)."""
    from .elementwise import exp, log
    from .index import where

    reduction = reduction_arg("kl_div", reduction, size_average, reduce, _REDUCTIONS_KL)
    if reduction == "mean" and size_average is None and reduce is None:
        warnings.warn("kl_div: reduction='mean' divides the total loss by both the batch size and the support size; "
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition.",
                      UserWarning, stacklevel=2)
    x, t = _pair("kl_div", input, target)
    if log_target:
        loss = exp(t) * (t - x)
    else:
        zero = t == 0  # 0 * log 0 = 0; the inner where keeps log's gradient finite there
        loss = where(zero, 0.0, t * log(where(zero, 1.0, t))) - t * x
    if reduction == "batchmean":
        return loss.sum() / (x.shape[0] if x.ndim else 1)
    return reduce_loss(loss, reduction)


# ---- cosine similarity ---------------------------------------------------------------------------------------------
def _np_cosine_similarity(a, b, dim=1, eps=1e-8):
    na = np.maximum(np.sqrt((a * a).sum(dim, keepdims=True)), eps)
    nb = np.maximum(np.sqrt((b * b).sum(dim, keepdims=True)), eps)
    return ((a / na) * (b / nb)).sum(dim)


def _cos_samples(rng):
    r = rng.standard_normal
    return [Sample(r((3, 4)), r((3, 4))), Sample(r((2, 3)), r((3,)), dim=-1, note="broadcast"),
            Sample(r((2, 3, 2)), r((2, 3, 2)), dim=0, eps=1e-6)]


@op(samples=_cos_samples, ref=_np_cosine_similarity, torch="cosine_similarity")
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """x1 . x2 / (max(|x1|, eps) * max(|x2|, eps)) along `dim` (inputs broadcast)."""
    from .elementwise import clamp, sqrt

    if x1._data.dtype != x2._data.dtype:
        _, (x1, x2) = shape_rules.promote("cosine_similarity", x1, x2)
    x1, x2 = shape_rules.to_float("cosine_similarity", x1), shape_rules.to_float("cosine_similarity", x2)
    n = len(shape_rules.broadcast_shapes("cosine_similarity", x1.shape, x2.shape))
    d = shape_rules.norm_dim("cosine_similarity", dim, n)
    if x1.ndim < n:
        x1 = x1.reshape((1,) * (n - x1.ndim) + tuple(x1.shape))
    if x2.ndim < n:
        x2 = x2.reshape((1,) * (n - x2.ndim) + tuple(x2.shape))
    n1 = clamp(sqrt((x1 * x1).sum(d, keepdim=True)), min=eps)
    n2 = clamp(sqrt((x2 * x2).sum(d, keepdim=True)), min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(d)


def _np_cosine_embedding(a, b, y, margin=0.0, reduction="mean"):
    dim = 1 if a.ndim == 2 else 0
    cos = (a * b).sum(dim) / np.sqrt(((a * a).sum(dim) + 1e-12) * ((b * b).sum(dim) + 1e-12))
    loss = np.where(y == 1, 1 - cos, 0) + np.where(y == -1, np.maximum(cos - margin, 0), 0)
    return _np_reduce(loss, reduction)


def _cos_emb_samples(rng):
    r = rng.standard_normal
    return [Sample(r((4, 3)), r((4, 3)), np.array([1, -1, 1, -1])),
            Sample(r((4, 3)), r((4, 3)), np.array([-1, -1, 1, -1]), margin=-0.9, reduction="none"),
            Sample(r(3), r(3), np.array(-1), margin=-0.5, reduction="sum", note="1-D inputs, 0-d target")]


@op(samples=_cos_emb_samples, ref=_np_cosine_embedding,
    torch=lambda torch, a, b, y, **kw: torch.nn.functional.cosine_embedding_loss(a, b, y, **kw))
def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """1 - cos(x1, x2) where target is 1; max(0, cos(x1, x2) - margin) where target is -1."""
    from .activation import relu
    from .elementwise import sqrt
    from .index import where

    reduction = reduction_arg("cosine_embedding_loss", reduction, size_average, reduce)
    if input1.shape != input2.shape or input1.ndim not in (1, 2) or \
            tuple(target.shape) != tuple(input1.shape[:input1.ndim - 1]):
        raise ShapeError(f"cosine_embedding_loss: expected inputs (N, D) or (D,) of one shape and a target (N,) or "
                         f"(), got {fmt_shape(input1.shape)}, {fmt_shape(input2.shape)} and target "
                         f"{fmt_shape(target.shape)}")
    if input1._data.dtype != input2._data.dtype:
        _, (input1, input2) = shape_rules.promote("cosine_embedding_loss", input1, input2)
    d = input1.ndim - 1
    prod = (input1 * input2).sum(d)
    mag = ((input1 * input1).sum(d) + 1e-12) * ((input2 * input2).sum(d) + 1e-12)
    cos = prod / sqrt(mag)
    loss = where(target == 1, 1 - cos, 0.0) + where(target == -1, relu(cos - margin), 0.0)
    return reduce_loss(loss, reduction)
