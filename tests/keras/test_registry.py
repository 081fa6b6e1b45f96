import pytest

from eagerlab import keras
from eagerlab.keras.saving import get_registered, get_registered_name, register_keras_serializable


def test_builtin_layers_resolve_by_their_keras_class_name():
    assert get_registered("Dense") is keras.layers.Dense
    assert get_registered_name(keras.layers.Dense) == "Dense"


def test_custom_layer_registers_under_package_and_name():
    @register_keras_serializable(package="Tests")
    class Scale(keras.layers.Layer):
        pass

    assert get_registered("Tests>Scale") is Scale
    assert get_registered_name(Scale) == "Tests>Scale"

    class Unregistered(Scale):
        pass

    assert get_registered_name(Unregistered) == "Unregistered"


def test_missing_class_error_names_it_and_the_decorator():
    with pytest.raises(TypeError, match=r"'MyLayer'.*register_keras_serializable"):
        get_registered("MyLayer")


def test_a_name_taken_by_another_class_is_an_error():
    @register_keras_serializable(package="Tests", name="Taken")
    class First(keras.layers.Layer):
        pass

    with pytest.raises(ValueError, match="Tests>Taken.*First"):
        @register_keras_serializable(package="Tests", name="Taken")
        class Second(keras.layers.Layer):
            pass


def test_initializer_and_regularizer_lookup_errors_list_valid_names():
    with pytest.raises(ValueError, match="Unknown initializer: 'glorot'.*glorot_uniform"):
        keras.initializers.get("glorot")
    with pytest.raises(ValueError, match="Unknown regularizer: 'l3'.*l1_l2"):
        keras.regularizers.get("l3")


def test_custom_layer_with_weights_and_sublayers_round_trips_through_the_registry():
    import json

    import numpy as np

    @register_keras_serializable(package="Tests")
    class Residual(keras.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.inner = keras.layers.Dense(units, activation="relu")

        def build(self, input_shape):
            self.add_weight("scale", (self.units,), initializer="ones")
            self.add_weight("calls", (), initializer="zeros", trainable=False)
            self.built = True

        def call(self, inputs):
            return inputs + self.scale * self.inner(inputs)

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    layer = Residual(4)
    x = np.ones((2, 4), np.float32)
    out = layer(x, training=True)  # a call without `training` ignores it, as in Keras
    assert tuple(out.shape) == (2, 4) and layer.count_params() == 4 + 20 + 1
    assert [w.shape for w in layer.get_weights()] == [(4,), (4, 4), (4,), ()]
    assert len(layer.trainable_weights) == 3 and len(layer.non_trainable_weights) == 1
    config = json.loads(json.dumps(layer.get_config()))
    clone = get_registered(get_registered_name(Residual)).from_config(config)
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(clone(x).detach().numpy(), out.detach().numpy())
    layer.trainable = False
    assert layer.trainable_weights == [] and not layer.inner.trainable


def test_add_weight_without_a_name_takes_the_attribute_name():
    import numpy as np

    class Linear(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 2), initializer="random_normal", trainable=True)
            self.b = self.add_weight(shape=(2,), initializer="zeros", regularizer="l2")
            self.kernel = self.add_weight(name="kernel", shape=(1,), initializer="ones", trainable=False)

        def call(self, inputs):
            return inputs.matmul(self.w) + self.b

    layer = Linear()
    out = layer(np.ones((3, 4), np.float32))
    assert tuple(out.shape) == (3, 2)
    assert list(layer.state_dict()) == ["w", "b", "kernel"]
    assert [tuple(w.shape) for w in layer.weights] == [(4, 2), (2,), (1,)]
    assert len(layer.losses) == 1 and len(list(layer.parameters())) == 3


def test_a_build_that_returns_marks_the_layer_built():
    class Scale(keras.layers.Layer):
        def build(self, input_shape):
            self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    layer = Scale()
    layer.build((None, 5))
    assert layer.built and layer.count_params() == 5
