"""BatchNormalization and LayerNormalization over the last (channels) axis, with Keras's arguments and defaults
(epsilon 1e-3; momentum 0.99 is the weight of the old moving statistic)."""
from ...nn import functional as F
from .. import initializers, regularizers
from ..saving import register_builtin
from .base import Layer
from .core import last_dim


def _check_axis(layer, axis):
    if axis not in (-1,):
        raise NotImplementedError(f"{layer}: only axis=-1 (channels last) is supported. Received: axis={axis!r}")
    return axis


class _Normalization(Layer):
    """gamma (scale) and beta (center) over the last axis, with Keras's initializer/regularizer arguments."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, *, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.axis = _check_axis(type(self).__name__, axis)
        self.epsilon, self.center, self.scale = float(epsilon), bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)

    def build(self, input_shape):
        channels = last_dim(self, input_shape)
        if self.scale:
            self.add_weight("gamma", (channels,), self.gamma_initializer, self.gamma_regularizer)
        if self.center:
            self.add_weight("beta", (channels,), self.beta_initializer, self.beta_regularizer)
        return channels

    def _affine(self):
        return (self.gamma if self.scale else None), (self.beta if self.center else None)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer)}


@register_builtin
class BatchNormalization(_Normalization):
    """Training (and trainable): batch statistics, and moving = momentum * moving + (1 - momentum) * batch;
    otherwise the moving statistics. The moving variance takes the unbiased batch variance (as tf.keras's fused
    kernel does; Keras 3 takes the biased one: a relative difference of 1 / (values per channel - 1))."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, *,
                 moving_mean_initializer="zeros", moving_variance_initializer="ones", **kwargs):
        super().__init__(axis, epsilon, center, scale, **kwargs)
        self.momentum = float(momentum)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)

    def build(self, input_shape):
        channels = super().build(input_shape)
        self.add_weight("moving_mean", (channels,), self.moving_mean_initializer, trainable=False)
        self.add_weight("moving_variance", (channels,), self.moving_variance_initializer, trainable=False)

    def call(self, inputs, training=None):
        # a frozen BatchNormalization runs in inference mode, as in Keras (fine-tuning keeps its statistics)
        training = self._is_training(training) and self.trainable
        channels_first = (0, inputs.ndim - 1) + tuple(range(1, inputs.ndim - 1))
        x = inputs.permute(*channels_first) if inputs.ndim > 2 else inputs
        out = F.batch_norm(x, self.moving_mean, self.moving_variance, *self._affine(), training=training,
                           momentum=1.0 - self.momentum, eps=self.epsilon)
        return out.permute(0, *range(2, inputs.ndim), 1) if inputs.ndim > 2 else out

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum,
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer)}


@register_builtin
class LayerNormalization(_Normalization):
    """Normalizes each sample over its last axis, then gamma * x + beta."""

    def call(self, inputs):
        return F.layer_norm(inputs, (inputs.shape[-1],), *self._affine(), eps=self.epsilon)
