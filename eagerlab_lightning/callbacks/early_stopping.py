"""EarlyStopping: stop fitting when a monitored metric stops improving (or is not finite)."""
import math

from .base import Callback


class EarlyStopping(Callback):
    def __init__(self, monitor, min_delta=0.0, patience=3, verbose=False, mode="min", check_finite=True,
                 stopping_threshold=None, divergence_threshold=None):
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        self.monitor, self.min_delta, self.patience, self.verbose = monitor, abs(min_delta), patience, verbose
        self.mode, self.check_finite = mode, check_finite
        self.stopping_threshold, self.divergence_threshold = stopping_threshold, divergence_threshold
        self.wait_count, self.stopped_epoch = 0, 0
        self.best_score = math.inf if mode == "min" else -math.inf

    def _improved(self, current):
        if self.mode == "min":
            return current < self.best_score - self.min_delta
        return current > self.best_score + self.min_delta

    def on_validation_end(self, trainer, pl_module):
        if trainer.sanity_checking:
            return
        current = trainer.callback_metrics.get(self.monitor)
        if current is None:
            raise RuntimeError(f"EarlyStopping: the monitored metric {self.monitor!r} was not logged; logged: "
                               f"{sorted(trainer.callback_metrics)}")
        reason = None
        if self.check_finite and not math.isfinite(current):
            reason = f"{self.monitor} = {current} is not finite"
        elif self.stopping_threshold is not None and not self._improved_past(current, self.stopping_threshold):
            reason = f"{self.monitor} reached the stopping threshold {self.stopping_threshold}"
        elif self._improved(current):
            self.best_score, self.wait_count = current, 0
        else:
            self.wait_count += 1
            if self.wait_count >= self.patience:
                reason = f"{self.monitor} did not improve in the last {self.wait_count} validations"
        if reason is not None:
            self.stopped_epoch = trainer.current_epoch
            trainer.should_stop = True
            if self.verbose:
                print(f"EarlyStopping: {reason}; stopping")

    def _improved_past(self, current, threshold):
        return current > threshold if self.mode == "min" else current < threshold

    def state_dict(self):
        return {"wait_count": self.wait_count, "stopped_epoch": self.stopped_epoch, "best_score": self.best_score}

    def load_state_dict(self, state):
        self.wait_count, self.stopped_epoch = state["wait_count"], state["stopped_epoch"]
        self.best_score = state["best_score"]
