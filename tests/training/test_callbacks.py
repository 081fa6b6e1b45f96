"""The dispatcher calls hooks in order on every callback; the hook order of a simulated fit is locked here."""
import pytest

from eagerlab.training import callbacks as C
from eagerlab.training.callbacks import CallbackList, should_stop


class Recorder:
    def __init__(self, name, log):
        self.name, self.log = name, log

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)
        return lambda *args: self.log.append((self.name, hook) + args)


class OnlyEpochEnd:
    def __init__(self, log):
        self.log = log

    def on_epoch_end(self, epoch, logs):
        self.log.append(("epoch_end_only", epoch))


class StopAfter:
    def __init__(self, trainer, batches):
        self.trainer, self.batches, self.seen = trainer, batches, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.batches:
            self.trainer.stop_training = True


class Trainer:
    stop_training = False


def _fit(cbs, trainer, epochs=2, batches=2, val_batches=1):
    """The loop a front end runs, reduced to its hook calls."""
    cbs.call(C.TRAIN_BEGIN)
    for epoch in range(epochs):
        cbs.call(C.EPOCH_BEGIN, epoch)
        for b in range(batches):
            cbs.call(C.TRAIN_BATCH_BEGIN, b)
            cbs.call(C.TRAIN_BATCH_END, b)
            if should_stop(trainer):
                break
        cbs.call(C.TEST_BEGIN)
        for b in range(val_batches):
            cbs.call(C.TEST_BATCH_BEGIN, b)
            cbs.call(C.TEST_BATCH_END, b)
        cbs.call(C.TEST_END)
        cbs.call(C.EPOCH_END, epoch)
        if should_stop(trainer):
            break
    cbs.call(C.TRAIN_END)


def test_hook_order_of_a_fit():
    log = []
    _fit(CallbackList([Recorder("a", log)]), Trainer())
    epoch = lambda e: [("a", "on_epoch_begin", e),
                       ("a", "on_train_batch_begin", 0), ("a", "on_train_batch_end", 0),
                       ("a", "on_train_batch_begin", 1), ("a", "on_train_batch_end", 1),
                       ("a", "on_test_begin"), ("a", "on_test_batch_begin", 0), ("a", "on_test_batch_end", 0),
                       ("a", "on_test_end"), ("a", "on_epoch_end", e)]
    assert log == [("a", "on_train_begin")] + epoch(0) + epoch(1) + [("a", "on_train_end")]
    assert [h for h in C.HOOKS if h in {x[1] for x in log}] == list(dict.fromkeys(x[1] for x in log))


def test_callbacks_are_called_in_order_and_missing_hooks_skipped():
    log = []
    cbs = CallbackList([Recorder("a", log), OnlyEpochEnd(log)])
    cbs.append(Recorder("b", log))
    cbs.call(C.EPOCH_BEGIN, 0)
    cbs.call(C.EPOCH_END, 0, {"loss": 1.0})
    assert log == [("a", "on_epoch_begin", 0), ("b", "on_epoch_begin", 0),
                   ("a", "on_epoch_end", 0, {"loss": 1.0}), ("epoch_end_only", 0),
                   ("b", "on_epoch_end", 0, {"loss": 1.0})]
    assert len(cbs) == 3 and list(cbs)[1].__class__ is OnlyEpochEnd


def test_stop_training_ends_the_fit_after_the_epoch():
    log, trainer = [], Trainer()
    _fit(CallbackList([StopAfter(trainer, 1), Recorder("a", log)]), trainer, epochs=3)
    hooks = [x[1] for x in log]
    assert hooks.count("on_train_batch_end") == 1 and hooks.count("on_epoch_end") == 1
    assert hooks[-1] == "on_train_end"


def test_a_misspelt_hook_is_an_error():
    with pytest.raises(ValueError, match="'epoch_end' is not a hook name"):
        CallbackList([]).call("epoch_end")
