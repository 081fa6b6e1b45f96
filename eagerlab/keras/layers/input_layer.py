"""keras.Input / InputLayer: where a model's inputs come in. `keras.Input(shape)` is a KerasTensor (the functional
API's starting point); as the first entry of a Sequential model it gives the model its input shape."""
from ..saving import register_builtin
from .base import Layer
from .symbolic import KerasTensor, Node


@register_builtin
class InputLayer(Layer):
    """Passes its input through; its one node's output is the KerasTensor keras.Input returns."""

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, batch_shape=None, **kwargs):
        if batch_shape is None and shape is not None:
            batch_shape = (batch_size, *shape)
        if batch_shape is None:
            raise ValueError("InputLayer: pass shape=(...) (without the batch dimension) or batch_shape=(...)")
        super().__init__(name=name, dtype=dtype, batch_input_shape=batch_shape, **kwargs)
        self.built = True
        node = Node(self, (), {})
        node.outputs = (KerasTensor(self._input_shape_arg, self.dtype, node, 0),)
        self._inbound_nodes.append(node)

    @property
    def output(self):
        return self._inbound_nodes[0].outputs[0]

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "batch_shape": list(self._input_shape_arg)}


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None):
    """`keras.Input(shape=(28, 28))`: a KerasTensor to call layers on (functional API), or the first entry of a
    Sequential model."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name, batch_shape=batch_shape).output
