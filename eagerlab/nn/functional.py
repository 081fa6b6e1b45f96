"""nn.functional (import as F): the neural-network ops of the registry under PyTorch's F names, plus the few
activations that are compositions (hardtanh, relu6, mish, ...) and the `inplace=` variants."""
import warnings as _warnings

from .. import ops as _ops
from ..ops.resize import interpolate as _interpolate
from ._attention import multi_head_attention_forward

_FROM_REGISTRY = (
    # activations and normalisers
    "sigmoid", "tanh", "silu", "gelu", "softplus", "softmax", "log_softmax",
    # linear, dropout, embedding-like
    "linear", "dropout", "dropout1d", "dropout2d", "dropout3d", "one_hot",
    # convolution and pooling
    "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "max_pool1d", "max_pool2d", "avg_pool1d",
    "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    # normalization, embedding, padding
    "layer_norm", "group_norm", "batch_norm", "instance_norm", "embedding", "pad",
    # attention, resizing
    "scaled_dot_product_attention", "interpolate",
    # losses
    "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "kl_div", "cosine_similarity", "cosine_embedding_loss",
)


def _registry_fn(name):
    fn = _ops.OPS[name].fn if name in _ops.OPS else _ops.EXPORTS.get(name)
    if fn is None:
        raise ImportError(f"nn.functional: the op registry has no {name!r}")
    return fn


globals().update({name: _registry_fn(name) for name in _FROM_REGISTRY})


def _maybe_inplace(input, out, inplace):
    """`inplace=True` writes the result into `input` (recorded by autograd like any in-place op)."""
    if not inplace:
        return out
    return input.copy_(out)


def relu(input, inplace=False):
    return _maybe_inplace(input, _ops.activation.relu(input), inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    if inplace:
        return _ops.activation.leaky_relu_(input, negative_slope)
    return _ops.activation.leaky_relu(input, negative_slope)


def elu(input, alpha=1.0, inplace=False):
    if inplace:
        return _ops.activation.elu_(input, alpha)
    return _ops.activation.elu(input, alpha)


leaky_relu_, elu_ = _ops.activation.leaky_relu_, _ops.activation.elu_


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """clamp(input, min_val, max_val)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    return _maybe_inplace(input, input.clamp(min_val, max_val), inplace)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6."""
    return _maybe_inplace(input, (input + 3.0).clamp(0.0, 6.0) / 6.0, inplace)


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6."""
    return _maybe_inplace(input, input * (input + 3.0).clamp(0.0, 6.0) / 6.0, inplace)


def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    return _maybe_inplace(input, input * _ops.activation.tanh(_ops.activation.softplus(input)), inplace)


def logsigmoid(input):
    """log(sigmoid(x)) = -softplus(-x), stable for large |x|."""
    return -_ops.activation.softplus(-input)


def softsign(input):
    return input / (input.abs() + 1.0)


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """input / max(||input||_p over dim, eps)."""
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


def bilinear(input1, input2, weight, bias=None):
    """y[..., o] = sum_ij input1[..., i] weight[o, i, j] input2[..., j] + bias[o]."""
    out = _ops.linalg_einsum.einsum("...i,oij,...j->...o", input1, weight, input2)
    return out if bias is None else out + bias


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of interpolate (as in PyTorch)."""
    _warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate instead.", UserWarning,
                   stacklevel=2)
    return _interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: interpolate(mode='nearest')."""
    _warnings.warn("nn.functional.upsample_nearest is deprecated. Use nn.functional.interpolate instead.",
                   UserWarning, stacklevel=2)
    return _interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: interpolate(mode='bilinear', align_corners=True)."""
    _warnings.warn("nn.functional.upsample_bilinear is deprecated. Use nn.functional.interpolate(..., "
                   "mode='bilinear', align_corners=True) instead.", UserWarning, stacklevel=2)
    return _interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


__all__ = list(_FROM_REGISTRY) + ["relu", "leaky_relu", "leaky_relu_", "elu", "elu_", "hardtanh", "relu6",
                                  "hardsigmoid", "hardswish", "mish", "logsigmoid", "softsign", "normalize", "bilinear",
                                  "multi_head_attention_forward", "upsample", "upsample_nearest", "upsample_bilinear"]
