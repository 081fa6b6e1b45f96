"""keras.Sequential: a stack of layers, each fed the previous one's output; built as soon as the input shape is
known (the first layer's `input_shape=`, or the first batch)."""
from ..layers.base import Layer
from ..layers.input_layer import InputLayer
from ..layers.symbolic import KerasTensor
from ..saving import get_registered, get_registered_name, register_builtin
from .model import Model


@register_builtin
class Sequential(Model):
    """`Sequential([layer, ...])` or `Sequential()` then `.add(layer)`."""

    def __init__(self, layers=None, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self._stack = []
        self._build_input_shape = None
        for layer in layers or ():
            self.add(layer)

    @property
    def layers(self):
        return list(self._stack)

    def add(self, layer):
        """Append a layer (built right away when the input shape is known); keras.Input(shape) first gives the
        input shape."""
        if isinstance(layer, KerasTensor) and isinstance(layer.node.layer, InputLayer):
            if self._stack:
                raise ValueError("Sequential.add: keras.Input(...) can only be the first entry")
            self.build(layer.shape)
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a keras layer, got {type(layer).__name__}")
        if any(layer.name == other.name for other in self._stack):
            raise ValueError(f"Sequential.add: a layer named {layer.name!r} is already in the model; layer names "
                             "must be unique")
        self.add_module(layer.name, layer)
        self._stack.append(layer)
        if len(self._stack) == 1 and layer._input_shape_arg is not None:
            self._build_input_shape = layer._input_shape_arg
        if self._build_input_shape is not None:
            self.build(self._build_input_shape)

    def build(self, input_shape):
        """Build every layer from the shape flowing through the stack ((None, ...): any batch size)."""
        shape = (None, *tuple(input_shape)[1:])  # (built from a first batch: any batch size after it)
        self._build_input_shape = shape
        for layer in self._stack:
            if not layer.built:
                layer.build(shape)
                layer.built = True
            shape = layer.compute_output_shape(shape)
        self.built = True

    def call(self, inputs, training=None):
        x = inputs
        for layer in self._stack:
            x = layer(x)
        return x

    def _layer_output_shapes(self):
        shape, out = self._build_input_shape, []
        for layer in self._stack:
            shape = layer.compute_output_shape(shape) if shape is not None and layer.built else None
            out.append((layer, shape))
        return out

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._stack:
            shape = layer.compute_output_shape(shape)
        return shape

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable,
                "layers": [{"class_name": get_registered_name(type(layer)), "config": layer.get_config()}
                           for layer in self._stack],
                "build_input_shape": None if self._build_input_shape is None else list(self._build_input_shape)}

    @classmethod
    def from_config(cls, config):
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for spec in config["layers"]:
            model.add(get_registered(spec["class_name"]).from_config(spec["config"]))
        if config.get("build_input_shape") is not None and not model.built:
            model.build(tuple(config["build_input_shape"]))
        return model
