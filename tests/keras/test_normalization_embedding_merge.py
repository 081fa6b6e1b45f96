import numpy as np
import pytest

from eagerlab import keras

from .layer_checks import check_layer

layers = keras.layers
RNG = np.random.default_rng(2)


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def test_batch_normalization_weights_counts_and_order():
    layer = layers.BatchNormalization()
    check_layer(layer, _x(8, 5, 5, 16), (8, 5, 5, 16), 64, trainable_params=32)
    assert [w.shape for w in layer.get_weights()] == [(16,)] * 4
    assert [name for name in layer.state_dict()] == ["gamma", "beta", "moving_mean", "moving_variance"]
    check_layer(layers.BatchNormalization(center=False), _x(8, 3), (8, 3), 9, trainable_params=3)


def test_batch_normalization_training_uses_batch_stats_and_keras_momentum():
    layer = layers.BatchNormalization(momentum=0.9, epsilon=1e-3)
    x = _x(64, 3) * 2 + 5
    out = layer(x, training=True).detach().numpy()
    np.testing.assert_allclose(out, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3), rtol=1e-4, atol=1e-4)
    _, _, mean, var = layer.get_weights()
    np.testing.assert_allclose(mean, 0.1 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(var, 0.9 + 0.1 * x.var(0, ddof=1), rtol=1e-5)
    inference = layer(x, training=False).detach().numpy()
    np.testing.assert_allclose(inference, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-4)


def test_frozen_batch_normalization_runs_in_inference_mode():
    layer = layers.BatchNormalization()
    x = _x(16, 4) + 3
    layer(x)
    layer.trainable = False
    before = layer.get_weights()
    np.testing.assert_allclose(layer(x, training=True).detach().numpy(),
                               (x - before[2]) / np.sqrt(before[3] + 1e-3), rtol=1e-5)
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_layer_normalization():
    x = _x(4, 6, 10)
    out = check_layer(layers.LayerNormalization(), x, (4, 6, 10), 20)
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    np.testing.assert_allclose(out.detach().numpy(), (x - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-5)
    with pytest.raises(NotImplementedError, match="axis=1"):
        layers.LayerNormalization(axis=1)


def test_embedding_masking_says_it_is_not_supported():
    with pytest.raises(NotImplementedError, match="mask_zero=True \\(masking\\) is not supported"):
        layers.Embedding(10, 4, mask_zero=True)


def test_embedding():
    ids = RNG.integers(0, 1000, (4, 7))
    layer = layers.Embedding(1000, 64)
    check_layer(layer, ids, (4, 7, 64), 64000)
    table = layer.get_weights()[0]
    assert np.abs(table).max() <= 0.05
    np.testing.assert_array_equal(layer(ids).detach().numpy(), table[ids])
    np.testing.assert_array_equal(layer(ids.astype(np.float32)).detach().numpy(), table[ids])


def test_rescaling():
    x = RNG.integers(0, 256, (2, 4, 4, 3)).astype(np.float32)
    out = check_layer(layers.Rescaling(1 / 255, offset=-0.5), x, (2, 4, 4, 3), 0)
    np.testing.assert_allclose(out.detach().numpy(), x / 255 - 0.5, rtol=1e-6, atol=1e-7)


def test_concatenate_and_elementwise_merges():
    a, b, c = _x(2, 3, 4), _x(2, 3, 5), _x(2, 3, 4)
    out = check_layer(layers.Concatenate(), [a, b], (2, 3, 9), 0)
    np.testing.assert_array_equal(out.detach().numpy(), np.concatenate([a, b], -1))
    check_layer(layers.Concatenate(axis=1), [a, c], (2, 6, 4), 0)
    np.testing.assert_allclose(check_layer(layers.Add(), [a, c, a], (2, 3, 4), 0).detach().numpy(), a + c + a,
                               rtol=1e-6)
    np.testing.assert_allclose(layers.Multiply()([a, c]).detach().numpy(), a * c, rtol=1e-6)
    np.testing.assert_allclose(layers.Average()([a, c]).detach().numpy(), (a + c) / 2, rtol=1e-6)


def test_merge_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"same shape.*\(2, 3, 4\), \(2, 3, 5\)"):
        layers.Add()([_x(2, 3, 4), _x(2, 3, 5)])
    with pytest.raises(ValueError, match=r"except along the concatenation axis -1.*\(2, 4, 5\)"):
        layers.Concatenate()([_x(2, 3, 4), _x(2, 4, 5)])
    with pytest.raises(ValueError, match="list of at least 2 inputs"):
        layers.Add()(_x(2, 3))
