"""Small callbacks: LambdaCallback, LearningRateMonitor, Timer."""
import time

from .base import HOOKS, Callback


class LambdaCallback(Callback):
    """Callbacks from functions: LambdaCallback(on_train_epoch_end=lambda trainer, pl_module: ...)."""

    def __init__(self, **hooks):
        unknown = sorted(set(hooks) - set(HOOKS))
        if unknown:
            raise TypeError(f"LambdaCallback: unknown hooks {unknown}")
        for name, fn in hooks.items():
            setattr(self, name, fn)


class LearningRateMonitor(Callback):
    """Log each optimizer group's learning rate ("lr-AdamW", "lr-AdamW/pg1", ...) every epoch or step."""

    def __init__(self, logging_interval="epoch"):
        if logging_interval not in ("epoch", "step"):
            raise ValueError(f"LearningRateMonitor: logging_interval must be 'epoch' or 'step', got "
                             f"{logging_interval!r}")
        self.logging_interval = logging_interval

    def _rates(self, trainer):
        rates = {}
        for opt in trainer.optimizers:
            for k, group in enumerate(opt.param_groups):
                rates[f"lr-{type(opt).__name__}" + (f"/pg{k + 1}" if k else "")] = float(group["lr"])
        return rates

    def on_train_epoch_start(self, trainer, pl_module):
        if self.logging_interval == "epoch":
            trainer._log_metrics(self._rates(trainer))

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if self.logging_interval == "step":
            trainer._log_metrics(self._rates(trainer))


class ModelSummary(Callback):
    """The table Lightning prints at fit start: each child module, its type and parameter count, and the totals."""

    def __init__(self, max_depth=1):
        self.max_depth = max_depth

    def on_fit_start(self, trainer, pl_module):
        if self.max_depth and trainer.is_global_zero:
            print(summary(pl_module))


def summary(model):
    """The model summary: each child module, its type and parameter count; trainable, other and total counts."""
    rows = [(name, type(child).__name__, sum(p.numel() for p in child.parameters()))
            for name, child in model.named_children()]
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    width = max([4, *(len(r[0]) for r in rows)])
    lines = [f"  | {'Name':<{width}} | {'Type':<12} | Params", "-" * (width + 28)]
    lines += [f"{i} | {n:<{width}} | {t:<12} | {c:,}" for i, (n, t, c) in enumerate(rows)]
    lines += ["-" * (width + 28), f"{trainable:,}  Trainable params", f"{total - trainable:,}  Non-trainable params",
              f"{total:,}  Total params"]
    return "\n".join(lines)


class Timer(Callback):
    """Stop the fit once `duration` seconds (or a dict of days/hours/minutes/seconds) have passed."""

    def __init__(self, duration=None):
        if isinstance(duration, dict):
            duration = (duration.get("days", 0) * 86400 + duration.get("hours", 0) * 3600
                        + duration.get("minutes", 0) * 60 + duration.get("seconds", 0))
        self.duration, self.start = duration, None

    def on_train_start(self, trainer, pl_module):
        self.start = time.monotonic()

    def time_elapsed(self):
        return 0.0 if self.start is None else time.monotonic() - self.start

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.duration is not None and self.time_elapsed() >= self.duration:
            trainer.should_stop = True
