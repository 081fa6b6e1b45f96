"""Keras metrics (`metrics=["accuracy"]` or `keras.metrics.SparseCategoricalAccuracy()`): streaming,
sample-weighted epoch means over eagerlab.training.metrics' per-sample functions."""
import numpy as np

from ..ops.creation import tensor
from ..training import metrics as streaming
from . import losses as keras_losses


class Metric:
    """Keras's metric API (update_state / result / reset_state) over a streaming mean."""

    def __init__(self, mean):
        self._mean = mean

    @property
    def name(self):
        return self._mean.name

    def reset_state(self):
        self._mean.reset()

    def result(self):
        return self._mean.result()


class Mean(Metric):
    """The weighted mean of the values given (the loss tracker of fit/evaluate)."""

    def __init__(self, name="mean"):
        super().__init__(streaming.Mean(name))

    def update_state(self, value, sample_weight=1.0):
        self._mean.update(value, sample_weight)


class MeanMetricWrapper(Metric):
    """The mean over samples of fn(y_true, y_pred), one value per sample."""

    def __init__(self, fn, name=None, **kwargs):
        super().__init__(streaming.MeanMetricWrapper(fn, name, **kwargs))

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._mean.update(y_true, y_pred, sample_weight)


def _metric_class(fn, default_name, **fixed):
    class _Metric(MeanMetricWrapper):
        def __init__(self, name=default_name, **kwargs):
            super().__init__(fn, name, **{**fixed, **kwargs})

    return _Metric


SparseCategoricalAccuracy = _metric_class(streaming.sparse_categorical_accuracy, "sparse_categorical_accuracy")
CategoricalAccuracy = _metric_class(streaming.categorical_accuracy, "categorical_accuracy")
BinaryAccuracy = _metric_class(streaming.binary_accuracy, "binary_accuracy")
TopKCategoricalAccuracy = _metric_class(streaming.top_k_categorical_accuracy, "top_k_categorical_accuracy")
SparseTopKCategoricalAccuracy = _metric_class(streaming.sparse_top_k_categorical_accuracy,
                                              "sparse_top_k_categorical_accuracy")
for _cls, _name in ((SparseCategoricalAccuracy, "SparseCategoricalAccuracy"),
                    (CategoricalAccuracy, "CategoricalAccuracy"), (BinaryAccuracy, "BinaryAccuracy"),
                    (TopKCategoricalAccuracy, "TopKCategoricalAccuracy"),
                    (SparseTopKCategoricalAccuracy, "SparseTopKCategoricalAccuracy")):
    _cls.__name__ = _cls.__qualname__ = _name

MeanAbsoluteError = _metric_class(keras_losses.MeanAbsoluteError().call, "mean_absolute_error")
MeanSquaredError = _metric_class(keras_losses.MeanSquaredError().call, "mean_squared_error")
MeanAbsoluteError.__name__ = MeanAbsoluteError.__qualname__ = "MeanAbsoluteError"
MeanSquaredError.__name__ = MeanSquaredError.__qualname__ = "MeanSquaredError"


class _Ratio(Metric):
    """A ratio of counts over the epoch (precision: true positives / predicted positives), binary at 0.5."""

    def __init__(self, name, thresholds=0.5):
        super().__init__(streaming.Mean(name))
        self.threshold = float(thresholds)

    def update_state(self, y_true, y_pred, sample_weight=None):
        n = y_pred.shape[0]
        predicted = (y_pred > self.threshold).float().reshape(n, -1)
        actual = y_true.float().reshape(n, -1)
        w = 1.0 if sample_weight is None else sample_weight.float().reshape(n, 1)
        self._mean.add((predicted * actual * w).sum(), (self._denominator(predicted, actual) * w).sum())


class Precision(_Ratio):
    def __init__(self, thresholds=0.5, name="precision"):
        super().__init__(name, thresholds)

    @staticmethod
    def _denominator(predicted, actual):
        return predicted


class Recall(_Ratio):
    def __init__(self, thresholds=0.5, name="recall"):
        super().__init__(name, thresholds)

    @staticmethod
    def _denominator(predicted, actual):
        return actual


class AUC(Metric):
    """The area under the ROC curve, from true/false positive counts at `num_thresholds` thresholds accumulated
    over the epoch (Keras's thresholds and trapezoidal sum)."""

    def __init__(self, num_thresholds=200, name="auc"):
        self.name_, self.num_thresholds = name, int(num_thresholds)
        eps = 1e-7
        inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self._thresholds = np.array([-eps, *inner, 1 + eps], np.float32)
        self.reset_state()

    @property
    def name(self):
        return self.name_

    def reset_state(self):
        self._counts = None  # (tp, fp, positives, negatives) per threshold, as tensors

    def update_state(self, y_true, y_pred, sample_weight=None):
        above = (y_pred.reshape(-1, 1) > tensor(self._thresholds, device=y_pred.device)).double()
        actual = y_true.double().reshape(-1, 1)
        w = 1.0 if sample_weight is None else sample_weight.double().reshape(-1, 1)
        batch = ((above * actual * w).sum(0), (above * (1 - actual) * w).sum(0), (actual * w).sum(),
                 ((1 - actual) * w).sum())
        self._counts = batch if self._counts is None else tuple(a + b for a, b in zip(self._counts, batch))

    def result(self):
        if self._counts is None:
            return 0.0
        tp, fp, pos, neg = (c.numpy() for c in self._counts)
        tpr = tp / max(float(pos), 1e-12)
        fpr = fp / max(float(neg), 1e-12)
        return float(np.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2))


_BY_NAME = {"sparse_categorical_accuracy": SparseCategoricalAccuracy, "categorical_accuracy": CategoricalAccuracy,
            "binary_accuracy": BinaryAccuracy, "top_k_categorical_accuracy": TopKCategoricalAccuracy,
            "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy, "mae": MeanAbsoluteError,
            "mean_absolute_error": MeanAbsoluteError, "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
            "precision": Precision, "recall": Recall, "auc": AUC}


def _accuracy_for(loss):
    """What "accuracy" means for this loss, as Keras resolves it."""
    if isinstance(loss, keras_losses.SparseCategoricalCrossentropy):
        return SparseCategoricalAccuracy
    if isinstance(loss, keras_losses.BinaryCrossentropy):
        return BinaryAccuracy
    return CategoricalAccuracy


def get(identifier, loss=None):
    """A metric from a name ("accuracy"/"acc" resolved from the loss as Keras does) or a Metric."""
    if isinstance(identifier, Metric):
        return identifier
    if identifier in ("accuracy", "acc"):
        return _accuracy_for(loss)(name=identifier)
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier](name=identifier)  # (Keras names the logs by the string given)
    if callable(identifier):
        return MeanMetricWrapper(identifier, getattr(identifier, "__name__", "metric"))
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}; expected 'accuracy', one of "
                     f"{sorted(_BY_NAME)}, a keras.metrics.Metric or a function f(y_true, y_pred)")


class _OfOutput:
    """A metric (or a loss, as a per-output loss mean) reading one output of a model with several."""

    def __init__(self, metric, index, name):
        self.metric, self.index, self.name = metric, index, name

    def reset_state(self):
        self.metric.reset_state()

    def result(self):
        return self.metric.result()

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.metric.update_state(y_true[self.index], y_pred[self.index], sample_weight)


def resolve_per_output(metrics, losses, names):
    """For a model with several outputs, as Keras names them: "loss" (the weighted total), "<output>_loss" per
    output, then each metric per output as "<output>_<metric>" (metrics: one list for all outputs, or a dict or
    list of lists by output)."""
    if isinstance(metrics, dict):
        per = [metrics.get(n, []) for n in names]
    elif metrics and all(isinstance(m, (list, tuple)) for m in metrics) and len(metrics) == len(names):
        per = list(metrics)
    else:
        per = [metrics] * len(names)
    out = [Mean("loss")]
    for i, (name, loss) in enumerate(zip(names, losses)):
        if loss is not None:
            fn = loss.call if isinstance(loss, keras_losses.Loss) else loss
            out.append(_OfOutput(MeanMetricWrapper(fn), i, f"{name}_loss"))
    for i, (name, loss, wanted) in enumerate(zip(names, losses, per)):
        for m in [wanted] if isinstance(wanted, str) else wanted:
            metric = get(m, loss)
            out.append(_OfOutput(metric, i, f"{name}_{metric.name}"))
    return out


def resolve(metrics, loss):
    """The metrics fit/evaluate track: the loss's mean first, then the compiled metrics."""
    if isinstance(metrics, (str, Metric)) or callable(metrics):
        metrics = [metrics]
    return [Mean("loss"), *(get(m, loss) for m in metrics)]
