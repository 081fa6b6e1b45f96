"""Max and average pooling over 1 or 2 spatial dims, and their global forms, channels-last. "same" padding is
TensorFlow's: asymmetric when odd, padded cells never win a max and never count in an average."""
from ...nn import functional as F
from ...ops.creation import ones
from ..saving import register_builtin
from ._shapes import channels_first, channels_last, check_padding, int_tuple, output_length, same_pads
from .base import Layer


def _check_rank(layer, input_shape, rank):
    if len(input_shape) != rank + 2:
        raise ValueError(f"{type(layer).__name__} {layer.name!r} expects inputs of rank {rank + 2} (batch, "
                         f"{'steps' if rank == 1 else 'height, width'}, channels), got input shape "
                         f"{tuple(input_shape)}")


class _Pooling(Layer):
    rank = None

    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.pool_size = int_tuple(cls, "pool_size", pool_size, self.rank)
        self.strides = self.pool_size if strides is None else int_tuple(cls, "strides", strides, self.rank)
        self.padding = check_padding(cls, padding)

    def build(self, input_shape):
        _check_rank(self, input_shape, self.rank)

    def call(self, inputs):
        x = inputs.permute(*channels_first(self.rank))
        pads = same_pads(tuple(x.shape[2:]), self.pool_size, self.strides, (1,) * self.rank) \
            if self.padding == "same" else None
        return self._pool(x, pads).permute(*channels_last(self.rank))

    def compute_output_shape(self, input_shape):
        spatial = tuple(output_length(n, k, s, self.padding) for n, k, s in
                        zip(input_shape[1:-1], self.pool_size, self.strides))
        return (input_shape[0],) + spatial + (input_shape[-1],)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding}


class _MaxPooling(_Pooling):
    def _pool(self, x, pads):
        if pads is not None:
            x = F.pad(x, pads, value=float("-inf"))
        return self._op(x, self.pool_size, self.strides)


class _AveragePooling(_Pooling):
    def _pool(self, x, pads):
        if pads is None:
            return self._op(x, self.pool_size, self.strides)
        # the mean over the real cells of each window: (window mean of zero-padded x) / (window share of real cells)
        real = F.pad(ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype, device=x.device), pads)
        return self._op(F.pad(x, pads), self.pool_size, self.strides) / \
            self._op(real, self.pool_size, self.strides)


class _GlobalPooling(Layer):
    rank = None

    def __init__(self, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.keepdims = bool(keepdims)
        self._axes = tuple(range(1, self.rank + 1))

    def build(self, input_shape):
        _check_rank(self, input_shape, self.rank)

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return (input_shape[0],) + (1,) * self.rank + (input_shape[-1],)
        return input_shape[0], input_shape[-1]

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}


class _GlobalAverage(_GlobalPooling):
    def call(self, inputs):
        return inputs.mean(self._axes, keepdim=self.keepdims)


class _GlobalMax(_GlobalPooling):
    def call(self, inputs):
        return inputs.amax(self._axes, keepdim=self.keepdims)


def _concrete(name, base, rank, op=None):
    """The public class `name`: `base` over `rank` spatial dims, pooling with the channels-first `op`."""
    attrs = {"rank": rank, "__module__": __name__, "__qualname__": name}
    if op is not None:
        attrs["_op"] = staticmethod(op)
    return register_builtin(type(name, (base,), attrs))


MaxPooling1D = _concrete("MaxPooling1D", _MaxPooling, 1, F.max_pool1d)
MaxPooling2D = _concrete("MaxPooling2D", _MaxPooling, 2, F.max_pool2d)
AveragePooling1D = _concrete("AveragePooling1D", _AveragePooling, 1, F.avg_pool1d)
AveragePooling2D = _concrete("AveragePooling2D", _AveragePooling, 2, F.avg_pool2d)
GlobalAveragePooling1D = _concrete("GlobalAveragePooling1D", _GlobalAverage, 1)
GlobalAveragePooling2D = _concrete("GlobalAveragePooling2D", _GlobalAverage, 2)
GlobalMaxPooling1D = _concrete("GlobalMaxPooling1D", _GlobalMax, 1)
GlobalMaxPooling2D = _concrete("GlobalMaxPooling2D", _GlobalMax, 2)
