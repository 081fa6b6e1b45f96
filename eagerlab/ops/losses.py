"""Losses: cross_entropy, nll_loss, mse_loss, l1_loss (composites of registered ops; reduction none/mean/sum)."""
import numpy as np

from .._tensor import Tensor
from ..errors import DTypeError, IndexOutOfRange, ShapeError, fmt_shape
from ._registry import Sample, op

_REDUCTIONS = ("none", "mean", "sum")


def _reduce(op_name, loss, reduction, denominator=None):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op_name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    return total / (denominator if denominator is not None else max(loss.numel(), 1))


def _classes_last(op_name, input, target):
    """(N, C, d1, ...) scores and (N, d1, ...) targets -> (M, C) rows and (M,) targets."""
    if input.ndim < 1 or target.shape != (input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()):
        raise ShapeError(f"{op_name}: expected target of shape {fmt_shape(input.shape[:1] + input.shape[2:])} for "
                         f"input {fmt_shape(input.shape)}, got target {fmt_shape(target.shape)}")
    if target.dtype.is_floating_point or target.dtype.name == "bool":
        raise DTypeError(f"{op_name}: class-index targets must be an integer tensor, got {target.dtype.name} "
                         f"(for class probabilities pass a float target shaped like the input {fmt_shape(input.shape)})")
    if input.ndim == 1:
        return input.reshape(1, -1), target.reshape(1)
    c = input.shape[1]
    rows = input.movedim(1, -1) if input.ndim > 2 else input
    return rows.reshape(-1, c), target.reshape(-1)


def _nll_samples(rng):
    logp = np.log(rng.dirichlet(np.ones(3), 4))
    return [Sample(logp, np.array([0, 2, 1, 2])), Sample(logp, np.array([0, -100, 1, 2]), reduction="sum"),
            Sample(logp, np.array([1, 1, 0, 2]), weight=np.array([0.5, 2.0, 1.0]))]


@op(samples=_nll_samples, torch=lambda torch, a, t, **kw: torch.nn.functional.nll_loss(a, t, **kw))
def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of class-index targets, given log-probabilities (N, C, d1, ...)."""
    return _nll("nll_loss", input, target, weight, ignore_index, reduction)


def _nll(op_name, input, target, weight, ignore_index, reduction):
    """nll_loss, with errors naming the public op the user called (nll_loss or cross_entropy)."""
    from .creation import arange
    from .index import where

    rows, flat = _classes_last(op_name, input, target)
    c = rows.shape[1]
    keep = flat != ignore_index
    safe = where(keep, flat, 0)
    bad = ((safe < 0) | (safe >= c)).any()
    if bool(bad):
        value = int(safe[(safe < 0) | (safe >= c)][0].item())
        raise IndexOutOfRange(f"{op_name}: target {value} is out of bounds for {c} classes (input "
                              f"{fmt_shape(input.shape)})")
    picked = rows[arange(rows.shape[0], device=rows.device), safe]
    w = keep.to(rows.dtype) if weight is None else weight[safe] * keep.to(rows.dtype)
    loss = -(picked * w)
    if reduction == "none":
        return loss.reshape(target.shape)
    return _reduce(op_name, loss, reduction, denominator=w.sum())


def _ce_samples(rng):
    r = rng.standard_normal
    return [Sample(r((4, 3)), np.array([0, 2, 1, 2])),
            Sample(r((4, 3)), np.array([0, 2, -100, 1]), reduction="sum", note="ignore_index"),
            Sample(r((3, 4)), np.array([3, 0, 1]), label_smoothing=0.2),
            Sample(r((2, 3, 2)), np.array([[0, 2], [1, 1]]), reduction="none", note="(N, C, d)"),
            Sample(r((3, 4)), rng.dirichlet(np.ones(4), 3), note="probability targets"),
            Sample(r((3, 4)), np.array([3, 0, 1]), weight=np.abs(r(4)) + 0.5, note="class weights")]


def _torch_ce(torch, input, target, **kw):
    return torch.nn.functional.cross_entropy(input, target, **kw)


@op(samples=_ce_samples, torch=_torch_ce)
def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """log_softmax + nll_loss for class-index targets, or -sum(target * log_softmax) for probability targets."""
    from .softmax import log_softmax

    if input.ndim == 0:
        raise ShapeError("cross_entropy: input must have a class dim, got a 0-d tensor")
    logp = log_softmax(input, 1 if input.ndim > 1 else 0)
    c = input.shape[1] if input.ndim > 1 else input.shape[0]
    if isinstance(target, Tensor) and target.dtype.is_floating_point:
        return _soft_cross_entropy(logp, target, weight, reduction, label_smoothing, c)
    loss = _nll("cross_entropy", logp, target, weight, ignore_index, reduction)
    if not label_smoothing:
        return loss
    # label smoothing: mix in the loss against the uniform distribution, as PyTorch does
    rows, flat = _classes_last("cross_entropy", logp, target)
    keep = (flat != ignore_index).to(rows.dtype)
    per_class = rows if weight is None else rows * weight
    smooth = -(per_class.sum(dim=1) * keep) / c
    if reduction == "none":
        smooth = smooth.reshape(target.shape)
        denominator = None
    else:
        from .index import where

        w = keep if weight is None else weight[where(flat != ignore_index, flat, 0)] * keep
        denominator = w.sum()
    return (1 - label_smoothing) * loss + label_smoothing * _reduce("cross_entropy", smooth, reduction, denominator)


def _soft_cross_entropy(logp, target, weight, reduction, label_smoothing, c):
    if target.shape != logp.shape:
        raise ShapeError(f"cross_entropy: probability targets must have the input's shape {fmt_shape(logp.shape)}, "
                         f"got {fmt_shape(target.shape)}")
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / c
    if weight is not None:
        shape = (1, c) + (1,) * (logp.ndim - 2) if logp.ndim > 1 else (c,)
        target = target * weight.reshape(shape)
    loss = -(target * logp).sum(dim=1 if logp.ndim > 1 else 0)
    return _reduce("cross_entropy", loss, reduction)


def _pair_samples(rng):
    r = rng.standard_normal
    return [Sample(r((3, 4)), r((3, 4))), Sample(r((2, 3)), r((2, 3)), reduction="sum"),
            Sample(r((2, 3)), r((2, 3)), reduction="none"), Sample(r(()), r(()))]


def _check_same_shape(op_name, input, target):
    if input.shape != target.shape:
        raise ShapeError(f"{op_name}: input {fmt_shape(input.shape)} and target {fmt_shape(target.shape)} must have "
                         "the same shape")


@op(samples=_pair_samples, torch=lambda torch, a, b, **kw: torch.nn.functional.mse_loss(a, b, **kw),
    ref=lambda a, b, reduction="mean": {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction]((a - b) ** 2))
def mse_loss(input, target, reduction="mean"):
    """Mean squared error."""
    _check_same_shape("mse_loss", input, target)
    d = input - target
    return _reduce("mse_loss", d * d, reduction)


def _l1_samples(rng):
    return [Sample(rng.standard_normal((3, 4)), rng.standard_normal((3, 4)) + 3.0),
            Sample(rng.standard_normal((2, 3)), rng.standard_normal((2, 3)) - 3.0, reduction="none")]


@op(samples=_l1_samples, torch=lambda torch, a, b, **kw: torch.nn.functional.l1_loss(a, b, **kw),
    ref=lambda a, b, reduction="mean": {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction](np.abs(a - b)))
def l1_loss(input, target, reduction="mean"):
    """Mean absolute error."""
    _check_same_shape("l1_loss", input, target)
    return _reduce("l1_loss", (input - target).abs(), reduction)
