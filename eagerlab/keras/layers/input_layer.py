"""keras.Input / InputLayer: the declared input shape of a Sequential model (the functional API's symbolic inputs
are not supported yet)."""
from ..saving import register_builtin
from .base import Layer


@register_builtin
class InputLayer(Layer):
    """Passes its input through; it tells a Sequential model its input shape, so the model builds right away."""

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, batch_shape=None, **kwargs):
        if batch_shape is None and shape is not None:
            batch_shape = (batch_size, *shape)
        if batch_shape is None:
            raise ValueError("InputLayer: pass shape=(...) (without the batch dimension) or batch_shape=(...)")
        super().__init__(name=name, dtype=dtype, batch_input_shape=batch_shape, **kwargs)
        self.built = True

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "batch_shape": list(self._input_shape_arg)}


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None):
    """`keras.Input(shape=(28, 28))` as the first entry of a Sequential model."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name, batch_shape=batch_shape)
