"""fit's options beyond the basics: class_weight, BackupAndRestore (an interrupted fit continues with the bits of an
uninterrupted one), the progress output in a pipe (one line per epoch), keras.datasets.mnist."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import eagerlab as el
from eagerlab import keras
from tests.datasets.test_mnist import fake_split

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
rng = np.random.default_rng(0)
X = rng.standard_normal((48, 5)).astype(np.float32)
Y = (X[:, 0] > 0.5).astype(np.int64)


def _model():
    el.manual_seed(0)
    model = keras.Sequential([keras.layers.Dense(8, activation="relu", input_shape=(5,)), keras.layers.Dropout(0.3),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    return model


def test_class_weight_equals_the_same_sample_weights():
    a, b = _model(), _model()
    el.manual_seed(1)
    a.fit(X, Y, epochs=2, batch_size=16, verbose=0, class_weight={0: 0.5, 1: 3.0})
    el.manual_seed(1)
    b.fit(X, Y, epochs=2, batch_size=16, verbose=0, sample_weight=np.where(Y == 1, 3.0, 0.5))
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    with pytest.raises(ValueError, match="class_weight has no weight for the classes \\[1\\]"):
        _model().fit(X, Y, verbose=0, class_weight={0: 1.0})


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt


def test_backup_and_restore_continues_an_interrupted_fit_with_the_same_bits(tmp_path):
    reference = _model()
    el.manual_seed(5)
    reference.fit(X, Y, epochs=4, batch_size=16, verbose=0)

    model = _model()
    backup = keras.callbacks.BackupAndRestore(tmp_path / "backup")
    el.manual_seed(5)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, Y, epochs=4, batch_size=16, verbose=0, callbacks=[backup, _Interrupt()])
    el.manual_seed(123)  # the restore brings back the generator's state of the backup
    history = model.fit(X, Y, epochs=4, batch_size=16, verbose=0, callbacks=[backup])
    assert len(history.history["loss"]) == 2  # epochs 3 and 4
    for want, got in zip(reference.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)
    assert not os.path.exists(backup.path)  # the fit ended normally: the backup is gone


def test_progress_in_a_pipe_is_one_line_per_epoch_without_carriage_returns():
    code = textwrap.dedent("""
        import numpy as np
        from eagerlab import keras
        m = keras.Sequential([keras.layers.Dense(2, activation="softmax", input_shape=(3,))])
        m.compile("sgd", "sparse_categorical_crossentropy", ["accuracy"])
        m.fit(np.ones((64, 3), np.float32), np.zeros(64, np.int64), epochs=2, batch_size=8)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": ROOT}).stdout
    lines = out.splitlines()
    assert "\r" not in out and len(lines) == 4, out
    assert lines[0] == "Epoch 1/2" and lines[1].startswith("8/8 [==============================] - ")
    assert " - loss: " in lines[1] and " - accuracy: " in lines[3] and lines[2] == "Epoch 2/2"


def test_mnist_load_data_reads_an_npz_or_a_folder_of_idx_files(tmp_path):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((3, 28, 28), np.uint8), y_train=np.arange(3, dtype=np.uint8),
             x_test=np.ones((2, 28, 28), np.uint8), y_test=np.arange(2, dtype=np.uint8))
    (x, y), (xt, yt) = keras.datasets.mnist.load_data(str(tmp_path / "mnist.npz"))
    assert x.shape == (3, 28, 28) and yt.tolist() == [0, 1]
    fake_split(str(tmp_path), "train", n=5)
    fake_split(str(tmp_path), "t10k", n=4)
    (x, y), (xt, yt) = keras.datasets.mnist.load_data(str(tmp_path))
    assert x.shape == (5, 28, 28) and xt.shape == (4, 28, 28) and y.dtype == np.uint8


def test_a_nan_loss_stops_the_fit_only_with_terminate_on_nan():
    x = X.copy()
    x[20] = np.nan  # the second batch of 16 has a NaN input
    history = _model().fit(x, Y, epochs=2, batch_size=16, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isnan(history.history["loss"][0])
    model = _model()
    seen = []
    spy = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))
    history = model.fit(x, Y, epochs=2, batch_size=16, verbose=0, shuffle=False,
                        callbacks=[keras.callbacks.TerminateOnNaN(), spy])
    assert seen == [0, 1] and model.stop_training and len(history.history["loss"]) == 1  # the epoch still ends
