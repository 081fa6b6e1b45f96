"""Recurrent cells (RNNCell, LSTMCell, GRUCell): one step each, the fused recurrent kernels on a one-step sequence
(composed of ordinary ops, eagerlab.ops.rnn_steps, under autocast), and what they share with the sequence layers in
rnn.py. Gate order, parameter names and shapes follow PyTorch, so
state dicts interchange."""
import math

from ..._tensor import Tensor
from ...errors import DTypeError, ShapeError, fmt_shape
from ...ops.creation import empty, zeros
from ...amp import is_autocast_enabled
from ...ops.rnn import run_cell
from ...ops.rnn_steps import KINDS, project_input
from .. import init
from ..parameter import Parameter
from .module import Module

_STATE_NAMES = ("h_0", "c_0")


def new_parameter(shape, device, dtype):
    return Parameter(empty(shape, device=device, dtype=dtype))


def reset_uniform(module):
    """PyTorch's default for recurrent layers: every parameter U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
    bound = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


def initial_states(hx, kind, shapes, input, unbatched_hint=""):
    """The initial states as a tuple matching kind.states: zeros of `shapes` when hx is None, else hx (a Tensor,
    or for LSTM a pair (h_0, c_0)) after checking each against its expected shape."""
    if hx is None:
        return tuple(zeros(s, dtype=input.dtype, device=input.device) for s in shapes)
    pair = isinstance(hx, (tuple, list))
    if kind.states == 2 and not (pair and len(hx) == 2):
        raise TypeError(f"expected hx to be a tuple (h_0, c_0) of two Tensors, got {_describe_value(hx)}")
    if kind.states == 1 and pair:
        raise TypeError(f"expected hx to be a Tensor h_0, got {_describe_value(hx)}")
    states = tuple(hx) if pair else (hx,)
    for name, state, shape in zip(_STATE_NAMES, states, shapes):
        if not isinstance(state, Tensor):
            raise TypeError(f"expected {name} to be a Tensor, got {type(state).__name__}")
        if tuple(state.shape) != tuple(shape):
            raise ShapeError(f"expected {name} of shape {fmt_shape(shape)}{unbatched_hint}, got "
                             f"{fmt_shape(state.shape)}")
        if state.dtype != input.dtype:
            raise DTypeError(f"expected {name} of the input's dtype {input.dtype.name}, got {state.dtype.name}")
    return states


def _describe_value(value):
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return type(value).__name__


def check_input_tensor(layer_name, input, dtype):
    """A Tensor of the parameters' dtype (a TypeError is not annotated by Module.__call__: it names the layer)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{layer_name}: expected input to be a Tensor, got {type(input).__name__} (packed sequences "
                        "are not supported: pad the batch and pass a Tensor)")
    if input.dtype != dtype:
        raise DTypeError(f"expected input of the parameters' dtype {dtype.name}, got {input.dtype.name} (convert "
                         "the input with .to(dtype), or the layer with .to(dtype) / .double() / .float())")


# ---- cells ---------------------------------------------------------------------------------------------------
class RNNCellBase(Module):
    """One step of a recurrent layer: parameters weight_ih (G*H, H_in), weight_hh (G*H, H), bias_ih, bias_hh."""

    _mode = None

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = new_parameter((num_chunks * hidden_size, input_size), device, dtype)
        self.weight_hh = new_parameter((num_chunks * hidden_size, hidden_size), device, dtype)
        if bias:
            self.bias_ih = new_parameter((num_chunks * hidden_size,), device, dtype)
            self.bias_hh = new_parameter((num_chunks * hidden_size,), device, dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        reset_uniform(self)

    def forward(self, input, hx=None):
        """input (N, input_size) or unbatched (input_size,); hx like the output (zeros when None)."""
        kind = KINDS[self._mode]
        check_input_tensor(type(self).__name__, input, self.weight_ih.dtype)
        if input.ndim not in (1, 2):
            raise ShapeError(f"expected input (N, {self.input_size}) or unbatched ({self.input_size},), got input "
                             f"{fmt_shape(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise ShapeError(f"expected input with {self.input_size} features (input_size), got input "
                             f"{fmt_shape(input.shape)}")
        batched = input.ndim == 2
        shape = (input.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        states = initial_states(hx, kind, (shape,) * kind.states, input, "" if batched else " (unbatched input)")
        if not batched:
            input, states = input.unsqueeze(0), tuple(s.unsqueeze(0) for s in states)
        if is_autocast_enabled(input.device.type):  # composed, so that each GEMM takes the autocast policy
            xw, b_hh = project_input(kind, input, self.weight_ih, self.bias_ih, self.bias_hh)
            out = kind.step(xw, states, self.weight_hh, b_hh)
        else:
            out = run_cell(self._mode, input, states, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        if not batched:
            out = tuple(s.squeeze(0) for s in out)
        return out if kind.states == 2 else out[0]

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


def nonlinearity_mode(nonlinearity):
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
    return "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        mode = nonlinearity_mode(nonlinearity)
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self._mode, self.nonlinearity = mode, nonlinearity


class LSTMCell(RNNCellBase):
    """One LSTM step: forward(input, (h_0, c_0)) -> (h_1, c_1)."""

    _mode = "LSTM"

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)


class GRUCell(RNNCellBase):
    """One GRU step: forward(input, h_0) -> h_1."""

    _mode = "GRU"

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)
