"""What self.log records during a loop: per-step values and the epoch's batch-size-weighted means (streaming, read
once at the epoch's end), which of them go to the progress bar and the loggers, and the progress bar's line."""
from eagerlab import Tensor
from eagerlab.training.metrics import Mean


class _Logged:
    __slots__ = ("mean", "last", "prog_bar", "logger", "on_step", "on_epoch", "reduce_fx")

    def __init__(self, name, prog_bar, logger, on_step, on_epoch, reduce_fx):
        self.mean = Mean(name)
        self.last, self.prog_bar, self.logger = None, prog_bar, logger
        self.on_step, self.on_epoch, self.reduce_fx = on_step, on_epoch, reduce_fx


class Results:
    """The metrics logged in one loop (training, validation or test) of one epoch."""

    def __init__(self, stage):
        self.stage, self.items, self.batch_size = stage, {}, 1
        self.captured = None  # while a compiled step traces: the (name, value, options) of each self.log

    def log(self, name, value, prog_bar, logger, on_step, on_epoch, reduce_fx, batch_size):
        if self.captured is not None:  # a value of the graph: the compiled step returns it, then it is logged
            self.captured.append((name, value, dict(prog_bar=prog_bar, logger=logger, on_step=on_step,
                                                    on_epoch=on_epoch, reduce_fx=reduce_fx, batch_size=batch_size)))
            return
        training = self.stage == "train"
        on_step = training if on_step is None else on_step
        on_epoch = (not training) if on_epoch is None else on_epoch
        if reduce_fx not in ("mean", "sum", "max", "min"):
            raise ValueError(f"self.log({name!r}): reduce_fx must be 'mean', 'sum', 'max' or 'min', got {reduce_fx!r}")
        item = self.items.get(name)
        if item is None:
            item = self.items[name] = _Logged(name, prog_bar, logger, on_step, on_epoch, reduce_fx)
        value = value.detach() if isinstance(value, Tensor) else float(value)
        item.last = value
        weight = self.batch_size if batch_size is None else batch_size
        if reduce_fx == "mean":
            item.mean.update(value, weight)
        else:
            current = float(value.item()) if isinstance(value, Tensor) else value
            total = item.mean.result() if item.mean._count else None
            merged = current if total is None else {"sum": total + current, "max": max(total, current),
                                                    "min": min(total, current)}[reduce_fx]
            item.mean.reset()
            item.mean.update(merged, 1.0)

    def step_values(self, which=None):
        """{name: float} of this step's values (all, or those for "prog_bar" / "logger"); a metric logged both per
        step and per epoch is `name_step` here, as in Lightning."""
        return {n + ("_step" if i.on_epoch else ""): _float(i.last) for n, i in self.items.items()
                if i.on_step and (which is None or getattr(i, which))}

    def epoch_values(self, which=None):
        """{name: float} of the epoch's reductions (all, or those for "prog_bar" / "logger"); `name_epoch` when the
        metric is logged per step too."""
        return {n + ("_epoch" if i.on_step else ""): i.mean.result() for n, i in self.items.items()
                if i.on_epoch and (which is None or getattr(i, which))}


def _float(v):
    return float(v.item()) if isinstance(v, Tensor) else float(v)


def lightning_line(p):
    """Lightning's (tqdm's) look: 100%|█████| 250/250 [00:01, 180.2it/s, train_loss=0.312, val_acc=0.941]."""
    frac = p.current / p.target if p.target else 0.0
    filled = int(round(frac * 20))
    rate = p.current / p.elapsed if p.elapsed > 0 else 0.0
    values = "".join(f", {name}={float(v):.3g}" for name, v in p.values)
    total = p.target if p.target is not None else "?"
    return (f"{frac:4.0%}|{'█' * filled}{' ' * (20 - filled)}| {p.current}/{total} "
            f"[{_clock(p.elapsed)}, {rate:.2f}{p.unit_name}/s{values}]")


def _clock(seconds):
    s = int(seconds)
    return f"{s // 60:02d}:{s % 60:02d}"
