"""The Trainer's loops: a training epoch (automatic optimization: zero_grad, training_step, backward, clipping,
optimizer step, scheduler steps), and the evaluation loop shared by validation, test and sanity checking. Every
hook goes through Trainer._call (the module's hook, then each callback's)."""
from eagerlab import int64, no_grad, tensor
from eagerlab.graph.function import Function
from eagerlab.graph.spec import TensorSpec
from eagerlab.nn.utils import clip_grad_norm_, clip_grad_value_
from eagerlab.training.state import rng_state, set_rng_state
from eagerlab.training.step import batch_polymorphic

from .results import Results


def _limited(loader, limit):
    """The batches of loader, at most `limit` of them (an int, or a fraction of its length)."""
    if limit is None:
        return enumerate(loader), len(loader)
    n = int(limit * len(loader)) if isinstance(limit, float) and limit <= 1.0 else int(limit)
    n = min(n, len(loader))
    return ((i, b) for i, b in enumerate(loader) if i < n), n


def _batch_size(batch):
    first = batch[0] if isinstance(batch, (list, tuple)) else next(iter(batch.values()), batch) \
        if isinstance(batch, dict) else batch
    return first.shape[0] if hasattr(first, "shape") and len(first.shape) else 1


def train_epoch(trainer, model, loader):
    """One epoch of training_step (or the rest of one, resuming a checkpoint written inside it); returns its bar.

    The random states at the epoch's start are kept (trainer.epoch_start_rng): a checkpoint written inside the epoch
    stores them with the number of batches done, so a resume draws the same shuffle, skips those batches and
    continues from the checkpoint's own random states."""
    trainer._results = Results("train")
    model.train()
    if hasattr(getattr(loader, "sampler", None), "set_epoch"):  # (a DistributedSampler: this epoch's shuffle)
        loader.sampler.set_epoch(trainer.current_epoch)
    trainer._call("on_train_epoch_start")
    resume = trainer._resume_inside_epoch
    trainer._resume_inside_epoch = None
    if resume is not None:
        set_rng_state(resume["epoch_start_rng"])
    trainer.epoch_start_rng, trainer.batches_done = rng_state(), 0
    batches, total = _limited(loader, trainer.limit_train_batches)
    if resume is not None:
        for _ in range(resume["batches_done"]):
            next(batches)
        set_rng_state(resume["rng"])
        trainer.batches_done = resume["batches_done"]
    bar = trainer._progress(total, f"Epoch {trainer.current_epoch}")
    for batch_idx, batch in batches:
        if trainer._step_limit_reached():
            break
        trainer._results.batch_size = _batch_size(batch)
        trainer._call("on_train_batch_start", batch, batch_idx)
        out = _training_step(trainer, model, batch, batch_idx, last=batch_idx + 1 == total)
        trainer.batches_done = batch_idx + 1
        trainer._call("on_train_batch_end", out, batch, batch_idx)
        trainer._validate_inside_epoch(model, batch_idx + 1, total)
        if (trainer.global_step % trainer.log_every_n_steps == 0 or batch_idx + 1 == total) and trainer.loggers:
            trainer._log_metrics(trainer._results.step_values("logger"))
        if bar is not None:
            bar.update(batch_idx + 1, lambda: list(trainer._bar_values().items()))
        if trainer.strategy.any(trainer.should_stop or trainer.received_signal is not None):
            trainer.should_stop = True
            break
    return bar


def _backward(trainer, loss, hooks=True):
    if hooks:
        trainer._call("on_before_backward", loss)
    trainer.precision_plugin.backward(loss)  # (16-mixed: the scaled loss)
    if hooks:
        trainer._call("on_after_backward")


def _optimizer_step(trainer, model, optimizer, hooks=True):
    """Clipping, the optimizer step and zero_grad (hooks=False inside a compiled step). Under 16-mixed the
    gradients are unscaled first and the step is skipped when one is inf or NaN."""
    trainer.precision_plugin.unscale(optimizer)
    if trainer.gradient_clip_val:
        clip = clip_grad_value_ if trainer.gradient_clip_algorithm == "value" else clip_grad_norm_
        clip(model.parameters(), trainer.gradient_clip_val)
    if hooks:
        trainer._call("on_before_optimizer_step", optimizer)
    trainer.precision_plugin.step(optimizer)
    optimizer.zero_grad()


def _compiled_training_step(trainer, model, batch, batch_idx):
    """Trainer(compile=True): training_step, backward, clipping and the optimizer step as one eagerlab.function
    (traced once for every batch size). Values given to self.log become outputs of the graph and are logged after
    each call; the on_before_backward / on_after_backward / on_before_optimizer_step hooks are not called."""
    if trainer._compiled_step is None:
        optimizer = trainer.optimizers[0]

        def step(batch, batch_idx):
            results = trainer._results
            results.captured = []
            try:
                with trainer.precision_plugin.forward_context():
                    out = model.training_step(batch, batch_idx)
                loss = out["loss"] if isinstance(out, dict) else out
                _backward(trainer, loss, hooks=False)
                _optimizer_step(trainer, model, optimizer, hooks=False)
                trainer._compiled_logs = [(name, options) for name, _, options in results.captured]
                return loss.detach(), [value for _, value, _ in results.captured]
            finally:
                results.captured = None

        signature = [*batch_polymorphic((batch,)), TensorSpec((), int64)]
        trainer._compiled_step = Function(step, signature, name=f"{type(model).__name__}.training_step")
    loss, logged = trainer._compiled_step(batch, tensor(batch_idx))
    for (name, options), value in zip(trainer._compiled_logs, logged):
        trainer._results.log(name, value, **options)
    return loss


def _accumulated_step(trainer, model, batch, batch_idx, last):
    """accumulate_grad_batches > 1: the loss divided by their number, backward every batch, the optimizer step on
    every k-th batch and on the epoch's last (global_step counts optimizer steps, as in Lightning)."""
    optimizer, k = trainer.optimizers[0], trainer.accumulate_grad_batches
    with trainer.precision_plugin.forward_context():
        out = model.training_step(batch, batch_idx)
    loss = out["loss"] if isinstance(out, dict) else out
    if loss is None:
        return out
    _backward(trainer, loss / k)
    if (batch_idx + 1) % k == 0 or last:
        _optimizer_step(trainer, model, optimizer)
        trainer.global_step += 1
        trainer._step_schedulers("step")
    return out


def _training_step(trainer, model, batch, batch_idx, last=False):
    batch = trainer.precision_plugin.convert_input(batch)
    if trainer.accumulate_grad_batches > 1 and model.automatic_optimization:
        return _accumulated_step(trainer, model, batch, batch_idx, last)
    if trainer.compile and model.automatic_optimization:
        out = _compiled_training_step(trainer, model, batch, batch_idx)
        trainer.global_step += 1
        trainer._step_schedulers("step")
        return out
    if not model.automatic_optimization:
        with trainer.precision_plugin.forward_context():
            out = model.training_step(batch, batch_idx)
        trainer.global_step += 1
        return out
    optimizer = trainer.optimizers[0]
    with trainer.precision_plugin.forward_context():
        out = model.training_step(batch, batch_idx)
    loss = out["loss"] if isinstance(out, dict) else out
    if loss is None:  # Lightning: returning None skips the batch
        return out
    _backward(trainer, loss)
    _optimizer_step(trainer, model, optimizer)
    trainer.global_step += 1
    trainer._step_schedulers("step")
    return out


def evaluation_loop(trainer, model, loader, stage, limit):
    """validation_step / test_step over loader under no_grad; returns the epoch's logged means."""
    trainer._results = Results(stage)
    step = getattr(model, f"{stage}_step")
    hook = "validation" if stage == "validation" else "test"
    model.eval()
    trainer._call(f"on_{hook}_epoch_start")
    batches, _ = _limited(loader, limit)
    with no_grad():
        for batch_idx, batch in batches:
            batch = trainer.precision_plugin.convert_input(batch)
            trainer._results.batch_size = _batch_size(batch)
            trainer._call(f"on_{hook}_batch_start", batch, batch_idx)
            with trainer.precision_plugin.forward_context():
                out = step(batch, batch_idx)
            trainer._call(f"on_{hook}_batch_end", out, batch, batch_idx)
    trainer._call(f"on_{hook}_epoch_end")
    model.train()
    return trainer._results.epoch_values()
