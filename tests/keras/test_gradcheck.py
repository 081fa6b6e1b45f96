"""float64 gradcheck of each layer's output with respect to its input and its weights (the channels-last
permutations, TensorFlow's padding and the recurrences are compositions of eagerlab ops: this checks the
composition)."""
import numpy as np
import pytest

import eagerlab as el
from eagerlab import keras

layers = keras.layers
RNG = np.random.default_rng(5)

CASES = [
    (lambda: layers.Dense(3, activation="tanh"), (2, 4)),
    (lambda: layers.Conv2D(2, 3, strides=2, padding="same", activation="tanh"), (2, 4, 5, 2)),
    (lambda: layers.Conv1D(2, 2, dilation_rate=2), (2, 6, 3)),
    (lambda: layers.AveragePooling2D(2, padding="same"), (1, 3, 5, 2)),
    (lambda: layers.MaxPooling1D(2, padding="same"), (2, 5, 2)),
    (lambda: layers.BatchNormalization(), (6, 3)),
    (lambda: layers.LayerNormalization(), (2, 3, 4)),
    (lambda: layers.SimpleRNN(3, return_sequences=True), (2, 4, 2)),
    (lambda: layers.LSTM(3), (2, 3, 2)),
    (lambda: layers.GRU(3), (2, 3, 2)),
    (lambda: layers.GRU(3, reset_after=False), (2, 3, 2)),
]


@pytest.mark.parametrize("make, shape", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_gradients_match_central_differences(make, shape):
    layer = make()
    layer.dtype = "float64"  # (before build: the weights are created in float64)
    x = el.tensor(RNG.standard_normal(shape), dtype=el.float64, requires_grad=True)
    layer.build(tuple(x.shape))
    # gradcheck perturbs its inputs in place, so the weights themselves can be inputs
    assert el.autograd.gradcheck(lambda x, *weights: layer(x), (x, *layer.trainable_weights))
