import numpy as np
import pytest

import eagerlab as el
from eagerlab import keras
from eagerlab.errors import ShapeError

from .layer_checks import check_layer

layers = keras.layers
RNG = np.random.default_rng(3)


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _sigmoid(v):
    return 1 / (1 + np.exp(-v))


def _np_lstm(x, kernel, recurrent, bias):
    u = recurrent.shape[0]
    h = c = np.zeros((x.shape[0], u), np.float32)
    hs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent + bias
        i, f, g, o = _sigmoid(z[:, :u]), _sigmoid(z[:, u:2 * u]), np.tanh(z[:, 2 * u:3 * u]), _sigmoid(z[:, 3 * u:])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, 1), h, c


def _np_gru_reset_after(x, kernel, recurrent, bias):
    u = recurrent.shape[0]
    h = np.zeros((x.shape[0], u), np.float32)
    for t in range(x.shape[1]):
        xz = x[:, t] @ kernel + bias[0]
        hz = h @ recurrent + bias[1]
        z = _sigmoid(xz[:, :u] + hz[:, :u])
        r = _sigmoid(xz[:, u:2 * u] + hz[:, u:2 * u])
        candidate = np.tanh(xz[:, 2 * u:] + r * hz[:, 2 * u:])
        h = z * h + (1 - z) * candidate
    return h


def _set_random_weights(layer, x):
    layer.build(x.shape)
    weights = [_x(*w.shape) * 0.5 for w in layer.get_weights()]
    layer.set_weights(weights)
    return weights


def test_simple_rnn():
    check_layer(layers.SimpleRNN(16), _x(4, 7, 5), (4, 16), 352)
    check_layer(layers.SimpleRNN(16, return_sequences=True), _x(4, 7, 5), (4, 7, 16), 352)
    layer = layers.SimpleRNN(3, activation="relu")
    x = _x(2, 4, 2)
    kernel, recurrent, bias = _set_random_weights(layer, x)
    h = np.zeros((2, 3), np.float32)
    for t in range(4):
        h = np.maximum(x[:, t] @ kernel + bias + h @ recurrent, 0)
    np.testing.assert_allclose(layer(x).detach().numpy(), h, rtol=1e-5, atol=1e-6)


def test_lstm_counts_gate_order_and_states():
    check_layer(layers.LSTM(32), _x(3, 6, 10), (3, 32), 4 * (32 * (32 + 10) + 32))
    check_layer(layers.LSTM(8, return_sequences=True), _x(3, 6, 10), (3, 6, 8), 608)
    layer = layers.LSTM(4, return_sequences=True, return_state=True)
    x = _x(2, 5, 3)
    weights = _set_random_weights(layer, x)
    sequence, h, c = layer(x)
    expected = _np_lstm(x, *weights)
    for got, want in zip((sequence, h, c), expected):
        np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-5, atol=1e-6)
    assert layer.compute_output_shape((None, 5, 3)) == [(None, 5, 4), (None, 4), (None, 4)]


def test_lstm_default_initialization():
    layer = layers.LSTM(5)
    layer.build((None, 2, 3))
    kernel, recurrent, bias = layer.get_weights()
    assert bias.tolist() == [0] * 5 + [1] * 5 + [0] * 10  # unit_forget_bias
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(5), atol=1e-5)  # orthogonal rows
    assert kernel.shape == (3, 20)


def test_gru_counts_and_values():
    check_layer(layers.GRU(16), _x(3, 6, 10), (3, 16), 3 * 16 * (10 + 16 + 2))
    check_layer(layers.GRU(16, reset_after=False), _x(3, 6, 10), (3, 16), 3 * (16 * (10 + 16) + 16))
    layer = layers.GRU(4)
    x = _x(2, 5, 3)
    weights = _set_random_weights(layer, x)
    assert [w.shape for w in weights] == [(3, 12), (4, 12), (2, 12)]
    np.testing.assert_allclose(layer(x).detach().numpy(), _np_gru_reset_after(x, *weights), rtol=1e-5, atol=1e-6)


def test_go_backwards_reads_the_sequence_reversed():
    forward, backward = layers.SimpleRNN(3), layers.SimpleRNN(3, go_backwards=True)
    x = _x(2, 4, 2)
    backward.build(x.shape)
    forward.build(x.shape)
    backward.set_weights(forward.get_weights())
    np.testing.assert_allclose(backward(x).detach().numpy(), forward(x[:, ::-1].copy()).detach().numpy(), rtol=1e-6)


def test_recurrent_input_rank_error_names_the_layer():
    with pytest.raises(ShapeError, match=r"LSTM 'enc'.*\(batch, timesteps, features\).*\(4, 3\)"):
        layers.LSTM(2, name="enc")(_x(4, 3))


@pytest.mark.parametrize("cls", [layers.SimpleRNN, layers.LSTM, layers.GRU])
def test_dropout_and_recurrent_dropout_only_in_training(cls):
    plain, dropped = cls(6), cls(6, dropout=0.5, recurrent_dropout=0.5)
    x = _x(3, 5, 4)
    plain.build(x.shape)
    dropped.build(x.shape)
    dropped.set_weights(plain.get_weights())
    np.testing.assert_array_equal(dropped(x, training=False).detach().numpy(), plain(x).detach().numpy())
    assert not np.allclose(dropped(x, training=True).detach().numpy(), plain(x).detach().numpy())
    assert dropped.count_params() == plain.count_params()
    check_layer(cls(6, dropout=0.2, recurrent_dropout=0.2), x, (3, 6), plain.count_params())


def test_input_dropout_mask_is_shared_by_all_steps():
    layer = layers.SimpleRNN(2, dropout=0.5, kernel_initializer="ones", recurrent_initializer="zeros",
                             activation="linear", return_sequences=True)
    x = np.ones((1, 3, 50), np.float32)  # with a zero recurrent kernel each output is its step's masked input sum
    out = layer(x, training=True).detach().numpy()[0]
    assert out[0, 0] == out[1, 0] == out[2, 0] and 0 < out[0, 0] < 100
    with pytest.raises(ValueError, match="recurrent_dropout.*1.5"):
        layers.LSTM(2, recurrent_dropout=1.5)


@pytest.mark.parametrize("make", [
    lambda: layers.LSTM(4, return_sequences=True, return_state=True),
    lambda: layers.LSTM(3, go_backwards=True, use_bias=False, return_sequences=True),
    lambda: layers.GRU(4, return_sequences=True, return_state=True),
    lambda: layers.GRU(3, go_backwards=True, use_bias=False),
    lambda: layers.SimpleRNN(4, activation="relu", return_sequences=True),
    lambda: layers.SimpleRNN(3, go_backwards=True, return_state=True)])
def test_fused_op_equals_the_step_by_step_loop(make):
    """The layers whose math the fused recurrent op computes run it: same outputs, states and gradients as the
    per-step loop they run otherwise."""
    fused, loop = make(), make()
    x = _x(2, 5, 3)
    _set_random_weights(fused, x)
    loop.build(x.shape)
    loop.set_weights(fused.get_weights())
    loop._fused_mode = lambda: None
    assert fused._fused_mode() is not None
    results = []
    for layer in (fused, loop):
        inputs = el.tensor(x, requires_grad=True)
        outs = layer(inputs)
        outs = outs if isinstance(outs, list) else [outs]
        seeds = [np.random.default_rng(1).standard_normal(o.shape).astype(np.float32) for o in outs]
        loss = sum((o * el.tensor(s)).sum() for o, s in zip(outs, seeds))
        results.append([o.detach().numpy() for o in outs] +
                       [g.numpy() for g in el.autograd.grad(loss, [inputs, *layer.trainable_weights])])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_layers_the_fused_op_does_not_cover_run_step_by_step():
    assert layers.GRU(3, reset_after=False)._fused_mode() is None
    assert layers.LSTM(3, recurrent_activation="relu")._fused_mode() is None
    assert layers.SimpleRNN(3, activation="gelu")._fused_mode() is None
    assert layers.LSTM(3)._fused_mode() == "LSTM" and layers.SimpleRNN(3)._fused_mode() == "RNN_TANH"
