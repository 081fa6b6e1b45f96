"""Keras metrics (`metrics=["accuracy"]` or `keras.metrics.SparseCategoricalAccuracy()`): streaming,
sample-weighted epoch means over eagerlab.training.metrics' per-sample functions."""
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

_BY_NAME = {"sparse_categorical_accuracy": SparseCategoricalAccuracy, "categorical_accuracy": CategoricalAccuracy,
            "binary_accuracy": BinaryAccuracy, "top_k_categorical_accuracy": TopKCategoricalAccuracy,
            "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy}


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
        return _BY_NAME[identifier]()
    if callable(identifier):
        return MeanMetricWrapper(identifier, getattr(identifier, "__name__", "metric"))
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}; expected 'accuracy', one of "
                     f"{sorted(_BY_NAME)}, a keras.metrics.Metric or a function f(y_true, y_pred)")


def resolve(metrics, loss):
    """The metrics fit/evaluate track: the loss's mean first, then the compiled metrics."""
    if isinstance(metrics, (str, Metric)) or callable(metrics):
        metrics = [metrics]
    return [Mean("loss"), *(get(m, loss) for m in metrics)]
