"""LightningModule: an eagerlab nn.Module with Lightning's hooks, self.log, hyperparameters and checkpoint loading."""
import inspect

from eagerlab import nn
from eagerlab.nn.utils import clip_grad_norm_, clip_grad_value_
from eagerlab.training.state import read_training_state


class AttributeDict(dict):
    """Lightning's hparams: a dict whose keys read as attributes (hparams.lr)."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"hparams has no {key!r}; it has {sorted(self)}") from None

    def __setattr__(self, key, value):
        self[key] = value


class LightningModule(nn.Module):
    """Subclass it: define training_step (and validation_step, test_step, predict_step) and configure_optimizers;
    hand it to a Trainer."""

    automatic_optimization = True

    def __init__(self):
        super().__init__()
        object.__setattr__(self, "_trainer", None)
        object.__setattr__(self, "hparams", AttributeDict())

    # ---- the trainer's state, seen from the module ---------------------------------------------------------
    @property
    def trainer(self):
        if self._trainer is None:
            raise RuntimeError(f"{type(self).__name__} is not attached to a Trainer; trainer.fit(model) attaches it")
        return self._trainer

    @property
    def current_epoch(self):
        return self._trainer.current_epoch if self._trainer is not None else 0

    @property
    def global_step(self):
        return self._trainer.global_step if self._trainer is not None else 0

    @property
    def device(self):
        first = next(iter(self.parameters()), None)
        return first.device if first is not None else None

    # ---- hyperparameters --------------------------------------------------------------------------------------
    def save_hyperparameters(self, *names):
        """Record the arguments __init__ was called with (all, or those named) in self.hparams, as Lightning does;
        checkpoints carry them, and load_from_checkpoint passes them back to __init__."""
        frame = inspect.currentframe().f_back
        while frame is not None and frame.f_code.co_name != "__init__":
            frame = frame.f_back
        if frame is None:
            raise RuntimeError("save_hyperparameters() must be called from the module's __init__")
        code = frame.f_code  # the __init__ that called us (a subclass's may call a parent's that saves)
        names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
        values = {name: frame.f_locals[name] for name in names if name != "self" and name in frame.f_locals}
        if code.co_flags & inspect.CO_VARKEYWORDS:
            extra = frame.f_locals.get(code.co_varnames[len(names) + bool(code.co_flags & inspect.CO_VARARGS)])
            values.update(extra if isinstance(extra, dict) else {})
        self.hparams.update({k: v for k, v in values.items() if not names or k in names})

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path, **overrides):
        """A new module made with the checkpoint's hyperparameters (and `overrides`), holding its weights."""
        record = read_training_state(checkpoint_path)
        hparams = {**(record["extra"] or {}).get("hparams", {}), **overrides}
        model = cls(**hparams)
        model.load_state_dict(record["model"])
        model.on_load_checkpoint(record)
        return model

    # ---- logging ---------------------------------------------------------------------------------------------
    def log(self, name, value, prog_bar=False, logger=True, on_step=None, on_epoch=None, reduce_fx="mean",
            batch_size=None, sync_dist=False, **kwargs):
        """Record a metric: per step and/or as the epoch's batch-size-weighted mean (Lightning's defaults: per
        step in training_step, per epoch in validation_step and test_step). sync_dist=True: under
        Trainer(strategy="ddp") the value is first combined over the processes with reduce_fx."""
        if sync_dist:
            value = self.trainer.strategy.reduce(value, reduce_fx)
        self.trainer._results.log(name, value, prog_bar=prog_bar, logger=logger, on_step=on_step, on_epoch=on_epoch,
                                  reduce_fx=reduce_fx, batch_size=batch_size)

    def log_dict(self, dictionary, **kwargs):
        for name, value in dictionary.items():
            self.log(name, value, **kwargs)

    # ---- optimization ------------------------------------------------------------------------------------------
    def configure_optimizers(self):
        raise NotImplementedError(f"{type(self).__name__} must define configure_optimizers()")

    def optimizers(self, use_pl_optimizer=True):
        """The optimizers of configure_optimizers (one, or a list): LightningOptimizers, whose step() goes through
        the Trainer's precision setting (use_pl_optimizer=False: the optimizers themselves)."""
        opts = self.trainer.optimizers
        if use_pl_optimizer:
            opts = self.trainer.lightning_optimizers
        return opts[0] if len(opts) == 1 else opts

    def lr_schedulers(self):
        scheds = [c["scheduler"] for c in self.trainer.lr_scheduler_configs]
        return None if not scheds else scheds[0] if len(scheds) == 1 else scheds

    def manual_backward(self, loss, *args, **kwargs):
        scaler = self.trainer.precision_plugin.scaler
        (scaler.scale(loss) if scaler is not None else loss).backward(*args, **kwargs)

    def clip_gradients(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None):
        """Clip the gradients of `optimizer`'s parameters by norm (the default) or by value, unscaled first under
        16-mixed; for manual optimization, between manual_backward and the optimizer's step."""
        algorithm = gradient_clip_algorithm or "norm"
        if algorithm not in ("norm", "value"):
            raise ValueError(f"clip_gradients: gradient_clip_algorithm must be 'norm' or 'value', got "
                             f"{gradient_clip_algorithm!r}")
        if gradient_clip_val is None:
            return
        optimizer = getattr(optimizer, "optimizer", optimizer)
        self.trainer.precision_plugin.unscale(optimizer)
        params = [p for group in optimizer.param_groups for p in group["params"]]
        (clip_grad_value_ if algorithm == "value" else clip_grad_norm_)(params, gradient_clip_val)

    # ---- hooks (no-ops unless overridden) --------------------------------------------------------------------
    def setup(self, stage):
        pass

    def teardown(self, stage):
        pass

    def on_fit_start(self):
        pass

    def on_fit_end(self):
        pass

    def on_train_start(self):
        pass

    def on_train_end(self):
        pass

    def on_train_epoch_start(self):
        pass

    def on_train_epoch_end(self):
        pass

    def on_train_batch_start(self, batch, batch_idx):
        pass

    def on_train_batch_end(self, outputs, batch, batch_idx):
        pass

    def on_validation_epoch_start(self):
        pass

    def on_validation_epoch_end(self):
        pass

    def on_test_epoch_start(self):
        pass

    def on_test_epoch_end(self):
        pass

    def on_before_backward(self, loss):
        pass

    def on_after_backward(self):
        pass

    def on_before_optimizer_step(self, optimizer):
        pass

    def on_save_checkpoint(self, checkpoint):
        pass

    def on_load_checkpoint(self, checkpoint):
        pass
