"""What fit accepts as data (arrays, tensors, DataLoaders, generators; validation_split) and the Keras callbacks'
decisions, driven directly."""
import math

import numpy as np
import pytest

import eagerlab as el
from eagerlab.keras import callbacks
from eagerlab.keras.models.data import batches


def test_array_batches_cover_every_sample_once_and_convert_dtypes():
    x = np.arange(20, dtype=np.float64).reshape(10, 2)
    data = batches(x, np.arange(10), batch_size=4, shuffle=True)
    assert len(data) == 3
    seen = []
    for xb, yb, sw in data:
        assert xb.dtype is el.float32 and yb.dtype is el.int64 and sw is None
        np.testing.assert_array_equal(xb.numpy()[:, 0] / 2, yb.numpy())  # rows stay paired with their labels
        seen += yb.tolist()
    assert sorted(seen) == list(range(10)) and [len(b[0]) for b in data] == [4, 4, 2]


def test_shuffling_follows_eagerlab_manual_seed():
    def order():
        el.manual_seed(3)
        return [yb.tolist() for _, yb, _ in batches(np.zeros((8, 1)), np.arange(8), batch_size=8, shuffle=True)]

    assert order() == order()


def test_validation_split_takes_the_last_samples_as_keras():
    train, val = batches(np.zeros((10, 1)), np.arange(10), batch_size=3).split(0.2)
    assert [yb.tolist() for _, yb, _ in val] == [[8, 9]] and train.n == 8
    with pytest.raises(ValueError, match="validation_split must be between 0 and 1"):
        batches(np.zeros((10, 1)), np.arange(10)).split(1.5)


def test_generators_and_dataloaders_yield_their_batches():
    loader = el.utils.data.DataLoader(el.utils.data.TensorDataset(el.ones(5, 2), el.arange(5)), batch_size=2)
    assert len(batches(loader)) == 3 and [len(b[1]) for b in batches(loader)] == [2, 2, 1]

    def gen():
        while True:
            yield np.ones((2, 3)), np.zeros(2)

    data = batches(gen(), steps=4)
    assert len(data) == 4 and sum(1 for _ in data) == 4
    with pytest.raises(ValueError, match="y and sample_weight must be None"):
        batches(loader, y=np.zeros(5))


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="x and y must have the same number of samples, got 4 and 3"):
        batches(np.zeros((4, 1)), np.zeros(3))


class _Model:
    def __init__(self):
        self.stop_training = False
        self.weights = {"w": el.tensor([1.0])}

    def state_dict(self):
        return dict(self.weights)

    def load_state_dict(self, state):
        self.weights = dict(state)


def _drive(cb, values, key="val_loss"):
    model = _Model()
    cb.set_model(model)
    cb.on_train_begin()
    stopped = None
    for epoch, v in enumerate(values):
        model.weights = {"w": el.tensor([float(epoch)])}
        cb.on_epoch_end(epoch, {key: v})
        if model.stop_training:
            stopped = epoch
            break
    return model, stopped


def test_early_stopping_waits_patience_epochs_and_restores_the_best_weights():
    cb = callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    model, stopped = _drive(cb, [1.0, 0.5, 0.6, 0.7, 0.4])
    assert stopped == 3 and cb.best == 0.5 and model.weights["w"].tolist() == [1.0]


def test_early_stopping_on_accuracy_maximizes():
    _, stopped = _drive(callbacks.EarlyStopping(monitor="val_accuracy", patience=1), [0.5, 0.6, 0.55],
                        key="val_accuracy")
    assert stopped == 2


def test_history_records_each_epoch():
    h = callbacks.History()
    h.on_train_begin()
    h.on_epoch_end(0, {"loss": 1.0})
    h.on_epoch_end(1, {"loss": 0.5})
    assert h.history == {"loss": [1.0, 0.5]} and h.epoch == [0, 1]


def test_terminate_on_nan():
    model = _Model()
    cb = callbacks.TerminateOnNaN()
    cb.set_model(model)
    cb.on_train_batch_end(0, {"loss": 1.0})
    assert not model.stop_training
    cb.on_train_batch_end(1, {"loss": math.nan})
    assert model.stop_training


def test_csv_logger_writes_a_row_per_epoch(tmp_path):
    path = tmp_path / "log.csv"
    cb = callbacks.CSVLogger(path)
    cb.on_train_begin()
    cb.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.75})
    cb.on_epoch_end(1, {"loss": 0.25, "accuracy": 0.875})
    cb.on_train_end()
    assert path.read_text().splitlines() == ["epoch,loss,accuracy", "0,0.5,0.75", "1,0.25,0.875"]


def test_lambda_callback_refuses_unknown_hooks():
    with pytest.raises(TypeError, match="unknown hooks \\['on_epoch_finish'\\]"):
        callbacks.LambdaCallback(on_epoch_finish=print)


def test_steps_limit_the_batches_of_array_data():
    data = batches(np.zeros((10, 1)), np.arange(10), batch_size=3, steps=2)
    assert len(data) == 2 and [yb.tolist() for _, yb, _ in data] == [[0, 1, 2], [3, 4, 5]]
