"""Keras callbacks: the hook names of keras.callbacks.Callback, called by fit/evaluate/predict through the one
dispatcher of eagerlab.training.callbacks."""
import csv
import math
import os

import numpy as np


class Callback:
    """Base class: override the hooks you need (on_epoch_end(epoch, logs), on_train_batch_end(batch, logs), ...)."""

    def __init__(self):
        self.model, self.params = None, {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params


class History(Callback):
    """Records every epoch's logs: history.history = {"loss": [...], "accuracy": [...], "val_loss": [...]}."""

    def on_train_begin(self, logs=None):
        self.epoch, self.history = [], {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


class LambdaCallback(Callback):
    """Callbacks from functions: LambdaCallback(on_epoch_end=lambda epoch, logs: ...)."""

    _HOOKS = ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end", "on_train_batch_begin",
              "on_train_batch_end")

    def __init__(self, **hooks):
        super().__init__()
        unknown = sorted(set(hooks) - set(self._HOOKS))
        if unknown:
            raise TypeError(f"LambdaCallback: unknown hooks {unknown}; expected some of {list(self._HOOKS)}")
        for name, fn in hooks.items():
            setattr(self, name, fn)


def _monitored(callback, logs):
    value = (logs or {}).get(callback.monitor)
    if value is None:
        import warnings

        warnings.warn(f"{type(callback).__name__}: the metric {callback.monitor!r} is not in the logs "
                      f"(available: {sorted(logs or {})})", RuntimeWarning, stacklevel=3)
    return value


def _better(mode, monitor):
    """The comparison for `mode` ("min", "max", "auto": max for accuracy-like names)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "max" or mode == "auto" and ("acc" in monitor or monitor.startswith("fmeasure") or "auc" in monitor):
        return np.greater
    return np.less


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by min_delta for `patience` epochs (optionally restoring the best
    weights)."""

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor, self.patience, self.verbose = monitor, patience, verbose
        self.baseline, self.restore_best_weights, self.start_from_epoch = baseline, restore_best_weights, \
            start_from_epoch
        self.monitor_op = _better(mode, monitor)
        self.min_delta = abs(min_delta) if self.monitor_op is np.greater else -abs(min_delta)

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_weights, self.best_epoch = 0, 0, None, 0
        self.best = self.baseline if self.baseline is not None else (
            -math.inf if self.monitor_op is np.greater else math.inf)

    def on_epoch_end(self, epoch, logs=None):
        current = _monitored(self, logs)
        if current is None or epoch < self.start_from_epoch:
            return
        self.wait += 1
        if self.monitor_op(current - self.min_delta, self.best):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            if self.restore_best_weights:
                self.best_weights = {k: v.clone() for k, v in self.model.state_dict().items()}
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                self.model.load_state_dict(self.best_weights)

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class ModelCheckpoint(Callback):
    """Save the model (or its weights) after each epoch, or only when `monitor` improved (save_best_only).
    The path may hold {epoch} and log names: "ckpt-{epoch:02d}-{val_loss:.2f}.keras"."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__()
        if save_freq != "epoch":
            raise ValueError("ModelCheckpoint: only save_freq='epoch' is supported yet")
        self.filepath, self.monitor, self.verbose = os.fspath(filepath), monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.monitor_op = _better(mode, monitor)
        self.best = initial_value_threshold if initial_value_threshold is not None else (
            -math.inf if self.monitor_op is np.greater else math.inf)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            current = _monitored(self, logs)
            if current is None or not self.monitor_op(current, self.best):
                return
            self.best = current
        path = self.filepath.format(epoch=epoch + 1, **logs)
        (self.model.save_weights if self.save_weights_only else self.model.save)(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}")


class LearningRateScheduler(Callback):
    """Set the learning rate at each epoch's start to schedule(epoch, lr)."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = float(self.schedule(epoch, self.model.optimizer.learning_rate))
        self.model.optimizer.learning_rate = lr
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.model.optimizer.learning_rate


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by `factor` when `monitor` has not improved for `patience` epochs."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0, got {factor}")
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.min_delta, self.cooldown, self.min_lr = min_delta, cooldown, min_lr
        self.monitor_op = _better(mode, monitor)
        self.wait = self.cooldown_counter = 0
        self.best = -math.inf if self.monitor_op is np.greater else math.inf

    def on_epoch_end(self, epoch, logs=None):
        current = _monitored(self, logs)
        if current is None:
            return
        delta = self.min_delta if self.monitor_op is np.greater else -self.min_delta
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor_op(current - delta, self.best):
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = self.model.optimizer.learning_rate
                if old > self.min_lr:
                    self.model.optimizer.learning_rate = max(old * self.factor, self.min_lr)
                    if self.verbose:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                              f"{self.model.optimizer.learning_rate}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0


class CSVLogger(Callback):
    """Write each epoch's logs as a CSV row (epoch first)."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.separator, self.append = os.fspath(filename), separator, append

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._writer, self._header_written = None, exists

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._writer is None:
            self._writer = csv.DictWriter(self._file, ["epoch", *logs], delimiter=self.separator)
            if not self._header_written:
                self._writer.writeheader()
        self._writer.writerow({"epoch": epoch, **logs})
        self._file.flush()

    def on_train_end(self, logs=None):
        self._file.close()
