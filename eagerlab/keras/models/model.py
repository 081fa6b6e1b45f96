"""keras.Model: a Layer (so an eagerlab nn.Module) with compile / fit / evaluate / predict / summary / save.
Subclass it and define `call`, or use Sequential."""
import numpy as np

from ...autograd.grad_mode import no_grad
from ...errors import UnsupportedError
from ...graph.function import Function
from ...training.step import batch_polymorphic, make_eval_step, make_train_step
from .. import losses as keras_losses
from .. import metrics as keras_metrics
from .. import optimizers as keras_optimizers
from ..layers.base import Layer
from ..mixed_precision import LossScaleOptimizer, float32_outputs
from . import loops
from .data import batches


class Model(Layer):
    """A Keras model: `keras.Model(inputs, outputs)` (the functional API: a models.functional.Functional), a
    subclass that defines call(), or a Sequential."""

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs):
            from .functional import Functional

            return Layer.__new__(Functional)
        return Layer.__new__(cls)

    def __init__(self, *, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self.optimizer = self.loss = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._steps = {}

    # ---- compile ----------------------------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, run_eagerly=False,
                jit_compile="auto", weighted_metrics=None, steps_per_execution=1):
        """Keras's compile: the optimizer, the loss and the metrics fit and evaluate use (strings or objects). A
        model with several outputs takes one loss for all, a list or a dict by output name, with loss_weights."""
        if weighted_metrics is not None:
            raise UnsupportedError("compile: weighted_metrics is not supported yet; metrics use fit's sample_weight")
        if steps_per_execution != 1:
            raise UnsupportedError("compile: steps_per_execution other than 1 is not supported yet")
        self.optimizer = keras_optimizers.get(optimizer)
        if self.dtype_policy.name == "mixed_float16" and not isinstance(self.optimizer, LossScaleOptimizer):
            self.optimizer = LossScaleOptimizer(self.optimizer)  # as Keras: float16 gradients need loss scaling
        self._compile_config = {"loss": loss, "metrics": metrics, "loss_weights": loss_weights}
        names = self._output_names()
        if names is None:
            if loss_weights is not None:
                raise ValueError("compile: loss_weights is for a model with several outputs")
            self.loss = None if loss is None else keras_losses.get(loss)
            self._loss_weights = None
            self._metrics = keras_metrics.resolve(metrics or [], self.loss)
        else:
            self.loss = None if loss is None else per_output(loss, names, keras_losses.get, "loss")
            self._loss_weights = per_output(1.0 if loss_weights is None else loss_weights, names, float,
                                            "loss_weights")
            self._metrics = keras_metrics.resolve_per_output(metrics or [], self.loss or [None] * len(names), names)
        self.run_eagerly = bool(run_eagerly)
        self.compiled = True
        self._steps = {}

    def _check_compiled(self, what):
        if not self.compiled or self.loss is None:
            raise RuntimeError(f"You must call compile(optimizer, loss) before {what}(); e.g. model.compile("
                               "optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])")

    def _output_names(self):
        """The names of the model's outputs when it has several (a functional model), else None."""
        return None

    def _per_sample_loss(self, output, y):
        """The compiled loss, one value per sample (the loss_weights-weighted sum over outputs for a model with
        several), plus the layers' regularization terms. Losses are computed in float32, as in Keras (a mixed
        precision model's float16 outputs are cast)."""
        output = float32_outputs(output)
        if self._loss_weights is None:
            loss = keras_losses.per_sample(self.loss, y, output)
        else:
            if not isinstance(y, (list, tuple)) or len(y) != len(self.loss):
                raise ValueError(f"{self.name}: a model with {len(self.loss)} outputs needs y as a list of "
                                 f"{len(self.loss)} arrays")
            loss = sum(w * keras_losses.per_sample(fn, t, o)
                       for fn, w, t, o in zip(self.loss, self._loss_weights, y, output))
        for term in self.losses:
            loss = loss + term
        return loss

    def _ensure_built(self, data):
        """Build every layer from the data's first sample when some are not built yet (as Keras builds on the
        first batch), in inference mode so that no statistic or random state moves."""
        if all(layer.built for layer in self._keras_layers()):
            return
        training = self.training
        self.eval()
        with no_grad():
            self(data.sample())
        self.train(training)

    def _train_step(self):
        if "train" not in self._steps:
            optimizer = self.optimizer.build(p for p in self.parameters() if p.requires_grad)
            self._steps["train"] = make_train_step(self, self._per_sample_loss, optimizer,
                                                   run_eagerly=self.run_eagerly, weighting="sum_over_batch_size",
                                                   clip_grad_norm=self.optimizer.global_clipnorm,
                                                   scaler=getattr(self.optimizer, "scaler", None))
        return self._steps["train"]

    def _eval_step(self):
        if "eval" not in self._steps:
            self._steps["eval"] = make_eval_step(self, self._per_sample_loss, run_eagerly=self.run_eagerly,
                                                 weighting="sum_over_batch_size")
        return self._steps["eval"]

    def _predict_function(self, x):
        """The forward predict runs: compiled once for every batch size (x: the first batch)."""
        if getattr(self, "run_eagerly", False):
            return self
        if "predict" not in self._steps:
            self._steps["predict"] = Function(self.__call__, batch_polymorphic((x,)),
                                              name=f"{type(self).__name__}.predict")
        return self._steps["predict"]

    def _metric_objects(self):
        return self._metrics

    @property
    def metrics_names(self):
        return [m.name for m in self._metrics]

    # ---- fit / evaluate / predict -------------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Train for `epochs` epochs; returns the History (history.history: {"loss": [...], "val_loss": ...})."""
        self._check_compiled("fit")
        if validation_freq != 1:
            raise UnsupportedError("fit: validation_freq other than 1 is not supported yet")
        if class_weight is not None:
            sample_weight = _class_weights(class_weight, y, sample_weight)
        train = batches(x, y, sample_weight, batch_size, shuffle, steps_per_epoch)
        val = None
        if validation_data is not None:
            val = batches(*_unpack(validation_data), batch_size=validation_batch_size or batch_size,
                          steps=validation_steps)
        elif validation_split:
            if not hasattr(train, "split"):
                raise ValueError("validation_split needs array data; pass validation_data with a DataLoader")
            train, val = train.split(validation_split)
        self._ensure_built(train)
        verbose = _verbosity(verbose)
        params = {"epochs": epochs, "steps": len(train), "verbose": verbose}
        cbs = loops.callback_list(self, callbacks, params, history=True)
        return loops.fit_loop(self, train, val, epochs, initial_epoch, cbs, verbose)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """The loss (and metrics) over the data: a float, [loss, *metrics], or a dict with return_dict."""
        self._check_compiled("evaluate")
        data = batches(x, y, sample_weight, batch_size, False, steps)
        self._ensure_built(data)
        cbs = loops.callback_list(self, callbacks, {"steps": len(data), "verbose": _verbosity(verbose)})
        logs = loops.evaluate_loop(self, data, cbs, _verbosity(verbose))
        if return_dict:
            return logs
        values = [logs[m.name] for m in self._metrics]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs for x, batched, as a numpy array."""
        data = batches(x, batch_size=batch_size, steps=steps)
        self._ensure_built(data)
        cbs = loops.callback_list(self, callbacks, {"steps": len(data), "verbose": _verbosity(verbose)})
        return loops.predict_loop(self, data, len(data), cbs, _verbosity(verbose))

    def train_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._check_compiled("train_on_batch")
        return self._on_batch(x, y, sample_weight, return_dict, training=True)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._check_compiled("test_on_batch")
        return self._on_batch(x, y, sample_weight, return_dict, training=False)

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=_samples(x), verbose=0)

    def _on_batch(self, x, y, sample_weight, return_dict, training):
        data = batches(x, y, sample_weight, batch_size=_samples(x))
        self._ensure_built(data)
        logs = loops.run_epoch(self, data, loops.CallbackList(), None, training)
        values = [logs[m.name] for m in self._metrics]
        return logs if return_dict else (values[0] if len(values) == 1 else values)

    # ---- inspection and saving --------------------------------------------------------------------------------
    def _layer_output_shapes(self):
        """(layer, output shape or None when unknown) for each sublayer, for summary()."""
        return [(layer, None) for layer in self.children() if isinstance(layer, Layer)]

    def summary(self, line_length=None, print_fn=None):
        from .summary import summary

        text = summary(self, line_length)
        (print_fn or print)(text)

    def save(self, filepath, overwrite=True):
        from .saving import save_model

        save_model(self, filepath, overwrite)

    def save_weights(self, filepath, overwrite=True):
        from .saving import save_weights

        save_weights(self, filepath, overwrite)

    def load_weights(self, filepath):
        from .saving import load_weights

        load_weights(self, filepath)


def _samples(x):
    """How many samples x holds (x: an array, or a multi-input model's list of arrays)."""
    return len(x[0]) if isinstance(x, (list, tuple)) else len(x)


def per_output(spec, names, convert, what):
    """One `convert(item)` per output from a single item (shared), a list (in output order) or a dict by name."""
    if isinstance(spec, dict):
        missing = [n for n in names if n not in spec]
        if missing or set(spec) - set(names):
            raise ValueError(f"compile: {what} by name must name the outputs {names}; got {sorted(spec)}")
        return [convert(spec[n]) for n in names]
    if isinstance(spec, (list, tuple)):
        if len(spec) != len(names):
            raise ValueError(f"compile: {what} has {len(spec)} entries for {len(names)} outputs {names}")
        return [convert(item) for item in spec]
    return [convert(spec)] * len(names)


def _class_weights(class_weight, y, sample_weight):
    """Per-sample weights from {class: weight} (times sample_weight when given), as Keras's class_weight."""
    if y is None or not hasattr(y, "__len__") or isinstance(y, (list, tuple)):
        raise ValueError("fit: class_weight needs y as one array of labels")
    labels = np.asarray(y.numpy() if hasattr(y, "numpy") else y)
    labels = labels.argmax(-1) if labels.ndim == 2 and labels.shape[1] > 1 else labels.reshape(len(labels))
    missing = sorted(set(np.unique(labels).tolist()) - set(class_weight))
    if missing:
        raise ValueError(f"fit: class_weight has no weight for the classes {missing}")
    weights = np.asarray([class_weight[int(c)] for c in labels], dtype=np.float32)
    return weights if sample_weight is None else weights * np.asarray(sample_weight, dtype=np.float32)


def _unpack(validation_data):
    if isinstance(validation_data, (tuple, list)):
        if not 2 <= len(validation_data) <= 3:
            raise ValueError(f"validation_data must be (x, y) or (x, y, sample_weight), got {len(validation_data)} "
                             "items")
        return validation_data
    return (validation_data,)


def _verbosity(verbose):
    """Keras's "auto" is 1 (a progress bar); the bar itself prints one line per epoch when not on a terminal."""
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    return verbose
