"""The loops behind Model.fit / evaluate / predict: batches from models.data, the compiled steps of
eagerlab.training, one CallbackList for every hook, the shared progress bar, streaming weighted metrics."""
import numpy as np

from ...autograd.grad_mode import no_grad
from ...ops.join import cat
from ...training import callbacks as hooks
from ...training.callbacks import CallbackList, should_stop
from ...training.progress import ProgressBar, keras_line
from ..mixed_precision import float32_outputs


def _count(x):
    """The batch's number of samples (x: a tensor, or a multi-input model's list of them)."""
    x = x[0] if isinstance(x, (list, tuple)) else x
    return x.shape[0] if x.ndim else 1


def _progress(verbose, steps):
    """The bar for one epoch / evaluation (verbose 1), one line per epoch (2), or none (0)."""
    if not verbose:
        return None
    return ProgressBar(steps) if verbose == 1 else ProgressBar(steps, formatter=keras_line, live=False)


def run_epoch(model, batches, callbacks, bar, training):
    """One pass over `batches`: train steps (training=True) or test steps, advancing `bar` (or None); returns
    {name: value} of the epoch's streaming means (loss, then the compiled metrics). The caller finishes the bar,
    so that fit can put the validation results on the epoch's line, as Keras does."""
    step = model._train_step() if training else model._eval_step()
    begin, end = ((hooks.TRAIN_BATCH_BEGIN, hooks.TRAIN_BATCH_END) if training
                  else (hooks.TEST_BATCH_BEGIN, hooks.TEST_BATCH_END))
    metrics = model._metric_objects()
    for m in metrics:
        m.reset_state()

    def current():
        return {m.name: m.result() for m in metrics}  # (each result() is a host read: only when asked)

    wants_batch_logs = any(getattr(cb, end, None) is not None for cb in callbacks)
    model.train(training)
    for i, (x, y, sw) in enumerate(batches):
        callbacks.call(begin, i)
        loss, output = step(x, y) if sw is None else step(x, y, sw)
        output = float32_outputs(output)  # metrics compute in float32, as in Keras
        metrics[0].update_state(loss, _count(x))  # (Keras's loss is a mean over the batch's samples)
        for m in metrics[1:]:
            m.update_state(y, output, sw)
        # a callback with a batch hook gets the running means (a NaN loss shows there: TerminateOnNaN stops on it)
        callbacks.call(end, i, current() if wants_batch_logs else {})
        if bar is not None:
            bar.update(i + 1, lambda: list(current().items()))  # read when the bar draws
        if training and should_stop(model):
            break
    return current()


def _finish(bar, logs):
    if bar is not None:
        bar.finish(list(logs.items()))


def predict_loop(model, batches, steps, callbacks, verbose):
    """The model's outputs over every batch, concatenated, as numpy (Keras's predict)."""
    model.eval()
    outs = []
    bar = _progress(verbose, steps)
    callbacks.call(hooks.PREDICT_BEGIN)
    with no_grad():
        for i, (x, _, _) in enumerate(batches):
            callbacks.call(hooks.PREDICT_BATCH_BEGIN, i)
            out = model._predict_function(x)(x)
            outs.append(out)
            callbacks.call(hooks.PREDICT_BATCH_END, i, {"outputs": out})
            if bar is not None:
                bar.update(i + 1, [])
    _finish(bar, {})
    callbacks.call(hooks.PREDICT_END)
    if not outs:
        return np.zeros((0,), np.float32)
    if isinstance(outs[0], (list, tuple)):  # a model with several outputs: one array each, as Keras
        return [cat(list(parts)).numpy() for parts in zip(*outs)]
    return cat(outs).numpy()


def fit_loop(model, train, val, epochs, initial_epoch, callbacks, verbose):
    """Keras's fit: epochs of training with validation after each; the History is one of the callbacks."""
    model.stop_training, model._resume_epoch = False, 0
    callbacks.call(hooks.TRAIN_BEGIN)
    initial_epoch = max(initial_epoch, model._resume_epoch)  # (BackupAndRestore found an interrupted fit)
    for epoch in range(initial_epoch, epochs):
        if verbose:
            print(f"Epoch {epoch + 1}/{epochs}", flush=True)
        callbacks.call(hooks.EPOCH_BEGIN, epoch)
        bar = _progress(verbose, len(train))
        logs = run_epoch(model, train, callbacks, bar, training=True)
        if val is not None and not should_stop(model):
            callbacks.call(hooks.TEST_BEGIN)
            val_logs = run_epoch(model, val, callbacks, None, training=False)
            callbacks.call(hooks.TEST_END, val_logs)
            logs.update({"val_" + k: v for k, v in val_logs.items()})
        _finish(bar, logs)
        callbacks.call(hooks.EPOCH_END, epoch, logs)
        if should_stop(model):
            break
    callbacks.call(hooks.TRAIN_END, logs if epochs > initial_epoch else {})
    return model.history


def evaluate_loop(model, batches, callbacks, verbose):
    callbacks.call(hooks.TEST_BEGIN)
    bar = _progress(verbose, len(batches))
    logs = run_epoch(model, batches, callbacks, bar, training=False)
    _finish(bar, logs)
    callbacks.call(hooks.TEST_END, logs)
    return logs


def callback_list(model, callbacks, params, history=False):
    """The user's callbacks (and, for fit, a new model.history last, as Keras), each told the model and params."""
    from ..callbacks import History

    if history:
        model.history = History()
    cbs = CallbackList([*(callbacks or ()), *([model.history] if history else [])])
    for cb in cbs:
        cb.set_model(model)
        cb.set_params(params)
    return cbs
