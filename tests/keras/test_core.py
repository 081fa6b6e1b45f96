import json

import numpy as np
import pytest

import eagerlab as el
from eagerlab import keras
from eagerlab.errors import ShapeError
from eagerlab.keras.layers.base import reset_names

from .layer_checks import check_layer

layers = keras.layers
RNG = np.random.default_rng(0)


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def test_dense_shape_params_config_and_step():
    check_layer(layers.Dense(10, activation="relu", kernel_regularizer="l2"), _x(4, 784), (4, 10), 7850)
    check_layer(layers.Dense(3, use_bias=False), _x(2, 5, 8), (2, 5, 3), 24)


def test_dense_computes_inputs_at_kernel_plus_bias_with_keras_layout():
    layer = layers.Dense(2, activation="tanh")
    layer.build((None, 3))
    kernel, bias = _x(3, 2), _x(2)
    layer.set_weights([kernel, bias])
    x = _x(4, 3)
    assert [w.shape for w in layer.get_weights()] == [(3, 2), (2,)]
    np.testing.assert_allclose(layer(x).detach().numpy(), np.tanh(x @ kernel + bias), rtol=1e-5, atol=1e-6)


def test_dense_rejects_wrong_feature_count_naming_the_layer():
    layer = layers.Dense(2, name="head")
    layer(_x(1, 3))
    with pytest.raises(ShapeError, match=r"Dense 'head'.*\(1, 4\) @ \(3, 2\)"):
        layer(_x(1, 4))


def test_glorot_uniform_default_and_seeded_reproducibility():
    el.manual_seed(0)
    first = layers.Dense(50)
    first.build((None, 30))
    el.manual_seed(0)
    second = layers.Dense(50)
    second.build((None, 30))
    kernel, bias = first.get_weights()
    np.testing.assert_array_equal(kernel, second.get_weights()[0])
    limit = np.sqrt(6 / (30 + 50))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    assert not bias.any()


def test_names_are_unique_per_class_in_keras_style():
    reset_names()
    names = [layers.Dense(1).name, layers.Dense(1).name, layers.Flatten().name, layers.Dense(1, name="out").name]
    assert names == ["dense", "dense_1", "flatten", "out"]


def test_unknown_keyword_argument_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="Dense.*'unitz'"):
        layers.Dense(1, unitz=3)


def test_input_shape_and_input_dim_give_a_batch_input_shape():
    assert layers.Dense(1, input_shape=(28, 28))._input_shape_arg == (None, 28, 28)
    assert layers.Dense(1, input_dim=4)._input_shape_arg == (None, 4)
    config = layers.Dense(1, input_shape=(4,)).get_config()
    assert config["batch_input_shape"] == [None, 4]
    assert layers.Dense.from_config(config)._input_shape_arg == (None, 4)


def test_count_params_before_build_is_an_error():
    with pytest.raises(ValueError, match="isn't built"):
        layers.Dense(3, name="d").count_params()


def test_non_trainable_layer_keeps_its_weights_out_of_training():
    layer = layers.Dense(2, trainable=False)
    layer(_x(1, 3))
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2
    assert not any(p.requires_grad for p in layer.parameters())
    assert set(layer.state_dict()) == {"kernel", "bias"}
    layer.trainable = True
    assert len(layer.trainable_weights) == 2 and all(p.requires_grad for p in layer.parameters())


def test_regularization_losses_follow_the_current_weights():
    layer = layers.Dense(2, kernel_regularizer=keras.regularizers.L1L2(l1=0.1, l2=0.5), bias_regularizer="l1")
    layer.build((None, 2))
    kernel, bias = np.array([[1, -2], [0, 3]], np.float32), np.array([1, -1], np.float32)
    layer.set_weights([kernel, bias])
    kernel_loss, bias_loss = [t.item() for t in layer.losses]
    assert kernel_loss == pytest.approx(0.1 * 6 + 0.5 * 14)
    assert bias_loss == pytest.approx(0.01 * 2)


def test_set_weights_checks_count_and_shapes():
    layer = layers.Dense(2)
    layer.build((None, 3))
    with pytest.raises(ValueError, match="expects 2 weights.*1"):
        layer.set_weights([np.zeros((3, 2))])
    with pytest.raises(ShapeError, match=r"\(3, 2\).*\(2, 3\)"):
        layer.set_weights([np.zeros((2, 3)), np.zeros(2)])


def test_flatten_and_reshape():
    check_layer(layers.Flatten(), _x(2, 3, 4, 5), (2, 60), 0)
    assert layers.Flatten().compute_output_shape((None, None, 4)) == (None, None)
    check_layer(layers.Reshape((4, -1)), _x(2, 12), (2, 4, 3), 0)
    check_layer(layers.Reshape((3, 4)), _x(2, 12), (2, 3, 4), 0)
    with pytest.raises(ShapeError, match=r"\(2, 12\).*\(5, -1\)"):
        layers.Reshape((5, -1))(_x(2, 12))


def test_dropout_only_in_training():
    layer = layers.Dropout(0.5)
    x = np.ones((100, 100), np.float32)
    dropped = layer(x).detach().numpy()
    assert set(np.unique(dropped)) == {0.0, 2.0} and 0.4 < (dropped == 0).mean() < 0.6
    np.testing.assert_array_equal(layer(x, training=False).detach().numpy(), x)
    layer.eval()
    np.testing.assert_array_equal(layer(x).detach().numpy(), x)
    assert (layer(x, training=True).detach().numpy() == 0).any()
    check_layer(layers.Dropout(0.2), _x(3, 4), (3, 4), 0)


def test_activation_layer_and_lookup():
    x = _x(3, 4)
    np.testing.assert_allclose(check_layer(layers.Activation("softmax"), x, (3, 4), 0).detach().numpy().sum(-1), 1,
                               rtol=1e-6)
    leaky = layers.Activation("leaky_relu")(x).detach().numpy()
    np.testing.assert_allclose(leaky, np.where(x > 0, x, 0.2 * x), rtol=1e-6)
    selu = keras.activations.get("selu")(el.tensor([-1.0, 1.0])).detach().numpy()
    scale, alpha = 1.0507009873554805, 1.6732632423543772
    np.testing.assert_allclose(selu, [scale * alpha * (np.exp(-1) - 1), scale], rtol=1e-6)
    assert keras.activations.get(None) is keras.activations.get("linear")
    assert keras.activations.get("swish") is keras.activations.get("silu")
    with pytest.raises(ValueError, match="Unknown activation: 'rleu'.*relu"):
        keras.activations.get("rleu")


def test_config_is_json_and_initializers_round_trip():
    layer = layers.Dense(3, kernel_initializer=keras.initializers.RandomNormal(stddev=0.1), bias_initializer="ones")
    config = json.loads(json.dumps(layer.get_config()))
    clone = layers.Dense.from_config(config)
    assert isinstance(clone.kernel_initializer, keras.initializers.RandomNormal)
    assert clone.kernel_initializer.stddev == 0.1
    clone.build((None, 2))
    np.testing.assert_array_equal(clone.get_weights()[1], np.ones(3, np.float32))


def test_numpy_input_computes_in_the_layer_dtype():
    assert layers.Dense(2)(np.ones((1, 3))).dtype == el.float32
    layer = layers.Dense(2, dtype="float64")
    assert layer(np.ones((1, 3), np.float32)).dtype == el.float64 and layer.kernel.dtype == el.float64


def test_layer_is_a_module_with_hooks():
    layer = layers.Dense(2)
    seen = []
    layer.register_forward_hook(lambda m, args, out: seen.append(tuple(out.shape)))
    layer(_x(5, 3))
    assert seen == [(5, 2)] and isinstance(layer, el.nn.Module)


def test_arguments_keras_code_passes_by_position():
    assert layers.Dense(3, "relu").activation is keras.activations.relu
    conv = layers.Conv2D(8, (3, 3), (2, 2), "same")
    assert (conv.strides, conv.padding) == ((2, 2), "same")
    lstm = layers.LSTM(4, "relu", "tanh")
    assert (lstm.activation, lstm.recurrent_activation) == (keras.activations.relu, keras.activations.tanh)
    assert layers.BatchNormalization(-1, 0.9, 1e-5, False).center is False
    with pytest.raises(TypeError):
        layers.Dropout(0.2, None, 42)  # Keras's noise_shape is not supported: no silent binding to seed
