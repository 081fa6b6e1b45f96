"""Recurrent sequence layers: RNN (tanh/relu), LSTM (with optional projections), GRU, with PyTorch's constructor
arguments, parameter names (weight_ih_l0, ..., *_reverse), initialisation and forward semantics.

Each layer and direction is one fused op (eagerlab.ops.rnn: the input projection of the whole sequence is one
GEMM, each step one more GEMM and in-place gate math), one tape node and one graph node; the cells in rnn_cells.py
stay composed of ordinary ops.
"""
import numbers
import warnings

from ...errors import ShapeError, fmt_shape
from ...ops.rnn import run_layers
from .module import Module
from .rnn_cells import (GRUCell, KINDS, LSTMCell, RNNCell, RNNCellBase, check_input_tensor, initial_states,
                        new_parameter, nonlinearity_mode, reset_uniform)

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell", "RNNCellBase"]


class RNNBase(Module):
    """The shared body of RNN, LSTM and GRU; `mode` is 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU'."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        _check_arguments(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size)
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        gate_size = KINDS[mode].gates * hidden_size
        real_hidden = proj_size or hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names, self._all_weights = [], []
        for layer in range(num_layers):
            for direction in range(directions):
                shapes = {"weight_ih": (gate_size, input_size if layer == 0 else real_hidden * directions),
                          "weight_hh": (gate_size, real_hidden)}
                if bias:
                    shapes.update(bias_ih=(gate_size,), bias_hh=(gate_size,))
                if proj_size:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                names = [name + suffix for name in shapes]
                for name, shape in zip(names, shapes.values()):
                    setattr(self, name, new_parameter(shape, device, dtype))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        reset_uniform(self)

    def flatten_parameters(self):
        """A no-op, kept so code written for PyTorch (where it packs weights for cuDNN) runs unchanged."""

    @property
    def all_weights(self):
        return [[self._parameters[name] for name in names] for names in self._all_weights]

    def forward(self, input, hx=None):
        """input (L, N, input_size), or (N, L, input_size) when batch_first, or unbatched (L, input_size);
        hx: h_0 (or for LSTM (h_0, c_0)) of shape (num_layers * num_directions, N, H), zeros when None.
        Returns (output, h_n), or for LSTM (output, (h_n, c_n))."""
        kind = KINDS[self.mode]
        check_input_tensor(type(self).__name__, input, self.weight_ih_l0.dtype)
        self._check_input(input)
        batched = input.ndim == 3
        time_dim = 1 if self.batch_first and batched else 0
        directions = 2 if self.bidirectional else 1
        layers = self.num_layers * directions
        batch = (input.shape[1 - time_dim],) if batched else ()
        shapes = [(layers,) + batch + (self.proj_size or self.hidden_size,), (layers,) + batch + (self.hidden_size,)]
        states = initial_states(hx, kind, shapes[:kind.states], input,
                                "" if batched else " (unbatched input: no batch dim)")
        if not batched:  # run as a batch of one (after the time dim, as in PyTorch)
            input, states = input.unsqueeze(1), tuple(s.unsqueeze(1) for s in states)
        params = [self._parameters[name] for names in self._all_weights for name in names]
        output, *last = run_layers(self.mode, input, states if kind.states == 2 else states[0], params, self.bias,
                                   self.num_layers, self.dropout, self.training, self.bidirectional,
                                   self.batch_first and batched)
        if not batched:
            output, last = output.squeeze(1), [s.squeeze(1) for s in last]
        return output, (tuple(last) if kind.states == 2 else last[0])

    def _check_input(self, input):
        layout = "(N, L, input_size)" if self.batch_first else "(L, N, input_size)"
        if input.ndim not in (2, 3):
            raise ShapeError(f"expected input {layout} or unbatched (L, input_size), got input "
                             f"{fmt_shape(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise ShapeError(f"expected input with {self.input_size} features (input_size), got input "
                             f"{fmt_shape(input.shape)}")
        if input.shape[1 if self.batch_first and input.ndim == 3 else 0] == 0:
            raise ShapeError(f"expected a sequence of at least one step, got input {fmt_shape(input.shape)} "
                             f"(layout {layout})")

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


def _check_arguments(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size):
    """PyTorch's constructor checks, with its messages."""
    if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
        raise ValueError("dropout should be a number in range [0, 1] representing the probability of an element "
                         "being zeroed")
    if dropout > 0 and num_layers == 1:
        warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                      f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                      stacklevel=4)
    for name, value, kind in (("bias", bias, bool), ("batch_first", batch_first, bool),
                              ("input_size", input_size, int), ("hidden_size", hidden_size, int),
                              ("num_layers", num_layers, int), ("proj_size", proj_size, int)):
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TypeError(f"{name} should be of type {kind.__name__}, got: {type(value).__name__}")
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
        if value <= 0:
            raise ValueError(f"{name} must be greater than zero")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size and mode != "LSTM":
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (nonlinearity='relu' for relu)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__(nonlinearity_mode(nonlinearity), input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory; forward(input, (h_0, c_0)) -> (output, (h_n, c_n)). proj_size > 0 projects each
    h_t to proj_size features (weight_hr_l{k})."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit; forward(input, h_0) -> (output, h_n)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         device, dtype)
