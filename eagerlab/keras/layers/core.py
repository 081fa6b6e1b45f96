"""Dense (and KernelLayer, its arguments shared with the convolutions), Activation, Dropout, Flatten, Reshape,
Rescaling. Arguments past the ones Keras code passes by position are keyword-only, so a call written for another
Keras version fails loudly instead of binding a value to the wrong argument."""
import math

from ...errors import ShapeError
from ...nn import functional as F
from .. import activations, initializers, regularizers
from ..saving import register_builtin
from .base import Layer


def positive_int(layer, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{layer}: `{name}` must be a positive integer. Received: {name}={value!r}")
    return value


def last_dim(layer, input_shape):
    """The feature (last) dimension a layer builds its weights from; it must be known."""
    if len(input_shape) < 2 or input_shape[-1] is None:
        raise ShapeError(f"{layer.name!r} ({type(layer).__name__}) needs inputs of shape (batch, ..., features) "
                         f"with known features, got input shape {tuple(input_shape)}")
    return int(input_shape[-1])


class KernelLayer(Layer):
    """A layer computing activation(f(inputs, kernel) + bias): Dense and the convolutions share these arguments."""

    def __init__(self, *, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def _add_kernel_and_bias(self, kernel_shape):
        self.add_weight("kernel", kernel_shape, self.kernel_initializer, self.kernel_regularizer)
        if self.use_bias:
            self.add_weight("bias", (kernel_shape[-1],), self.bias_initializer, self.bias_regularizer)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer)}


@register_builtin
class Dense(KernelLayer):
    """activation(inputs @ kernel + bias) over the last axis; kernel (in, units)."""

    def __init__(self, units, activation=None, **kwargs):
        super().__init__(activation=activation, **kwargs)
        self.units = positive_int("Dense", "units", units)

    def build(self, input_shape):
        self._add_kernel_and_bias((last_dim(self, input_shape), self.units))

    def call(self, inputs):
        weights = self._parameters  # (a dict lookup: Module.__getattr__ is the slow path; this is per batch)
        out = inputs.matmul(weights["kernel"])
        if self.use_bias:
            out = out + weights["bias"]
        return self.activation(out)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_builtin
class Activation(Layer):
    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


@register_builtin
class Dropout(Layer):
    """Zeroes a fraction `rate` of the inputs and scales the rest by 1 / (1 - rate), in training only. Masks
    come from eagerlab's default generator (`seed` is kept in the config only)."""

    def __init__(self, rate, *, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValueError(f"Dropout: `rate` must be a number in [0, 1]. Received: rate={rate!r}")
        self.rate, self.seed = float(rate), seed

    def call(self, inputs, training=None):
        if not self._is_training(training) or self.rate == 0:
            return inputs
        return F.dropout(inputs, self.rate, True)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@register_builtin
class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1 * d2 * ...)."""

    def call(self, inputs):
        return inputs.reshape(inputs.shape[0], -1)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else math.prod(rest))


@register_builtin
class Reshape(Layer):
    """(batch, ...) -> (batch, *target_shape); one entry of target_shape may be -1."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if self.target_shape.count(-1) > 1:
            raise ValueError(f"Reshape: at most one -1 in target_shape. Received: target_shape={self.target_shape}")

    def call(self, inputs):
        return inputs.reshape((inputs.shape[0],) + self._resolved(tuple(inputs.shape)))

    def _resolved(self, input_shape):
        size = math.prod(input_shape[1:])
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape and known and size % known == 0:
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if -1 not in self.target_shape and size == known:
            return self.target_shape
        raise ShapeError(f"Reshape {self.name!r}: cannot reshape input of shape {input_shape} (batch first) "
                         f"to target_shape {self.target_shape}")

    def compute_output_shape(self, input_shape):
        if None in input_shape[1:]:
            return (input_shape[0],) + self.target_shape
        return (input_shape[0],) + self._resolved(tuple(input_shape))

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


@register_builtin
class Rescaling(Layer):
    """inputs * scale + offset (e.g. scale=1/255 for pixel values)."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = float(scale), float(offset)

    def call(self, inputs):
        return inputs * self.scale + self.offset

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
