"""Weight initialisation (PyTorch's nn.init): in-place fills under no_grad, drawing from eagerlab's generators."""
import math
import warnings

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..errors import ShapeError, fmt_shape

_GAINS = {"linear": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0, "conv_transpose1d": 1.0,
          "conv_transpose2d": 1.0, "conv_transpose3d": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0),
          "selu": 3.0 / 4}


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (relu: sqrt(2), tanh: 5/3, leaky_relu: sqrt(2 / (1 + slope^2)))."""
    if nonlinearity in _GAINS:
        return _GAINS[nonlinearity]
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {slope!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor):
    if tensor.ndim < 2:
        raise ShapeError(f"Fan in and fan out can not be computed for tensor with fewer than 2 dimensions, got "
                         f"shape {fmt_shape(tensor.shape)}")
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _no_grad_fill(fill):
    """Wrap an initialiser: runs under no_grad and returns the tensor, as PyTorch's do."""

    def init(tensor, *args, **kwargs):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"{fill.__name__}: expected a Tensor, got {type(tensor).__name__}")
        with no_grad():
            fill(tensor, *args, **kwargs)
        return tensor

    init.__name__, init.__doc__ = fill.__name__, fill.__doc__
    return init


@_no_grad_fill
def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with U(a, b)."""
    tensor.uniform_(a, b, generator=generator)


@_no_grad_fill
def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with N(mean, std^2)."""
    tensor.normal_(mean, std, generator=generator)


@_no_grad_fill
def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with N(mean, std^2) truncated to [a, b]: out-of-range draws are redrawn (exact, vectorised)."""
    from ..ops.random import normal

    lo, hi = (a - mean) / std, (b - mean) / std
    if not lo < hi:
        raise ValueError(f"trunc_normal_: empty interval [a, b] = [{a}, {b}]")
    if max(lo, -hi) > 3:
        raise ValueError(f"trunc_normal_: [a, b] = [{a}, {b}] lies more than 3 std from the mean {mean}; "
                         "rejection sampling would be too slow")
    xp = tensor._device.xp
    draw = tensor._data.astype("float64", copy=True).reshape(-1)
    todo = xp.arange(draw.size)
    while todo.size:
        draw[todo] = normal(0.0, 1.0, (int(todo.size),), generator=generator, dtype="float64",
                            device=tensor.device)._data
        todo = todo[(draw[todo] < lo) | (draw[todo] > hi)]
    tensor._data[...] = (draw * std + mean).reshape(tensor._data.shape)
    tensor._bump()


@_no_grad_fill
def constant_(tensor, val):
    """Fill with `val`."""
    tensor.fill_(val)


@_no_grad_fill
def ones_(tensor):
    tensor.fill_(1.0)


@_no_grad_fill
def zeros_(tensor):
    tensor.zero_()


@_no_grad_fill
def eye_(tensor):
    """The identity matrix (2-D tensors only)."""
    from ..ops.creation import eye

    if tensor.ndim != 2:
        raise ShapeError(f"eye_: only tensors with 2 dimensions are supported, got {fmt_shape(tensor.shape)}")
    tensor.copy_(eye(*tensor.shape, dtype=tensor.dtype, device=tensor.device))


@_no_grad_fill
def xavier_uniform_(tensor, gain=1.0, generator=None):
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    tensor.uniform_(-bound, bound, generator=generator)


@_no_grad_fill
def xavier_normal_(tensor, gain=1.0, generator=None):
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    tensor.normal_(0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator=generator)


@_no_grad_fill
def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """U(-b, b) with b = gain * sqrt(3 / fan) (He et al., 2015)."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(tensor, mode))
    tensor.uniform_(-bound, bound, generator=generator)


@_no_grad_fill
def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """N(0, std^2) with std = gain / sqrt(fan)."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return
    tensor.normal_(0.0, calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode)), generator=generator)


@_no_grad_fill
def orthogonal_(tensor, gain=1.0, generator=None):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal draw (Saxe et al., 2013); extra dims are
    flattened into the columns."""
    from ..ops.creation import tensor as make_tensor

    if tensor.ndim < 2:
        raise ShapeError(f"orthogonal_: only tensors with 2 or more dimensions are supported, got "
                         f"{fmt_shape(tensor.shape)}")
    if tensor.numel() == 0:
        return
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = tensor.new_empty((rows, cols)).normal_(0.0, 1.0, generator=generator)._data
    xp = tensor._device.xp
    q, r = xp.linalg.qr(flat.T if rows < cols else flat)
    q = q * xp.sign(xp.diagonal(r))  # make the decomposition unique (positive diagonal of r)
    if rows < cols:
        q = q.T
    tensor.copy_(make_tensor(q * gain, dtype=tensor.dtype, device=tensor.device).reshape(tensor.shape))
