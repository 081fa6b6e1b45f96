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
