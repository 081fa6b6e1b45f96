"""The train and eval steps every front end's loop runs: one `eagerlab.function` each, traced once per fit.

A step returns the loss as a 0-d tensor and never reads it on the host: the loop reads it once per batch (for the
progress bar, or `is_finite` to stop on a NaN), so nothing inside the step waits for a value.
"""
from contextlib import nullcontext

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..graph.function import Function
from ..graph.pytree import flatten, unflatten
from ..graph.spec import TensorSpec
from ..nn.utils.clip_grad import clip_grad_norm_

WEIGHTINGS = ("mean", "sum_over_batch_size")


def is_finite(loss):
    """True when the 0-d loss tensor is finite: one host read."""
    return bool(loss.isfinite().all().item())


def batch_polymorphic(args):
    """An input_signature for args (nested tensors) whose leading (batch) dimension takes any size."""
    leaves, treedef = flatten(args)
    for x in leaves:
        if not isinstance(x, Tensor) or x.ndim == 0:
            raise TypeError("train/eval step: x, y and sample_weight must be tensors (or tuples/lists/dicts of "
                            f"them) with a batch dimension; got {type(x).__name__}"
                            + (" of 0 dimensions" if isinstance(x, Tensor) else ""))
    return list(unflatten(treedef, [TensorSpec((None,) + tuple(x.shape[1:]), x.dtype, device=x.device)
                                    for x in leaves]))


def _detached(flat):
    leaves, treedef = flat
    return treedef, [x.detach() if isinstance(x, Tensor) else x for x in leaves]


def reduce_loss(loss, sample_weight=None, weighting="mean"):
    """The batch's loss as a 0-d tensor from what a loss function returned (0-d, or one entry per sample).

    weighting, with sample_weight: "mean" is sum(l * w) / sum(w); "sum_over_batch_size" (Keras) sum(l * w) / N."""
    if loss.ndim == 0:
        if sample_weight is not None:
            raise ValueError("sample_weight needs a per-sample loss, but loss_fn returned a 0-d tensor; "
                             "build the loss with reduction='none'")
        return loss
    if loss.ndim > 1:  # (N, ...) per-element losses: a sample's loss is their mean, as in Keras
        loss = loss.flatten(1).mean(1)
    if sample_weight is None:
        return loss.mean()
    weighted = (loss * sample_weight.reshape(-1)).sum()
    if weighting == "mean":
        return weighted / sample_weight.sum()
    return weighted / loss.shape[0]


class _Step:
    """A step compiled on first call with a batch-polymorphic input_signature, one Function per argument
    structure (with or without sample_weight), or the same Python run eagerly."""

    def __init__(self, model, loss_fn, run_eagerly=False, weighting="mean"):
        if weighting not in WEIGHTINGS:
            raise ValueError(f"{type(self).__name__}: weighting must be one of {WEIGHTINGS}; received {weighting!r}")
        self.model, self.loss_fn, self.weighting = model, loss_fn, weighting
        self.run_eagerly = bool(run_eagerly)
        self.functions = {}  # number of arguments (2, or 3 with sample_weight) -> Function

    def __call__(self, x, y, sample_weight=None):
        args = (x, y) if sample_weight is None else (x, y, sample_weight)
        if self.run_eagerly:
            return self._run(*args)
        fn = self.functions.get(len(args))
        if fn is None:
            fn = self.functions[len(args)] = Function(self._run, batch_polymorphic(args), name=type(self).__name__)
        return fn(*args)

    @property
    def trace_count(self):
        return sum(fn.trace_count for fn in self.functions.values())

    def _run(self, x, y, sample_weight=None):
        raise NotImplementedError


class TrainStep(_Step):
    """zero_grad, forward, loss, backward, optional gradient clipping, optimizer step; returns (the 0-d loss, the
    model's output), detached (a front end's training metrics read the output)."""

    def __init__(self, model, loss_fn, optimizer, clip_grad_norm=None, run_eagerly=False, weighting="mean",
                 scaler=None, autocast=None):
        super().__init__(model, loss_fn, run_eagerly, weighting)
        if clip_grad_norm is not None and not clip_grad_norm > 0:
            raise ValueError(f"TrainStep: clip_grad_norm must be positive or None; received {clip_grad_norm!r}")
        self.optimizer, self.clip_grad_norm = optimizer, clip_grad_norm
        self.scaler, self.autocast = scaler, autocast

    def _run(self, x, y, sample_weight=None):
        self.optimizer.zero_grad()
        with self.autocast() if self.autocast is not None else nullcontext():
            output = self.model(x)
            loss = reduce_loss(self.loss_fn(output, y), sample_weight, self.weighting)
        if self.scaler is None:
            loss.backward()
            if self.clip_grad_norm is not None:
                clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
            self.optimizer.step()
        else:  # dynamic loss scaling (float16): a step whose gradients overflowed is skipped, the scale adapts
            self.scaler.scale(loss).backward()
            if self.clip_grad_norm is not None:
                self.scaler.unscale_(self.optimizer)
                clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
            self.scaler.step(self.optimizer)
            self.scaler.update()
        return loss.detach(), unflatten(*_detached(flatten(output)))


class EvalStep(_Step):
    """Forward and loss without gradients; returns (0-d loss, model output). The caller puts the model in eval
    mode (dropout, batch norm) first: a step never changes it."""

    def __call__(self, x, y, sample_weight=None):
        with no_grad():
            return super().__call__(x, y, sample_weight)

    def _run(self, x, y, sample_weight=None):
        output = self.model(x)
        return reduce_loss(self.loss_fn(output, y), sample_weight, self.weighting), output


def make_train_step(model, loss_fn, optimizer, *, clip_grad_norm=None, run_eagerly=False, weighting="mean",
                    scaler=None, autocast=None):
    """A callable `step(x, y, sample_weight=None) -> (0-d loss, output)` training model for one batch.

    loss_fn(output, y) returns a 0-d loss or one per sample (reduction="none"; needed for sample_weight).
    clip_grad_norm: clip the gradients' total 2-norm to this before the optimizer step.
    scaler: an eagerlab.amp.GradScaler scaling the loss (float16 mixed precision); autocast: a callable returning
    the context (eagerlab.autocast(...)) the forward and the loss run in."""
    return TrainStep(model, loss_fn, optimizer, clip_grad_norm, run_eagerly, weighting, scaler, autocast)


def make_eval_step(model, loss_fn, *, run_eagerly=False, weighting="mean"):
    """A callable `step(x, y, sample_weight=None) -> (0-d loss, output)` evaluating model on one batch."""
    return EvalStep(model, loss_fn, run_eagerly, weighting)
