"""The pieces together, as a front end's fit uses them: a compiled step traced once for a shorter last batch,
streaming metrics read only when the bar draws, one progress line per epoch, a callback stopping on a NaN loss."""
import io
import re

import numpy as np

import eagerlab
import eagerlab.nn as nn
import eagerlab.optim as optim
from eagerlab.training import (CallbackList, Mean, MeanMetricWrapper, ProgressBar, is_finite, make_eval_step,
                               make_train_step, should_stop, sparse_categorical_accuracy)

RNG = np.random.default_rng(0)
X = RNG.standard_normal((100, 4)).astype(np.float32)
Y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)


class TerminateOnNaN:
    def __init__(self, model):
        self.model = model

    def on_train_batch_end(self, batch, logs):
        if not is_finite(logs["loss"]):
            self.model.stop_training = True


def _fit(model, opt, epochs, stream, callbacks=()):
    step = make_train_step(model, nn.CrossEntropyLoss(), opt)
    evaluate = make_eval_step(model, nn.CrossEntropyLoss())
    cbs, model.stop_training, batches = CallbackList(callbacks), False, range(0, len(X), 32)  # 32, 32, 32, 4
    loss, acc, reads = Mean("loss"), MeanMetricWrapper(sparse_categorical_accuracy, "accuracy"), []

    def values():
        reads.append(1)
        return [(m.name, m.result()) for m in (loss, acc)]

    for _ in range(epochs):
        bar = ProgressBar(len(batches), stream=stream)
        loss.reset(), acc.reset()
        for b, i in enumerate(batches):
            x, y = eagerlab.tensor(X[i:i + 32]), eagerlab.tensor(Y[i:i + 32])
            batch_loss, _ = step(x, y)
            loss.update(batch_loss, x.shape[0])
            acc.update(y, evaluate(x, y)[1])
            cbs.call("on_train_batch_end", b, {"loss": batch_loss})
            bar.update(b + 1, values)
            if should_stop(model):
                break
        bar.finish(values)
        if should_stop(model):
            break
    return step, reads


def test_a_fit_prints_one_line_per_epoch_and_traces_once():
    eagerlab.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    stream = io.StringIO()
    step, reads = _fit(model, optim.Adam(model.parameters(), lr=0.05), 3, stream)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and "\r" not in stream.getvalue() and len(reads) == 3  # metrics read once per epoch
    pattern = r"4/4 \[=+\] - 0s \d+(us|ms)/step - loss: (\d\.\d{4}) - accuracy: (\d\.\d{4})"
    found = [re.fullmatch(pattern, line) for line in lines]
    assert all(found), lines
    losses = [float(m.group(2)) for m in found]
    assert losses[2] < losses[0] and float(found[2].group(3)) > 0.8
    assert step.trace_count == 1


def test_a_nan_loss_stops_the_fit_after_its_batch():
    eagerlab.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 2))
    stream = io.StringIO()
    _fit(model, optim.SGD(model.parameters(), lr=float("inf")), 3, stream, [TerminateOnNaN(model)])
    line, = stream.getvalue().splitlines()
    assert model.stop_training and re.fullmatch(r"2/4 \[=+>\.+\] - 0s \d+(us|ms)/step - loss: nan - .*", line)
