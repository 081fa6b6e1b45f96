"""MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, channels-last. "same" padding is
TensorFlow's: asymmetric when odd, padded cells never win a max and never count in an average."""
from ...ops.creation import ones
from ...nn import functional as F
from ..saving import register_builtin
from ._shapes import check_padding, int_tuple, output_length, same_pads
from .base import Layer


class _Pooling2D(Layer):
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.pool_size = int_tuple(cls, "pool_size", pool_size, 2)
        self.strides = self.pool_size if strides is None else int_tuple(cls, "strides", strides, 2)
        self.padding = check_padding(cls, padding)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects inputs of rank 4 (batch, height, width, "
                             f"channels), got input shape {tuple(input_shape)}")
        self.built = True

    def call(self, inputs):
        x = inputs.permute(0, 3, 1, 2)
        pads = same_pads(tuple(x.shape[2:]), self.pool_size, self.strides, (1, 1)) if self.padding == "same" \
            else None
        return self._pool(x, pads).permute(0, 2, 3, 1)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, output_length(h, self.pool_size[0], self.strides[0], self.padding),
                output_length(w, self.pool_size[1], self.strides[1], self.padding), c)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding}


@register_builtin
class MaxPooling2D(_Pooling2D):
    def _pool(self, x, pads):
        if pads is not None:
            x = F.pad(x, pads, value=float("-inf"))
        return F.max_pool2d(x, self.pool_size, self.strides)


@register_builtin
class AveragePooling2D(_Pooling2D):
    def _pool(self, x, pads):
        if pads is None:
            return F.avg_pool2d(x, self.pool_size, self.strides)
        # the mean over the real cells of each window: (window sum of zero-padded x) / (window count of real cells)
        real = F.pad(ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype, device=x.device), pads)
        return F.avg_pool2d(F.pad(x, pads), self.pool_size, self.strides) / \
            F.avg_pool2d(real, self.pool_size, self.strides)


class _GlobalPooling2D(Layer):
    def __init__(self, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1, 1, input_shape[3]) if self.keepdims else (input_shape[0], input_shape[3])

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}


@register_builtin
class GlobalAveragePooling2D(_GlobalPooling2D):
    def call(self, inputs):
        return inputs.mean((1, 2), keepdim=self.keepdims)


@register_builtin
class GlobalMaxPooling2D(_GlobalPooling2D):
    def call(self, inputs):
        return inputs.amax((1, 2), keepdim=self.keepdims)
