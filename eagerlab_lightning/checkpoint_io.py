"""Lightning checkpoints on eagerlab.training's training-state records (atomic, no pickle): model, optimizers,
schedulers, the loop's position, callback states, hyperparameters, RNG states. The Trainer and ModelCheckpoint
both use it, so it sits beside them rather than in trainer/ (which imports the callbacks)."""
import glob
import os
import warnings

from eagerlab.errors import SerializationError
from eagerlab.training.state import load_training_state, read_training_state, save_training_state

VERSION = "eagerlab_lightning 0.1"


class _Several:
    """Several optimizers (or schedulers) as the one object a training-state record holds."""

    def __init__(self, items):
        self.items = items

    def state_dict(self):
        return {str(i): item.state_dict() for i, item in enumerate(self.items)}

    def load_state_dict(self, state):
        for i, item in enumerate(self.items):
            item.load_state_dict(state[str(i)])


def save_checkpoint(trainer, path, inside_epoch=False):
    """Write the trainer's state to path: at an epoch's end (before its scheduler steps), or inside_epoch after
    its current step. Only rank 0 writes (the processes of strategy="ddp" hold the same state)."""
    if not trainer.is_global_zero:
        return
    model = trainer.lightning_module
    extra = {"hparams": dict(model.hparams), "version": VERSION, "callback_metrics": dict(trainer.callback_metrics),
             "datamodule": trainer.datamodule.state_dict() if trainer.datamodule is not None else None,
             "callbacks": {type(cb).__name__: cb.state_dict() for cb in trainer.callbacks if cb.state_dict()},
             "precision": trainer.precision_plugin.state_dict()}  # the loss scale of 16-mixed (exact resume)
    model.on_save_checkpoint(extra)
    scheds = [c["scheduler"] for c in trainer.lr_scheduler_configs]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    loop = {"epoch": trainer.current_epoch, "global_step": trainer.global_step, "inside_epoch": inside_epoch}
    if inside_epoch:  # what resuming needs to redraw this epoch's shuffle and skip the batches already done
        extra["epoch_start_rng"], loop["batches_done"] = trainer.epoch_start_rng, trainer.batches_done
    save_training_state(path, model, _Several(trainer.optimizers), _Several(scheds) if scheds else None,
                        loop=loop, extra=extra)


def newest_valid_checkpoint(folders):
    """The newest .ckpt file in folders that reads back as a checkpoint (ckpt_path="last"): a damaged newest one is
    skipped with a warning naming it."""
    files = [p for folder in folders if os.path.isdir(folder) for p in glob.glob(os.path.join(folder, "*.ckpt"))]
    files.sort(key=os.path.getmtime, reverse=True)
    for path in files:
        try:
            read_training_state(path)
            return path
        except (SerializationError, OSError) as e:
            warnings.warn(f"ckpt_path='last': skipping {path}, which cannot be read ({e})", RuntimeWarning,
                          stacklevel=3)
    raise FileNotFoundError(f"ckpt_path='last': no readable checkpoint in {list(folders)}")


def restore_checkpoint(trainer, path):
    """Load path into the trainer's module, optimizers, schedulers, callbacks and RNG; the loop resumes after it."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Trainer.fit(ckpt_path={path!r}): no such checkpoint file")
    try:
        record = read_training_state(path)
    except SerializationError as e:
        raise SerializationError(f"Trainer.fit: the checkpoint {path} cannot be read ({e})") from e
    scheds = [c["scheduler"] for c in trainer.lr_scheduler_configs]
    loop = load_training_state(path, trainer.lightning_module, _Several(trainer.optimizers),
                               _Several(scheds) if scheds else None)
    extra = record["extra"] or {}
    trainer.callback_metrics.update(extra.get("callback_metrics", {}))
    trainer.precision_plugin.load_state_dict(extra.get("precision", {}))
    if trainer.datamodule is not None and extra.get("datamodule") is not None:
        trainer.datamodule.load_state_dict(extra["datamodule"])
    states = extra.get("callbacks", {})
    for cb in trainer.callbacks:
        if type(cb).__name__ in states:
            cb.load_state_dict(states[type(cb).__name__])
    trainer.lightning_module.on_load_checkpoint(record)
    if loop.get("inside_epoch"):
        loop["epoch_start_rng"] = extra["epoch_start_rng"]
    return loop
