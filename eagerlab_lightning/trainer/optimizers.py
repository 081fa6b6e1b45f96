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
