"""Conv1D and Conv2D, channels-last with Keras's kernel layout (*kernel_size, in, filters). The computation is
eagerlab's channels-first convolution on permuted views; "same" padding is an explicit pad when it is
asymmetric."""
from ...nn import functional as F
from .. import activations
from ..saving import register_builtin
from ._shapes import channels_first, channels_last, check_padding, int_tuple, output_length, same_pads
from .core import KernelLayer, last_dim


class _Conv(KernelLayer):
    rank = None

    def __init__(self, filters, kernel_size, strides=1, padding="valid", *, dilation_rate=1, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.filters = int_tuple(cls, "filters", filters, 1)[0]
        self.kernel_size = int_tuple(cls, "kernel_size", kernel_size, self.rank)
        self.strides = int_tuple(cls, "strides", strides, self.rank)
        self.dilation_rate = int_tuple(cls, "dilation_rate", dilation_rate, self.rank)
        self.padding = check_padding(cls, padding)
        self._to_channels_first, self._to_channels_last = channels_first(self.rank), channels_last(self.rank)
        self._kernel_order = (self.rank + 1, self.rank) + tuple(range(self.rank))  # -> (filters, in, *kernel_size)

    def build(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects inputs of rank {self.rank + 2} "
                             f"(batch, *spatial, channels), got input shape {tuple(input_shape)}")
        self._add_kernel_and_bias(self.kernel_size + (last_dim(self, input_shape), self.filters))

    def call(self, inputs):
        x = inputs.permute(*self._to_channels_first)
        if self.padding == "same":
            pads = same_pads(tuple(x.shape[2:]), self.kernel_size, self.strides, self.dilation_rate)
            if pads is not None:
                x = F.pad(x, pads)
        out = self._conv(x, self.kernel.permute(*self._kernel_order), self.bias if self.use_bias else None,
                         self.strides, 0, self.dilation_rate)
        if self.activation in activations.ELEMENTWISE:
            # applied before the permutation, on the contiguous result: compiled code writes it into a buffer of
            # the same layout, so the permuted view handed on is what eager code hands on (no copy downstream)
            return self.activation(out).permute(*self._to_channels_last)
        return self.activation(out.permute(*self._to_channels_last))

    def compute_output_shape(self, input_shape):
        spatial = tuple(output_length(n, k, s, self.padding, d) for n, k, s, d in
                        zip(input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate))
        return (input_shape[0],) + spatial + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "dilation_rate": list(self.dilation_rate)}


@register_builtin
class Conv1D(_Conv):
    """1-D convolution over (batch, steps, channels); kernel (kernel_size, in, filters)."""

    rank = 1
    _conv = staticmethod(F.conv1d)


@register_builtin
class Conv2D(_Conv):
    """2-D convolution over (batch, height, width, channels); kernel (kh, kw, in, filters)."""

    rank = 2
    _conv = staticmethod(F.conv2d)
