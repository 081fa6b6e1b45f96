import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from eagerlab import keras

from .layer_checks import check_layer

layers = keras.layers
RNG = np.random.default_rng(1)


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _np_conv2d_valid(x, kernel, bias, strides):
    windows = sliding_window_view(x, kernel.shape[:2], axis=(1, 2))[:, ::strides[0], ::strides[1]]
    return np.einsum("nhwcij,ijcf->nhwf", windows, kernel) + bias


def test_conv2d_counts_and_shapes_match_keras():
    check_layer(layers.Conv2D(32, 3, activation="relu"), _x(2, 28, 28, 1), (2, 26, 26, 32), 320)
    check_layer(layers.Conv2D(64, (3, 3), strides=2, padding="same"), _x(2, 7, 7, 16), (2, 4, 4, 64), 9280)
    check_layer(layers.Conv2D(4, (2, 3), use_bias=False, dilation_rate=2), _x(1, 9, 9, 3), (1, 7, 5, 4), 72)


def test_conv2d_uses_keras_kernel_layout():
    layer = layers.Conv2D(5, (3, 2), strides=(2, 1))
    x = _x(2, 7, 6, 3)
    layer.build(x.shape)
    kernel, bias = _x(3, 2, 3, 5), _x(5)
    layer.set_weights([kernel, bias])
    np.testing.assert_allclose(layer(x).detach().numpy(), _np_conv2d_valid(x, kernel, bias, (2, 1)), rtol=1e-4,
                               atol=1e-5)


def test_conv2d_same_padding_puts_the_odd_pixel_after_as_tensorflow_does():
    layer = layers.Conv2D(1, 3, strides=2, padding="same", kernel_initializer="ones")
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    assert layer(x).detach().numpy()[0, :, :, 0].tolist() == [[45, 39], [66, 50]]


def test_conv1d_counts_shapes_and_values():
    check_layer(layers.Conv1D(8, 5), _x(2, 20, 3), (2, 16, 8), 128)
    check_layer(layers.Conv1D(4, 3, dilation_rate=2), _x(2, 10, 2), (2, 6, 4), 28)
    check_layer(layers.Conv1D(4, 3, strides=2, padding="same"), _x(2, 9, 2), (2, 5, 4), 28)
    layer = layers.Conv1D(2, 2)
    x = _x(1, 4, 3)
    layer.build(x.shape)
    kernel, bias = _x(2, 3, 2), _x(2)
    layer.set_weights([kernel, bias])
    expected = np.stack([x[0, t] @ kernel[0] + x[0, t + 1] @ kernel[1] + bias for t in range(3)])
    np.testing.assert_allclose(layer(x).detach().numpy()[0], expected, rtol=1e-5, atol=1e-6)


def test_conv_argument_and_rank_errors():
    with pytest.raises(ValueError, match="padding.*'full'"):
        layers.Conv2D(1, 3, padding="full")
    with pytest.raises(ValueError, match="kernel_size.*0"):
        layers.Conv2D(1, 0)
    with pytest.raises(ValueError, match=r"Conv2D 'c'.*rank 4.*\(2, 5, 3\)"):
        layers.Conv2D(1, 3, name="c")(_x(2, 5, 3))


def test_pooling_shapes_and_values():
    x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    assert check_layer(layers.MaxPooling2D(), x, (1, 1, 1, 1), 0).detach().numpy().ravel().tolist() == [4]
    same_max = check_layer(layers.MaxPooling2D(padding="same"), x, (1, 2, 2, 1), 0)
    assert same_max.detach().numpy()[0, :, :, 0].tolist() == [[4, 5], [7, 8]]
    same_avg = check_layer(layers.AveragePooling2D(2, padding="same"), x, (1, 2, 2, 1), 0)
    assert same_avg.detach().numpy()[0, :, :, 0].tolist() == [[2, 3.5], [6.5, 8]]
    check_layer(layers.MaxPooling2D((2, 2)), _x(2, 28, 28, 8), (2, 14, 14, 8), 0)
    check_layer(layers.AveragePooling2D(3, strides=1), _x(2, 5, 6, 4), (2, 3, 4, 4), 0)


def test_global_pooling():
    x = _x(2, 3, 4, 5)
    out = check_layer(layers.GlobalAveragePooling2D(), x, (2, 5), 0)
    np.testing.assert_allclose(out.detach().numpy(), x.mean((1, 2)), rtol=1e-5)
    check_layer(layers.GlobalAveragePooling2D(keepdims=True), x, (2, 1, 1, 5), 0)
    np.testing.assert_allclose(check_layer(layers.GlobalMaxPooling2D(), x, (2, 5), 0).detach().numpy(),
                               x.max((1, 2)))


def test_small_convnet_trains_one_step_end_to_end():
    import eagerlab as el

    stack = [layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(), layers.Flatten(), layers.Dense(3)]
    x, y = _x(8, 8, 8, 1), el.tensor(RNG.integers(0, 3, 8))

    def loss():
        h = x
        for layer in stack:
            h = layer(h)
        return el.nn.functional.cross_entropy(h, y)

    first = loss()
    params = [w for layer in stack for w in layer.trainable_weights]
    assert sum(int(np.prod(p.shape)) for p in params) == 40 + 111  # conv 3*3*1*4+4; dense (3*3*4)*3+3
    first.backward()
    el.optim.SGD(params, lr=0.1).step()
    with el.no_grad():
        assert loss().item() < first.item()


def test_one_dimensional_pooling():
    x = np.arange(5, dtype=np.float32).reshape(1, 5, 1)
    assert check_layer(layers.MaxPooling1D(), x, (1, 2, 1), 0).detach().numpy().ravel().tolist() == [1, 3]
    same = check_layer(layers.AveragePooling1D(2, padding="same"), x, (1, 3, 1), 0)
    assert same.detach().numpy().ravel().tolist() == [0.5, 2.5, 4]
    check_layer(layers.MaxPooling1D(3, strides=1, padding="same"), _x(2, 7, 4), (2, 7, 4), 0)
    seq = _x(2, 6, 3)
    np.testing.assert_allclose(check_layer(layers.GlobalAveragePooling1D(), seq, (2, 3), 0).detach().numpy(),
                               seq.mean(1), rtol=1e-6)
    np.testing.assert_array_equal(check_layer(layers.GlobalMaxPooling1D(), seq, (2, 3), 0).detach().numpy(),
                                  seq.max(1))
    check_layer(layers.GlobalMaxPooling1D(keepdims=True), seq, (2, 1, 3), 0)
    with pytest.raises(ValueError, match=r"rank 3 \(batch, steps, channels\).*\(2, 6\)"):
        layers.GlobalAveragePooling1D()(_x(2, 6))


def test_text_classifier_stack_embedding_to_global_pooling():
    ids = RNG.integers(0, 100, (4, 12))
    h = layers.Embedding(100, 16)(ids)
    h = layers.Conv1D(8, 3, activation="relu")(h)
    h = layers.GlobalMaxPooling1D()(h)
    assert tuple(layers.Dense(1, activation="sigmoid")(h).shape) == (4, 1)
