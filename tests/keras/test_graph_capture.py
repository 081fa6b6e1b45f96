"""Keras layers under @eagerlab.function: a compiled forward and a compiled training step give the eager bits."""
import numpy as np

import eagerlab as el
from eagerlab import keras

layers = keras.layers
RNG = np.random.default_rng(4)


def _stack():
    return [layers.Conv2D(4, 3, padding="same", activation="relu"), layers.BatchNormalization(),
            layers.MaxPooling2D(), layers.Reshape((4, -1)), layers.LSTM(5), layers.Dense(3, activation="softmax")]


def _forward(stack, x):
    for layer in stack:
        x = layer(x)
    return x


def _twins(x):
    """Two stacks with the same weights, built eagerly (weights are created on the first call, outside a trace)."""
    first, second = _stack(), _stack()
    _forward(first, x)
    _forward(second, x)
    for a, b in zip(first, second):
        b.set_weights(a.get_weights())
    return first, second


def _train_step(stack, optimizer, x, y):
    optimizer.zero_grad()
    loss = el.nn.functional.nll_loss(_forward(stack, x).log(), y)
    loss.backward()
    optimizer.step()
    return loss


def test_compiled_forward_equals_eager():
    x = el.tensor(RNG.standard_normal((6, 8, 8, 2)).astype(np.float32))
    stack = _stack()
    eager = _forward(stack, x)
    compiled = el.function(lambda t: _forward(stack, t))
    np.testing.assert_array_equal(compiled(x).detach().numpy(), eager.detach().numpy())


def test_compiled_training_step_equals_eager_step_bits():
    x = el.tensor(RNG.standard_normal((6, 8, 8, 2)).astype(np.float32))
    y = el.tensor(RNG.integers(0, 3, 6))
    eager, compiled = _twins(x)
    params = [[w for layer in s for w in layer.trainable_weights] for s in (eager, compiled)]
    opt_eager, opt_compiled = el.optim.Adam(params[0], lr=0.01), el.optim.Adam(params[1], lr=0.01)
    step = el.function(lambda a, b: _train_step(compiled, opt_compiled, a, b))
    for _ in range(3):
        expected = _train_step(eager, opt_eager, x, y)
        np.testing.assert_array_equal(step(x, y).detach().numpy(), expected.detach().numpy())
    for a, b in zip(eager, compiled):
        for wa, wb in zip(a.get_weights(), b.get_weights()):
            np.testing.assert_array_equal(wa, wb)
    assert compiled[1].get_weights()[2].any()  # the moving mean moved inside the compiled step


def test_first_call_inside_a_compiled_function_builds_real_weights():
    stack = [layers.Conv2D(2, 3), layers.Flatten(), layers.Dense(3)]
    x = el.tensor(RNG.standard_normal((2, 5, 5, 1)).astype(np.float32))
    compiled = el.function(lambda t: _forward(stack, t))
    out = compiled(x)
    assert all(layer.built for layer in stack) and stack[2].count_params() == 2 * 3 * 3 * 3 + 3
    np.testing.assert_array_equal(out.detach().numpy(), _forward(stack, x).detach().numpy())
