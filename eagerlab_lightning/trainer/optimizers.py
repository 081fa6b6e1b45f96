"""What configure_optimizers may return, as Lightning reads it: an optimizer, a list of them, (optimizers,
schedulers), or a dict {"optimizer", "lr_scheduler": scheduler or {"scheduler", "interval", "frequency",
"monitor"}} (or a list of such dicts)."""


def _scheduler_config(item):
    config = dict(item) if isinstance(item, dict) else {"scheduler": item}
    unknown = set(config) - {"scheduler", "interval", "frequency", "monitor", "name", "strict"}
    if unknown:
        raise ValueError(f"configure_optimizers: unknown lr_scheduler keys {sorted(unknown)}")
    if config.setdefault("interval", "epoch") not in ("epoch", "step"):
        raise ValueError(f"configure_optimizers: lr_scheduler interval must be 'epoch' or 'step', got "
                         f"{config['interval']!r}")
    config.setdefault("frequency", 1)
    config.setdefault("monitor", None)
    return config


def configure(model):
    """(optimizers, scheduler configs) from model.configure_optimizers()."""
    out = model.configure_optimizers()
    optimizers, schedulers = [], []
    items = out if isinstance(out, list) else [out]
    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], (list, tuple)):
        optimizers, schedulers = list(out[0]), [_scheduler_config(s) for s in out[1]]
    else:
        for item in items:
            if isinstance(item, dict):
                optimizers.append(item["optimizer"])
                if item.get("lr_scheduler") is not None:
                    schedulers.append(_scheduler_config(item["lr_scheduler"]))
            else:
                optimizers.append(item)
    if not optimizers:
        raise ValueError("configure_optimizers returned no optimizer")
    return optimizers, schedulers


class LightningOptimizer:
    """What LightningModule.optimizers() returns, as in Lightning: the optimizer itself to isinstance (its class is
    made a subclass of the optimizer's) and to every attribute (read and written on the optimizer), with step() run
    the Trainer's way: the closure, if any, then on_before_optimizer_step, then the step through the precision
    setting, which under 16-mixed unscales the gradients, skips the step when one is inf or NaN and updates the
    scale, as in automatic optimization."""

    def __init__(self, optimizer, trainer):
        object.__setattr__(self, "__class__", type(f"Lightning{type(optimizer).__name__}",
                                                   (LightningOptimizer, type(optimizer)), {}))
        object.__setattr__(self, "_optimizer", optimizer)
        object.__setattr__(self, "_trainer", trainer)

    def __getattr__(self, name):  # what the wrapper itself does not have: the optimizer's
        return getattr(self._optimizer, name)

    def __setattr__(self, name, value):
        setattr(self._optimizer, name, value)

    @property
    def optimizer(self):
        return self._optimizer

    def step(self, closure=None):
        optimizer, trainer = self._optimizer, self._trainer
        precision = trainer.precision_plugin

        def closure_then_hook():
            loss = closure() if closure is not None else None
            precision.unscale(optimizer)  # the hook (and clipping in it) sees the true gradients
            trainer._call("on_before_optimizer_step", optimizer)
            return loss

        if precision.scaler is None:
            return optimizer.step(closure_then_hook)
        loss = closure_then_hook()
        precision.step(optimizer)
        return loss
