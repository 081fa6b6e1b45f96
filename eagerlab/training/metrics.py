"""Streaming, sample-weighted epoch means: a smaller last batch counts for its samples, not as a whole batch.

Batch values are accumulated as tensors (in float64) and read on the host once, by `result()`, so a loop that
updates a metric every batch does not wait for each batch's value. Metric functions take Keras's argument order,
(y_true, y_pred), and return one value per sample.
"""
import numbers

from .._tensor import Tensor
from ..backend.dtypes import float64


def _sum(value):
    """value as something to accumulate: a float64 0-d tensor detached from the graph, or a Python number."""
    if isinstance(value, Tensor):
        return value.detach().to(float64).sum()
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(f"metric update: expected a Tensor or a real number; received {type(value).__name__}")


class Mean:
    """The weighted mean of the values given to update()."""

    def __init__(self, name="mean"):
        self.name = name
        self.reset()

    def reset(self):
        self._total, self._count = 0.0, 0.0

    def update(self, value, weight=1.0):
        """Add a value (a 0-d tensor or number: a batch's mean) with its weight (the batch's sample count, or the
        sum of its sample weights)."""
        if isinstance(value, Tensor) and value.numel() != 1:
            raise ValueError(f"Mean.update: value must be one number (a batch's mean); received a tensor of shape "
                             f"{tuple(value.shape)} (use add(values.sum(), count) for per-sample values)")
        self.add(_sum(value) * _sum(weight), weight)

    def add(self, total, count):
        """Add a sum of weighted values and the sum of their weights."""
        self._total = self._total + _sum(total)
        self._count = self._count + _sum(count)

    def result(self):
        """The mean so far as a float (one host read); 0.0 before any update, as in Keras."""
        total, count = (float(v.item()) if isinstance(v, Tensor) else v for v in (self._total, self._count))
        return total / count if count else 0.0


class MeanMetricWrapper(Mean):
    """The weighted mean over samples of fn(y_true, y_pred), a value per sample."""

    def __init__(self, fn, name=None, **kwargs):
        super().__init__(name or fn.__name__)
        self.fn, self.kwargs = fn, kwargs

    def update(self, y_true, y_pred, sample_weight=None):
        values = self.fn(y_true, y_pred, **self.kwargs)
        if sample_weight is None:
            self.add(values, values.shape[0] if values.ndim else 1)
        else:
            self.add(values * sample_weight.reshape(values.shape), sample_weight)


def _labels(y_true):
    """Integer labels of shape (N,) from (N,) or Keras's (N, 1)."""
    return y_true.reshape(-1) if y_true.ndim > 1 else y_true


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the highest-scoring class of y_pred (N, C) is the label y_true (N,) or (N, 1), else 0.0."""
    return (y_pred.argmax(-1) == _labels(y_true).long()).float()


def categorical_accuracy(y_true, y_pred):
    """1.0 where y_pred's and the one-hot y_true's highest entries are in the same place."""
    return (y_pred.argmax(-1) == y_true.argmax(-1)).float()


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """The fraction of each sample's entries where (y_pred > threshold) equals y_true."""
    hits = ((y_pred > threshold).float() == y_true.float()).float()
    return hits.mean(-1) if hits.ndim > 1 else hits


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the label's score is among y_pred's k highest (fewer than k classes score strictly higher)."""
    target = y_pred.gather(-1, _labels(y_true).long().reshape(-1, 1))
    return ((y_pred > target).sum(-1) < k).float()


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """sparse_top_k_categorical_accuracy with a one-hot y_true."""
    return sparse_top_k_categorical_accuracy(y_true.argmax(-1), y_pred, k)
