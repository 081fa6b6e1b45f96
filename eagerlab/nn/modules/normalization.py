"""LayerNorm.

TEMPORARY composite forward (mean and biased variance over the trailing dims): to be replaced at integration by the
fused op (F.layer_norm); the parameters, their names and initialisation are PyTorch's and stay.
"""
import numbers

from ...errors import ShapeError, fmt_shape
from ...ops.creation import empty
from .. import init
from ..parameter import Parameter
from .module import Module


class LayerNorm(Module):
    """Normalises over the trailing dims `normalized_shape`: (x - mean) / sqrt(var + eps) * weight + bias."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(n) for n in normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(empty(self.normalized_shape, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(empty(self.normalized_shape, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        k = len(self.normalized_shape)
        if input.ndim < k or tuple(input.shape[-k:]) != self.normalized_shape:
            raise ShapeError(f"expected input with trailing dims {fmt_shape(self.normalized_shape)}, got "
                             f"{fmt_shape(input.shape)}")
        dims = tuple(range(-k, 0))
        centered = input - input.mean(dims, keepdim=True)
        out = centered * ((centered * centered).mean(dims, keepdim=True) + self.eps).rsqrt()
        if self.weight is not None:
            out = out * self.weight
        return out if self.bias is None else out + self.bias

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")
