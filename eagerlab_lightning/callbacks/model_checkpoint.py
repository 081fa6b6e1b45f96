"""ModelCheckpoint: save checkpoints after validation, keep the best `save_top_k` by a monitored metric, and a
last.ckpt; best_model_path / best_model_score / last_model_path as in Lightning."""
import math
import os
import re

from ..checkpoint_io import save_checkpoint
from .base import Callback


class ModelCheckpoint(Callback):
    def __init__(self, dirpath=None, filename=None, monitor=None, verbose=False, save_last=None, save_top_k=1,
                 mode="min", every_n_epochs=1, every_n_train_steps=None):
        if mode not in ("min", "max"):
            raise ValueError(f"ModelCheckpoint: mode must be 'min' or 'max', got {mode!r}")
        self.dirpath, self.filename, self.monitor, self.verbose = dirpath, filename, monitor, verbose
        self.save_last, self.save_top_k, self.mode, self.every_n_epochs = save_last, save_top_k, mode, every_n_epochs
        self.every_n_train_steps = every_n_train_steps
        self.best_k_models = {}  # path -> score
        self.best_model_path, self.best_model_score, self.last_model_path = "", None, ""
        self._writes = True

    def _dir(self, trainer):
        if self.dirpath is None:
            self.dirpath = os.path.join(trainer.log_dir, "checkpoints")
        return self.dirpath

    def _name(self, trainer, metrics):
        template = self.filename or "{epoch}-{step}"

        def field(match):
            name, spec = match.group(1), match.group(2) or ""
            value = {"epoch": trainer.current_epoch, "step": trainer.global_step, **metrics}.get(name)
            return f"{name}={format(value, spec[1:]) if spec else value}"

        return re.sub(r"\{(\w+)(:[^}]*)?\}", field, template) + ".ckpt"

    def on_validation_end(self, trainer, pl_module):
        if not trainer.sanity_checking:
            self._save(trainer)

    def on_train_epoch_end(self, trainer, pl_module):
        if not trainer.validated_this_epoch and not self.every_n_train_steps:  # (a fit without validation data)
            self._save(trainer)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.every_n_train_steps and trainer.global_step % self.every_n_train_steps == 0:
            trainer.inside_epoch = True
            try:
                self._save(trainer, every_epoch=False)
            finally:
                trainer.inside_epoch = False

    def _save(self, trainer, every_epoch=True):
        """Checkpoint now (an epoch's end, or inside it: trainer.inside_epoch), keeping the best save_top_k by
        `monitor`, and last.ckpt."""
        if every_epoch and (trainer.current_epoch + 1) % self.every_n_epochs:
            return
        metrics = trainer.callback_metrics
        directory = self._dir(trainer)
        self._writes = trainer.is_global_zero  # (the other processes keep the books, rank 0 the files)
        if self.monitor is None:  # no metric: keep the newest checkpoint
            path = os.path.join(directory, self._name(trainer, metrics))
            save_checkpoint(trainer, path, inside_epoch=trainer.inside_epoch)
            self._replace_best(path, None)
        else:
            score = metrics.get(self.monitor)
            if score is None:
                raise RuntimeError(f"ModelCheckpoint(monitor={self.monitor!r}): the metric was not logged; "
                                   f"logged: {sorted(metrics)}")
            if self._keeps(score):
                path = os.path.join(directory, self._name(trainer, metrics))
                save_checkpoint(trainer, path, inside_epoch=trainer.inside_epoch)
                self.best_k_models[path] = score
                self._drop_worst()
                best = (min if self.mode == "min" else max)(self.best_k_models, key=self.best_k_models.get)
                self.best_model_path, self.best_model_score = best, self.best_k_models[best]
        if self.save_last:
            self.last_model_path = os.path.join(directory, "last.ckpt")
            save_checkpoint(trainer, self.last_model_path, inside_epoch=trainer.inside_epoch)

    def _keeps(self, score):
        if self.save_top_k == 0 or not math.isfinite(score):
            return False
        if self.save_top_k < 0 or len(self.best_k_models) < self.save_top_k:
            return True
        worst = self._worst()
        return score < self.best_k_models[worst] if self.mode == "min" else score > self.best_k_models[worst]

    def _worst(self):
        return (max if self.mode == "min" else min)(self.best_k_models, key=self.best_k_models.get)

    def _drop_worst(self):
        while self.save_top_k > 0 and len(self.best_k_models) > self.save_top_k:
            worst = self._worst()
            del self.best_k_models[worst]
            if self._writes and os.path.exists(worst):
                os.remove(worst)

    def _replace_best(self, path, score):
        if self.best_model_path and self.best_model_path != path and self._writes and \
                os.path.exists(self.best_model_path):
            os.remove(self.best_model_path)
        self.best_model_path, self.best_model_score = path, score

    def state_dict(self):
        return {"best_model_path": self.best_model_path, "best_model_score": self.best_model_score,
                "last_model_path": self.last_model_path, "dirpath": self.dirpath,
                "best_k_models": dict(self.best_k_models)}

    def load_state_dict(self, state):
        self.best_model_path, self.best_model_score = state["best_model_path"], state["best_model_score"]
        self.last_model_path, self.best_k_models = state["last_model_path"], dict(state["best_k_models"])
