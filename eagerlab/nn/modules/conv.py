"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d (im2col + GEMM underneath)."""
import math

from ...errors import ShapeError, fmt_shape
from ...ops.creation import empty
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _tuple(value, n, name):
    out = tuple(value) if isinstance(value, (tuple, list)) else (value,) * n
    if len(out) != n:
        raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
    return out


class _ConvNd(Module):
    _dims = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", output_padding=0, device=None, dtype=None):
        super().__init__()
        n, name = self._dims, type(self).__name__
        if groups <= 0 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must be "
                             f"divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
        if isinstance(padding, str):
            if padding not in ("same", "valid") or self._transposed:
                raise ValueError(f"{name}: invalid padding string {padding!r}")
        else:
            padding = _tuple(padding, n, "padding")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride = _tuple(kernel_size, n, "kernel_size"), _tuple(stride, n, "stride")
        self.padding, self.dilation = padding, _tuple(dilation, n, "dilation")
        self.output_padding, self.padding_mode = _tuple(output_padding, n, "output_padding"), padding_mode
        shape = (in_channels, out_channels // groups) if self._transposed else (out_channels, in_channels // groups)
        self.weight = Parameter(empty(shape + self.kernel_size, device=device, dtype=dtype))
        self.register_parameter("bias", Parameter(empty(out_channels, device=device, dtype=dtype)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _check_input(self, input):
        n = self._dims
        if input.ndim not in (n + 1, n + 2):
            raise ShapeError(f"expected a {n + 1}-D (unbatched) or {n + 2}-D (batched) input, got "
                             f"{fmt_shape(input.shape)}")
        channels = input.shape[-n - 1]
        if channels != self.in_channels:
            raise ShapeError(f"expected input with {self.in_channels} channels, got {fmt_shape(input.shape)} "
                             f"({channels} channels)")

    def _padded(self, input):
        """Non-zero padding modes pad explicitly, then convolve without padding."""
        pad = []
        for p in reversed(self.padding):
            pad += [p, p]
        return F.pad(input, tuple(pad), mode=self.padding_mode)

    def _describe(self):
        k = "x".join(map(str, self.kernel_size))
        return f"{type(self).__name__} {self.in_channels}->{self.out_channels} k{k}"

    def extra_repr(self):
        n = self._dims
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) inputs; weight (C_out, C_in / groups, k)."""

    _dims = 1

    def forward(self, input):
        self._check_input(input)
        if self.padding_mode != "zeros" and self.padding != "valid":
            return F.conv1d(self._padded(input), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return F.conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) inputs; weight (C_out, C_in / groups, kh, kw)."""

    def forward(self, input):
        self._check_input(input)
        if self.padding_mode != "zeros" and self.padding != "valid":
            return F.conv2d(self._padded(input), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class _ConvTransposeNd(_ConvNd):
    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         output_padding, device, dtype)

    def _output_padding(self, input, output_size):
        """output_size (PyTorch's way to pick among the sizes a strided transpose can produce) -> output_padding."""
        if output_size is None:
            return self.output_padding
        n = self._dims
        want = tuple(output_size)[-n:]
        extra = []
        for d in range(n):
            smallest = ((input.shape[-n + d] - 1) * self.stride[d] - 2 * self.padding[d]
                        + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            if not smallest <= want[d] < smallest + self.stride[d]:
                raise ShapeError(f"requested an output size of {fmt_shape(want)}, but valid sizes range from "
                                 f"{smallest} to {smallest + self.stride[d] - 1} in dim {d} (for an input with "
                                 f"shape {fmt_shape(input.shape)})")
            extra.append(want[d] - smallest)
        return tuple(extra)


class ConvTranspose1d(_ConvTransposeNd):
    """The gradient of Conv1d with respect to its input, as a layer; weight (C_in, C_out / groups, k)."""

    _dims = 1

    def forward(self, input, output_size=None):
        self._check_input(input)
        return F.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups, self.dilation)


class ConvTranspose2d(_ConvTransposeNd):
    """The gradient of Conv2d with respect to its input, as a layer (upsampling); weight (C_in, C_out / groups,
    kh, kw)."""

    def forward(self, input, output_size=None):
        self._check_input(input)
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups, self.dilation)
