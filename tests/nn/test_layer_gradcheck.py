"""float64 gradcheck of every layer on small shapes, with respect to the input and every parameter."""
import numpy as np
import pytest

import eagerlab.nn as nn

from eagerlab.testing import gradcheck_layer

rng = np.random.default_rng(7)


def _x(*shape):
    x = rng.standard_normal(shape)
    x[np.abs(x) < 0.1] = 0.3  # away from the kinks of relu-like layers
    return x


LAYERS = [
    (lambda: nn.Linear(3, 2), (2, 3)), (lambda: nn.Bilinear(2, 2, 2), (2, 2), (2, 2)),
    (lambda: nn.Conv1d(2, 2, 2, stride=2, padding=1), (1, 2, 5)), (lambda: nn.Conv2d(1, 2, 2, groups=1), (1, 1, 3, 3)),
    (lambda: nn.ConvTranspose1d(2, 1, 2, stride=2), (1, 2, 3)), (lambda: nn.ConvTranspose2d(1, 1, 2), (1, 1, 2, 2)),
    (lambda: nn.MaxPool1d(2), (1, 2, 6)), (lambda: nn.MaxPool2d(2, 1), (1, 1, 3, 3)),
    (lambda: nn.AvgPool1d(3, 2, 1), (1, 2, 6)), (lambda: nn.AvgPool2d(2), (1, 1, 4, 4)),
    (lambda: nn.AdaptiveAvgPool1d(2), (1, 2, 5)), (lambda: nn.AdaptiveAvgPool2d((2, 3)), (1, 1, 5, 4)),
    (lambda: nn.BatchNorm1d(2), (4, 2)), (lambda: nn.BatchNorm2d(2), (2, 2, 2, 2)),
    (lambda: nn.LayerNorm(3), (2, 3)), (lambda: nn.GroupNorm(2, 4), (2, 4, 2)),
    (lambda: nn.RNN(2, 2), (3, 1, 2)), (lambda: nn.GRU(2, 2), (2, 1, 2)), (lambda: nn.LSTM(2, 2), (2, 1, 2)),
    (lambda: nn.MultiheadAttention(4, 2), (2, 1, 4), (2, 1, 4), (2, 1, 4)),
    (lambda: nn.TransformerEncoderLayer(4, 2, dim_feedforward=4, dropout=0.0), (2, 1, 4)),
    (lambda: nn.Upsample(scale_factor=2, mode="bilinear"), (1, 1, 2, 2)),
    (lambda: nn.Flatten(), (2, 2, 2)), (lambda: nn.Unflatten(1, (2, 2)), (2, 4)),
] + [(lambda name=name: getattr(nn, name)(), (2, 3)) for name in (
    "ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh", "Softplus", "Hardtanh", "Hardsigmoid",
    "Hardswish", "Mish", "LogSigmoid", "Softsign")] + [
    (lambda: nn.Softmax(1), (2, 3)), (lambda: nn.LogSoftmax(1), (2, 3))]


@pytest.mark.parametrize("make,shapes", [(case[0], case[1:]) for case in LAYERS],
                         ids=lambda v: type(v()).__name__ if callable(v) else None)
def test_layer_gradcheck(make, shapes):
    gradcheck_layer(make(), *(_x(*s) for s in shapes))  # batch norm in training mode: batch statistics
