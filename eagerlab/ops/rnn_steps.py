"""The recurrent step composed of ordinary ops: what the cells (nn.LSTMCell, nn.GRUCell, nn.RNNCell) run, and the
composed form of a whole layer, `composed_layer`, from which the fused op (rnn.py) takes its backward when that
backward must itself be differentiable (double backward). Gate order as PyTorch: LSTM i, f, g, o; GRU r, z, n."""
from collections import namedtuple

from .activation import relu, sigmoid, tanh
from .join import stack
from .linalg import linear


# A step maps (xw, state) to the new state, a tuple: (h,) or, for LSTM, (h, c). xw = x @ W_ih^T + b_ih is computed
# by the caller, for all time steps at once in a sequence; the step adds the hidden projection.
def _split_gates(gates, n):
    """The n gate blocks of (..., n * H) pre-activations as n (..., H) views: one unbind op, whose backward is a
    single stack (n slices would each scatter their gradient into a zero tensor of the full size)."""
    return gates.reshape(tuple(gates.shape[:-1]) + (n, gates.shape[-1] // n)).unbind(-2)


def _simple_step(activation):
    def step(xw, state, w_hh, b_hh, w_hr=None):
        return (activation(xw + linear(state[0], w_hh, b_hh)),)

    return step


def _lstm_step(xw, state, w_hh, b_hh, w_hr=None):
    """Gates i, f, g, o; c' = f * c + i * g, h' = o * tanh(c'), then h' @ W_hr^T when there is a projection."""
    h, c = state
    gates = xw + linear(h, w_hh, b_hh)
    # one sigmoid over all four blocks (the g block's is unused) is fewer ops, forward and backward, than three
    i, f, _, o = _split_gates(sigmoid(gates), 4)
    hidden = gates.shape[-1] // 4
    c = f * c + i * tanh(gates[..., 2 * hidden:3 * hidden])
    h = o * tanh(c)
    return (h if w_hr is None else linear(h, w_hr)), c


def _gru_step(xw, state, w_hh, b_hh, w_hr=None):
    """Gates r, z, n; r multiplies (W_hn h + b_hn), as in PyTorch and cuDNN; h' = (1 - z) * n + z * h."""
    (h,) = state
    xr, xz, xn = _split_gates(xw, 3)
    hr, hz, hn = _split_gates(linear(h, w_hh, b_hh), 3)
    r, z = sigmoid(xr + hr), sigmoid(xz + hz)
    n = tanh(xn + r * hn)
    return (n + z * (h - n),)


# gates: how many blocks of hidden_size the input and hidden projections have; states: 2 for LSTM's (h, c);
# fold_bias: b_hh may join b_ih in the input projection (not for GRU, whose b_hn must stay inside r * (...))
Kind = namedtuple("Kind", ["gates", "step", "states", "fold_bias"])
KINDS = {"RNN_TANH": Kind(1, _simple_step(tanh), 1, True), "RNN_RELU": Kind(1, _simple_step(relu), 1, True),
         "LSTM": Kind(4, _lstm_step, 2, True), "GRU": Kind(3, _gru_step, 1, False)}


def project_input(kind, x, w_ih, b_ih, b_hh):
    """(x @ W_ih^T + b_ih, the bias the step adds): b_hh is added here once rather than at every step where the
    kind allows it, which also saves a bias-gradient sum per step."""
    if b_ih is None or not kind.fold_bias:
        return linear(x, w_ih, b_ih), b_hh
    return linear(x, w_ih, b_ih + b_hh), None


def composed_layer(mode, x, w_ih, w_hh, h0, c0, b_ih, b_hh, w_hr, reverse):
    """One layer in one direction over a time-major x, step by step: (y, h_n) or, for LSTM, (y, h_n, c_n)."""
    kind = KINDS[mode]
    xw, b_hh = project_input(kind, x, w_ih, b_ih, b_hh)
    steps = xw.unbind(0)
    state, outputs = (h0, c0) if mode == "LSTM" else (h0,), []
    for xw_t in (reversed(steps) if reverse else steps):
        state = kind.step(xw_t, state, w_hh, b_hh, w_hr)
        outputs.append(state[0])
    return (stack(outputs[::-1] if reverse else outputs), *state)
