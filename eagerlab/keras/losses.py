"""Keras losses: `loss(y_true, y_pred, sample_weight=None)` -> a 0-d tensor, Keras's order of arguments and its
"sum over batch size" reduction (per-sample losses times their weights, summed, divided by the batch size).
Probabilities (from_logits=False, Keras's default) are clipped to [1e-7, 1 - 1e-7] before the log, as Keras does."""
import numpy as np

from ..nn import functional as F
from .._tensor import Tensor
from ..errors import ShapeError, fmt_shape
from ..ops.creation import as_tensor

EPSILON = 1e-7


def _tensor(x, dtype=None):
    if isinstance(x, Tensor):
        return x
    return as_tensor(np.asarray(x, dtype=dtype) if dtype is not None else np.asarray(x))


class Loss:
    """Base: subclasses implement `call(y_true, y_pred)` -> one loss per sample (shape: the batch)."""

    def __init__(self, name=None, reduction="sum_over_batch_size"):
        if reduction not in ("sum_over_batch_size", "sum", "none"):
            raise ValueError(f"{type(self).__name__}: reduction must be 'sum_over_batch_size', 'sum' or 'none', "
                             f"got {reduction!r}")
        self.name, self.reduction = name or _snake(type(self).__name__), reduction

    def __call__(self, y_true, y_pred, sample_weight=None):
        per_sample = self.call(_tensor(y_true), _tensor(y_pred))
        if sample_weight is not None:
            per_sample = per_sample * _tensor(sample_weight).to(per_sample.dtype).reshape(per_sample.shape)
        if self.reduction == "none":
            return per_sample
        total = per_sample.sum()
        return total if self.reduction == "sum" else total / max(per_sample.numel(), 1)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _FromLogits(Loss):
    def __init__(self, from_logits=False, name=None, reduction="sum_over_batch_size"):
        super().__init__(name, reduction)
        self.from_logits = bool(from_logits)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}


class SparseCategoricalCrossentropy(_FromLogits):
    """Integer class labels against class probabilities (or logits) on the last axis."""

    def call(self, y_true, y_pred):
        labels = y_true.long().reshape(-1) if y_true.ndim == y_pred.ndim else y_true.long()
        if labels.shape != y_pred.shape[:-1] and labels.numel() == y_pred.shape[:-1].numel():
            labels = labels.reshape(y_pred.shape[:-1])
        if labels.shape != y_pred.shape[:-1]:
            raise ShapeError(f"{self.name}: labels of shape {fmt_shape(y_true.shape)} do not match predictions of "
                             f"shape {fmt_shape(y_pred.shape)} (one integer class per row expected)")
        log_p = F.log_softmax(y_pred, -1) if self.from_logits else _log_probabilities(y_pred)
        return -log_p.gather(-1, labels.unsqueeze(-1)).squeeze(-1)


class CategoricalCrossentropy(_FromLogits):
    """One-hot (or soft) labels against class probabilities (or logits) on the last axis."""

    def call(self, y_true, y_pred):
        y = _matched(self, y_true, y_pred)
        log_p = F.log_softmax(y_pred, -1) if self.from_logits else _log_probabilities(y_pred)
        return -(y * log_p).sum(-1)


class BinaryCrossentropy(_FromLogits):
    """0/1 labels against probabilities (or logits), averaged over the last axis."""

    def call(self, y_true, y_pred):
        y = _matched(self, y_true, y_pred)
        if self.from_logits:
            loss = F.binary_cross_entropy_with_logits(y_pred, y, reduction="none")
        else:
            p = y_pred.clamp(EPSILON, 1 - EPSILON)
            loss = -(y * p.log() + (1 - y) * (1 - p).log())
        return loss.mean(-1)


class MeanSquaredError(Loss):
    def call(self, y_true, y_pred):
        return ((y_pred - _matched(self, y_true, y_pred)) ** 2).mean(-1)


class MeanAbsoluteError(Loss):
    def call(self, y_true, y_pred):
        return (y_pred - _matched(self, y_true, y_pred)).abs().mean(-1)


class Huber(Loss):
    def __init__(self, delta=1.0, name=None, reduction="sum_over_batch_size"):
        super().__init__(name, reduction)
        self.delta = float(delta)

    def call(self, y_true, y_pred):
        return F.huber_loss(y_pred, _matched(self, y_true, y_pred), reduction="none", delta=self.delta).mean(-1)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


def per_sample(loss, y_true, y_pred):
    """A compiled loss's value per sample: a Loss's call(), or a function f(y_true, y_pred) as it is."""
    return loss.call(y_true, y_pred) if isinstance(loss, Loss) else loss(y_true, y_pred)


def _log_probabilities(p):
    """log of probabilities renormalized over the last axis and clipped away from 0 and 1, as Keras does."""
    p = p / p.sum(-1, keepdim=True)
    return p.clamp(EPSILON, 1 - EPSILON).log()


def _matched(loss, y_true, y_pred):
    """y_true in y_pred's shape and dtype: (n,) labels for (n, 1) predictions are reshaped, as Keras squeezes or
    expands the ranks to match; other differences are an error."""
    if y_true.shape != y_pred.shape and abs(y_true.ndim - y_pred.ndim) == 1 and y_true.numel() == y_pred.numel():
        y_true = y_true.reshape(y_pred.shape)
    if y_true.shape != y_pred.shape:
        raise ShapeError(f"{loss.name}: y_true of shape {fmt_shape(y_true.shape)} and y_pred of shape "
                         f"{fmt_shape(y_pred.shape)} must match")
    return y_true.to(y_pred.dtype)


def _snake(name):
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))


_BY_NAME = {
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "huber": Huber, "huber_loss": Huber,
}
_CLASSES = {cls.__name__: cls for cls in set(_BY_NAME.values())}


def get(identifier):
    """A Loss from a Keras name, a config dict, a Loss, or a function f(y_true, y_pred) (used as is)."""
    if isinstance(identifier, Loss) or (callable(identifier) and not isinstance(identifier, (str, dict, type))):
        return identifier
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        return _CLASSES[identifier["class_name"]].from_config(identifier.get("config", {}))
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}; expected one of {sorted(_BY_NAME)}, a "
                     "keras.losses.Loss or a function f(y_true, y_pred)")


def serialize(loss):
    if isinstance(loss, Loss) and type(loss).__name__ in _CLASSES:
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    raise ValueError(f"cannot serialize the loss {loss!r}: only keras.losses classes can be saved in a model file")
