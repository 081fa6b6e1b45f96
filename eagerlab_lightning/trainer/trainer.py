"""Trainer: fit / validate / test / predict a LightningModule with Lightning's flags, hooks, checkpoints and
loggers, on eagerlab.training's progress bar, metrics and training-state records."""
import glob
import os
import sys
import time

from eagerlab import no_grad
from eagerlab.autograd import detect_anomaly
from eagerlab.errors import UnsupportedError
from eagerlab.training.progress import ProgressBar, format_value
from eagerlab.training.state import rng_state

from eagerlab.utils.data import DataLoader

from ..callbacks import ModelCheckpoint, ModelSummary
from ..loggers import CSVLogger
from . import loops
from ..checkpoint_io import newest_valid_checkpoint, read_training_state, restore_checkpoint, save_checkpoint
from .optimizers import LightningOptimizer, configure
from .precision import Precision
from .results import lightning_line
from .stopping import StopOnSignal, max_time_seconds
from .strategy import make_strategy

_UNSUPPORTED = {}


class Trainer:
    def __init__(self, max_epochs=None, min_epochs=None, max_steps=-1, callbacks=None, logger=True,
                 default_root_dir=None, enable_progress_bar=True, enable_checkpointing=True,
                 enable_model_summary=True, check_val_every_n_epoch=1, num_sanity_val_steps=2,
                 limit_train_batches=None, limit_val_batches=None, limit_test_batches=None,
                 limit_predict_batches=None, gradient_clip_val=None, gradient_clip_algorithm="norm",
                 log_every_n_steps=50, accelerator="auto", devices="auto", precision="32-true",
                 deterministic=None, compile=False, accumulate_grad_batches=1, max_time=None, fast_dev_run=False,
                 detect_anomaly=False, val_check_interval=None, overfit_batches=0.0, strategy="auto", num_nodes=1,
                 **kwargs):
        for name, value in kwargs.items():
            if name not in _UNSUPPORTED:
                raise TypeError(f"Trainer: unexpected argument {name!r}")
            if value != _UNSUPPORTED[name]:
                raise UnsupportedError(f"Trainer({name}={value!r}) is not supported yet")
        self.strategy = make_strategy(strategy, accelerator, devices, num_nodes)
        self.precision_plugin = Precision(precision)
        self.precision = self.precision_plugin.name  # Lightning's canonical spelling ("16-mixed", ...)
        if fast_dev_run:  # n batches (1 for True) of each loop, one epoch, nothing written
            n = 1 if fast_dev_run is True else int(fast_dev_run)
            max_epochs, max_steps, num_sanity_val_steps, logger, enable_checkpointing = 1, n, 0, False, False
            limit_train_batches = limit_val_batches = limit_test_batches = limit_predict_batches = n
        if accumulate_grad_batches < 1 or (compile and accumulate_grad_batches != 1):
            raise UnsupportedError(f"Trainer(accumulate_grad_batches={accumulate_grad_batches}"
                                   + (", compile=True" if compile else "") + ") is not supported"
                                   + (" yet" if compile else ": it must be at least 1"))
        self.accumulate_grad_batches, self.max_time = accumulate_grad_batches, max_time_seconds(max_time)
        self.detect_anomaly, self.val_check_interval, self.overfit_batches = (detect_anomaly, val_check_interval,
                                                                            overfit_batches)
        if overfit_batches:
            limit_train_batches = limit_val_batches = overfit_batches
        self.max_epochs = 1000 if max_epochs is None and max_steps == -1 else max_epochs
        self.min_epochs, self.max_steps = min_epochs, max_steps
        self.default_root_dir = os.fspath(default_root_dir or os.getcwd())
        self.loggers = [CSVLogger(self.default_root_dir)] if logger is True else (
            [] if not logger else list(logger) if isinstance(logger, (list, tuple)) else [logger])
        self.callbacks = list(callbacks or [])
        if enable_checkpointing and not any(isinstance(c, ModelCheckpoint) for c in self.callbacks):
            self.callbacks.append(ModelCheckpoint())
        if enable_model_summary and not any(isinstance(c, ModelSummary) for c in self.callbacks):
            self.callbacks.append(ModelSummary())
        self.enable_progress_bar, self.enable_model_summary = enable_progress_bar, enable_model_summary
        self.check_val_every_n_epoch, self.num_sanity_val_steps = check_val_every_n_epoch, num_sanity_val_steps
        self.limit_train_batches, self.limit_val_batches = limit_train_batches, limit_val_batches
        self.limit_test_batches, self.limit_predict_batches = limit_test_batches, limit_predict_batches
        self.gradient_clip_val, self.gradient_clip_algorithm = gradient_clip_val, gradient_clip_algorithm
        self.log_every_n_steps = log_every_n_steps
        self.compile, self._compiled_step, self._compiled_logs = bool(compile), None, []
        self.current_epoch = self.global_step = 0
        self.should_stop = self.sanity_checking = self.validated_this_epoch = False
        self.received_signal = self.interrupted_checkpoint_path = self._resume_inside_epoch = None
        self.epoch_start_rng, self.batches_done, self.inside_epoch, self.datamodule = None, 0, False, None
        self._val_loader = None
        self.callback_metrics, self.logged_metrics, self.progress_bar_metrics = {}, {}, {}
        self.optimizers, self.lr_scheduler_configs = [], []
        self.lightning_optimizers = []  # what LightningModule.optimizers() hands out
        self.lightning_module, self._results = None, None

    # ---- properties --------------------------------------------------------------------------------------------
    @property
    def global_rank(self):
        return self.strategy.global_rank

    @property
    def local_rank(self):
        return self.strategy.local_rank

    @property
    def node_rank(self):
        return self.strategy.node_rank

    @property
    def world_size(self):
        return self.strategy.world_size

    @property
    def is_global_zero(self):
        return self.strategy.is_global_zero

    @property
    def logger(self):
        return self.loggers[0] if self.loggers else None

    @property
    def log_dir(self):
        return self.logger.log_dir if self.logger is not None else self.default_root_dir

    @property
    def checkpoint_callback(self):
        return next((c for c in self.callbacks if isinstance(c, ModelCheckpoint)), None)

    # ---- fit -------------------------------------------------------------------------------------------------
    def fit(self, model, train_dataloaders=None, val_dataloaders=None, datamodule=None, ckpt_path=None):
        """Train model: epochs of training_step with validation after each (every check_val_every_n_epoch).

        SIGTERM or SIGINT during the fit: the current step finishes, a checkpoint is written (`interrupted.ckpt`
        in the log folder, also kept as trainer.interrupted_checkpoint_path) and fit returns; fitting again with
        ckpt_path= that file continues inside the epoch, with the bits of a fit never stopped."""
        with StopOnSignal(self), detect_anomaly(self.detect_anomaly):
            try:
                self._fit(model, train_dataloaders, val_dataloaders, datamodule, ckpt_path)
            finally:
                self.strategy.teardown()
        if self.received_signal is not None:
            self.interrupted_checkpoint_path = os.path.join(self.log_dir, "checkpoints", "interrupted.ckpt")
            save_checkpoint(self, self.interrupted_checkpoint_path, inside_epoch=self.batches_done > 0)

    def _fit(self, model, train_dataloaders, val_dataloaders, datamodule, ckpt_path):
        train, val = self._loaders(model, datamodule, train_dataloaders, val_dataloaders)
        if self.overfit_batches:  # the same first batches, unshuffled, to train and to validate on
            train = val = DataLoader(train.dataset, batch_size=train.batch_size, shuffle=False,
                                     collate_fn=train.collate_fn)
        train, val = self.strategy.shard(train, shuffle=True), self.strategy.shard(val, shuffle=False)
        self._agree_on_log_dir()
        self._val_loader, self.datamodule = val, datamodule
        self._attach(model)
        self._call_setup("fit", datamodule)
        self.optimizers, self.lr_scheduler_configs = configure(model)
        self.lightning_optimizers = [LightningOptimizer(o, self) for o in self.optimizers]
        if ckpt_path is not None:
            loop = restore_checkpoint(self, self._checkpoint_path(ckpt_path))
            self.current_epoch, self.global_step = loop["epoch"], loop["global_step"]
            if loop.get("inside_epoch"):  # the epoch goes on from its next batch
                self._resume_inside_epoch = {"epoch_start_rng": loop["epoch_start_rng"], "rng": rng_state(),
                                             "batches_done": loop["batches_done"]}
            else:  # written at the epoch's end, before the epoch's scheduler steps: make them now
                self._step_schedulers("epoch")
                self.current_epoch += 1
        self.strategy.setup_model(model)
        for logger in self._rank_zero_loggers():
            logger.log_hyperparams(dict(model.hparams))
        self.should_stop, self._fit_started = False, time.monotonic()
        self._call("on_fit_start")
        if val is not None and self.num_sanity_val_steps and ckpt_path is None:
            self.sanity_checking = True
            self._call("on_sanity_check_start")
            loops.evaluation_loop(self, model, val, "validation", self.num_sanity_val_steps)
            self._call("on_sanity_check_end")
            self.sanity_checking = False
        self._call("on_train_start")
        while not self._done():
            bar = loops.train_epoch(self, model, train)
            if self.received_signal is not None:  # stop now: no validation, no epoch-end hooks
                break
            train_bar = self._results.step_values("prog_bar")  # (the last step's, shown beside validation's)
            self.callback_metrics.update(self._results.step_values())
            self._epoch_metrics(self._results.epoch_values("logger"), self._results.epoch_values("prog_bar"))
            self.validated_this_epoch = (val is not None
                                         and (self.current_epoch + 1) % self.check_val_every_n_epoch == 0)
            if self.validated_this_epoch:
                self._validate(model, val)
            if bar is not None:
                bar.finish(list({**train_bar, **self.progress_bar_metrics}.items()))
            self._call("on_train_epoch_end")
            self._step_schedulers("epoch")
            self.current_epoch += 1
            self.should_stop = self.strategy.any(self.should_stop)  # (every process stops at the same epoch)
            if self.should_stop and (self.min_epochs is None or self.current_epoch >= self.min_epochs):
                break
        self._call("on_train_end")
        self._call("on_fit_end")
        self._call_teardown("fit")
        for logger in self._rank_zero_loggers():
            logger.finalize("success")
        self._share_checkpoint_state()

    def _validate(self, model, val):
        training_results = self._results
        self._call("on_validation_start")
        loops.evaluation_loop(self, model, val, "validation", self.limit_val_batches)
        self._epoch_metrics(self._results.epoch_values("logger"), self._results.epoch_values("prog_bar"))
        self._call("on_validation_end")
        self._results = training_results

    def _validate_inside_epoch(self, model, batches_done, total):
        """val_check_interval: validate after every n training batches (an int) or fraction of the epoch (a
        float); the epoch's last validation is the one at its end."""
        if self._val_loader is None or not self.val_check_interval or batches_done >= total:
            return
        interval = self.val_check_interval
        every = int(interval) if isinstance(interval, int) else max(1, int(total * interval))
        if batches_done % every == 0:
            self.inside_epoch = True
            try:
                self._validate(model, self._val_loader)
            finally:
                self.inside_epoch = False
            model.train()

    def _done(self):
        return (self.max_epochs is not None and self.current_epoch >= self.max_epochs) or self._step_limit_reached()

    def _step_limit_reached(self):
        if self.max_time is not None and self.strategy.any(time.monotonic() - self._fit_started >= self.max_time):
            return True
        return self.max_steps is not None and 0 <= self.max_steps <= self.global_step

    # ---- validate / test / predict ---------------------------------------------------------------------------
    def validate(self, model=None, dataloaders=None, ckpt_path=None, datamodule=None, verbose=True):
        return self._evaluate(model, dataloaders, ckpt_path, datamodule, "validation", verbose)

    def test(self, model=None, dataloaders=None, ckpt_path=None, datamodule=None, verbose=True):
        """test_step over the data; returns [{metric: epoch value}] as Lightning does."""
        return self._evaluate(model, dataloaders, ckpt_path, datamodule, "test", verbose)

    def _evaluate(self, model, dataloaders, ckpt_path, datamodule, stage, verbose):
        model = model or self.lightning_module
        loader = dataloaders
        if loader is None:
            source = datamodule or model
            loader = getattr(source, f"{'val' if stage == 'validation' else 'test'}_dataloader")()
        loader = self.strategy.shard(loader, shuffle=False)
        self._agree_on_log_dir()
        self._attach(model)
        if ckpt_path is not None:
            model.load_state_dict(read_training_state(self._checkpoint_path(ckpt_path))["model"])
        hook = "validation" if stage == "validation" else "test"
        self._call(f"on_{hook}_start")
        limit = self.limit_val_batches if stage == "validation" else self.limit_test_batches
        values = loops.evaluation_loop(self, model, loader, stage, limit)
        self.callback_metrics.update(values)
        self._log_metrics(self._results.epoch_values("logger"))
        self._call(f"on_{hook}_end")
        for logger in self._rank_zero_loggers():
            logger.save()
        if verbose and self.is_global_zero:
            for k, v in values.items():
                print(f"{stage} {k}: {format_value(v)}")
        return [values]

    def predict(self, model=None, dataloaders=None, datamodule=None, return_predictions=True, ckpt_path=None):
        model = model or self.lightning_module
        loader = dataloaders if dataloaders is not None else (datamodule or model).predict_dataloader()
        self._attach(model)
        model.eval()
        self._call("on_predict_start")
        batches, _ = loops._limited(loader, self.limit_predict_batches)
        with no_grad(), self.precision_plugin.forward_context():
            outs = [model.predict_step(batch, i) if hasattr(model, "predict_step") else model(batch[0])
                    for i, batch in ((i, self.precision_plugin.convert_input(b)) for i, b in batches)]
        self._call("on_predict_end")
        return outs if return_predictions else None

    # ---- plumbing ----------------------------------------------------------------------------------------------
    def _attach(self, model):
        self.lightning_module = model
        object.__setattr__(model, "_trainer", self)
        self.precision_plugin.setup(model)

    @staticmethod
    def _loaders(model, datamodule, train, val):
        source = datamodule or model
        if train is None:
            train = source.train_dataloader() if hasattr(source, "train_dataloader") else None
        if train is None:
            raise ValueError("Trainer.fit: no training data: pass train_dataloaders, a datamodule, or define "
                             "train_dataloader() on the module")
        if val is None and hasattr(source, "val_dataloader"):
            val = source.val_dataloader()
        if val is not None and not _defines(model, "validation_step"):
            val = None
        return train, val

    def _call_setup(self, stage, datamodule):
        if datamodule is not None:
            datamodule.prepare_data()
            datamodule.setup(stage)
        self._call("setup", stage)

    def _call_teardown(self, stage):
        self._call("teardown", stage)

    def _call(self, hook, *args):
        """A hook on the module, then on every callback (with trainer and module first), in order."""
        model = self.lightning_module
        method = getattr(model, hook, None)
        if method is not None:
            method(*args)
        for cb in self.callbacks:
            method = getattr(cb, hook, None)
            if method is not None:
                method(self, model, *args)

    def _epoch_metrics(self, for_logger, for_bar):
        self.callback_metrics.update(for_logger)
        self.callback_metrics.update(for_bar)
        self.progress_bar_metrics.update(for_bar)
        self._log_metrics({**for_logger, "epoch": self.current_epoch})

    def _log_metrics(self, metrics):
        if not metrics:
            return
        self.logged_metrics.update(metrics)
        for logger in self._rank_zero_loggers():
            logger.log_metrics(metrics, self.global_step)

    def _bar_values(self):
        return {**self.progress_bar_metrics, **self._results.step_values("prog_bar")} if self._results else {}

    def _progress(self, total, description):
        if not self.enable_progress_bar or not self.is_global_zero:
            return None
        return ProgressBar(total, stream=sys.stdout, unit_name="it",
                           formatter=lambda p: f"{description}: " + lightning_line(p))

    def _rank_zero_loggers(self):
        """The loggers, on rank 0; none on the other processes (only rank 0 writes logs)."""
        return self.loggers if self.is_global_zero else []

    def _agree_on_log_dir(self):
        """Every process takes rank 0's logger versions, so log_dir (and the checkpoint folder under it) is the
        same on every rank."""
        if self.world_size == 1 or not self.loggers:
            return
        versions = self.strategy.broadcast([lg.version if self.is_global_zero else None for lg in self.loggers])
        for lg, version in zip(self.loggers, versions):
            lg._version = version

    def _share_checkpoint_state(self):
        """After fit, every process knows rank 0's checkpoints (best_model_path, ...), which rank 0 has written."""
        if self.world_size == 1:
            return
        self.strategy.barrier()
        cb = self.checkpoint_callback
        if cb is not None:
            state = cb.state_dict()
            state["best_model_score"] = None if state["best_model_score"] is None else float(state["best_model_score"])
            state["best_k_models"] = {k: float(v) for k, v in state["best_k_models"].items()}
            (shared,) = self.strategy.broadcast([state])
            cb.load_state_dict(shared)
            cb.dirpath = shared["dirpath"]

    def _step_schedulers(self, interval):
        for config in self.lr_scheduler_configs:
            if config["interval"] != interval:
                continue
            count = self.global_step if interval == "step" else self.current_epoch + 1
            if count % config["frequency"]:
                continue
            if config.get("monitor"):
                value = self.callback_metrics.get(config["monitor"])
                if value is None:
                    raise RuntimeError(f"the scheduler monitors {config['monitor']!r}, which was not logged")
                config["scheduler"].step(value)
            else:
                config["scheduler"].step()

    def _checkpoint_path(self, ckpt_path):
        if ckpt_path == "best":
            cb = self.checkpoint_callback
            if cb is None or not cb.best_model_path:
                raise ValueError("ckpt_path='best': this trainer has saved no best checkpoint")
            return cb.best_model_path
        if ckpt_path == "last":
            return newest_valid_checkpoint(self._checkpoint_dirs())
        return os.fspath(ckpt_path)

    def _checkpoint_dirs(self):
        cb = self.checkpoint_callback
        if cb is not None and cb.dirpath is not None:
            return [cb.dirpath]
        return sorted(glob.glob(os.path.join(self.default_root_dir, "lightning_logs", "version_*", "checkpoints")))


def _defines(model, hook):
    return getattr(type(model), hook, None) is not None
