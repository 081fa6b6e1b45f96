"""The one callback dispatcher, and the hook names a loop calls (Keras's names).

A callback stops training by setting `stop_training = True` on the object the loop watches (a Keras Model, a
Lightning Trainer); the loop checks it after each batch and each epoch.
"""
TRAIN_BEGIN, TRAIN_END = "on_train_begin", "on_train_end"
EPOCH_BEGIN, EPOCH_END = "on_epoch_begin", "on_epoch_end"
TRAIN_BATCH_BEGIN, TRAIN_BATCH_END = "on_train_batch_begin", "on_train_batch_end"
TEST_BEGIN, TEST_END = "on_test_begin", "on_test_end"
TEST_BATCH_BEGIN, TEST_BATCH_END = "on_test_batch_begin", "on_test_batch_end"
PREDICT_BEGIN, PREDICT_END = "on_predict_begin", "on_predict_end"
PREDICT_BATCH_BEGIN, PREDICT_BATCH_END = "on_predict_batch_begin", "on_predict_batch_end"

# Every hook, in the order a fit with validation first calls each.
HOOKS = (TRAIN_BEGIN, EPOCH_BEGIN, TRAIN_BATCH_BEGIN, TRAIN_BATCH_END, TEST_BEGIN, TEST_BATCH_BEGIN,
         TEST_BATCH_END, TEST_END, EPOCH_END, TRAIN_END, PREDICT_BEGIN, PREDICT_BATCH_BEGIN, PREDICT_BATCH_END,
         PREDICT_END)


class CallbackList:
    """Calls a hook on every callback, in the order given; a callback without the hook is skipped."""

    def __init__(self, callbacks=()):
        self.callbacks = list(callbacks)

    def append(self, callback):
        self.callbacks.append(callback)

    def call(self, hook, *args, **kwargs):
        if not hook.startswith("on_"):  # a misspelt name would otherwise be skipped by every callback, silently
            raise ValueError(f"CallbackList.call: {hook!r} is not a hook name (hooks start with 'on_'; "
                             f"the loop's hooks are {HOOKS})")
        for cb in self.callbacks:
            method = getattr(cb, hook, None)
            if method is not None:
                method(*args, **kwargs)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)


def should_stop(obj):
    """True once a callback has set obj.stop_training."""
    return bool(getattr(obj, "stop_training", False))
