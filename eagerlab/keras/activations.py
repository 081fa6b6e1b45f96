"""Keras activations by name: `get("relu")` -> a function of one tensor; Keras's defaults (leaky_relu slope 0.2,
exact gelu, softmax over the last axis)."""
from ..nn import functional as F

_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def linear(x):
    return x


def relu(x):
    return F.relu(x)


def sigmoid(x):
    return F.sigmoid(x)


def tanh(x):
    return F.tanh(x)


def softmax(x):
    return F.softmax(x, dim=-1)


def log_softmax(x):
    return F.log_softmax(x, dim=-1)


def gelu(x):
    return F.gelu(x)


def silu(x):
    return F.silu(x)


def elu(x):
    return F.elu(x)


def selu(x):
    return _SELU_SCALE * F.elu(x, _SELU_ALPHA)


def softplus(x):
    return F.softplus(x)


def leaky_relu(x):
    return F.leaky_relu(x, 0.2)


# those computed element by element: the same on a permuted view as on the original layout
ELEMENTWISE = frozenset((linear, relu, sigmoid, tanh, gelu, silu, elu, selu, softplus, leaky_relu))

_BY_NAME = {fn.__name__: fn for fn in (linear, relu, sigmoid, tanh, softmax, log_softmax, gelu, silu, elu, selu,
                                       softplus, leaky_relu)}
_BY_NAME["swish"] = silu


def get(identifier):
    """A callable for a name, a callable (returned as is) or None (linear)."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]
    raise ValueError(f"Unknown activation: {identifier!r}. Valid names: {', '.join(sorted(_BY_NAME))}, or a callable")


def serialize(activation):
    """The name Keras writes in a config; a custom callable is written by its __name__."""
    return activation.__name__
