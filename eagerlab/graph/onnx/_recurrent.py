"""The fused recurrent layer (rnn_layer: one layer, one direction of nn.LSTM/GRU/RNN) as ONNX's LSTM, GRU or RNN.

rnn_layer's operands keep PyTorch's layout: x (T, N, H_in) (or (N, H_in): a cell's one step), w_ih (G*H, H_in), w_hh
(G*H, H), h0 (N, H), [c0], [b_ih, b_hh] (G*H,), gates in PyTorch's order. ONNX wants one direction axis in front of
every weight and state, the biases as one [Wb, Rb] vector and its own gate order; the reordering is one Gather on
each weight, in the graph, so that the initializers keep their state_dict names (onnxruntime folds it once when it
loads the model).
"""
import numpy as np

from ...backend import CPU, array_to_device
from ...errors import UnsupportedError
from ...ops.rnn import layer_operands

# PyTorch's gate blocks, in the order ONNX reads them: LSTM i,f,g,o -> i,o,f,c(=g); GRU r,z,n -> z,r,h(=n)
_ONNX_GATE_ORDER = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2), "RNN_TANH": (0,), "RNN_RELU": (0,)}
_ONNX_OP = {"LSTM": "LSTM", "GRU": "GRU", "RNN_TANH": "RNN", "RNN_RELU": "RNN"}


def _rnn_layer(b, node):
    a = node.attrs
    mode = a["mode"]
    if a["proj"]:
        raise UnsupportedError("onnx.export: not supported yet: an LSTM with proj_size (ONNX's LSTM operator has "
                               "no projection; rnn_layer with a w_hr operand)")
    y, workspace, h_n, *c_n = node.outputs
    if b.used(workspace):
        raise UnsupportedError("onnx.export: rnn_layer's workspace output (kept for the backward) is used by the "
                               "graph; ONNX's recurrent operators have no such output")
    ops = layer_operands(node.inputs, mode, a["bias"], a["proj"])
    hidden = ops["w_hh"].shape[1]
    rows = _gate_rows(b, mode, hidden)
    w = _with_direction_axis(b, b.emit("Gather", [b.name(ops["w_ih"]), rows], axis=0))
    r = _with_direction_axis(b, b.emit("Gather", [b.name(ops["w_hh"]), rows], axis=0))
    x = b.name(ops["x"])
    inputs = [x if len(ops["x"].shape) == 3 else _with_direction_axis(b, x), w, r]  # (a cell: the time axis)
    if a["bias"]:
        biases = [b.emit("Gather", [b.name(ops[k]), rows], axis=0) for k in ("b_ih", "b_hh")]
        inputs.append(_with_direction_axis(b, b.emit("Concat", biases, axis=0)))
    else:
        inputs.append("")
    inputs.append("")  # sequence_lens: every sequence runs the full length
    for state in ("h0", "c0") if mode == "LSTM" else ("h0",):
        # a zero initial state (the layer called without one) is left out, ONNX's default, rather than written
        # as a constant of the example's batch size
        inputs.append("" if _is_zero(ops[state]) else _with_direction_axis(b, b.name(ops[state])))
    while inputs[-1] == "":
        inputs.pop()

    attrs = {"hidden_size": hidden, "direction": "reverse" if a["reverse"] else "forward"}
    if mode == "GRU":
        attrs["linear_before_reset"] = 1  # PyTorch's n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    elif mode != "LSTM":
        attrs["activations"] = ["Tanh" if mode == "RNN_TANH" else "Relu"]
    outs = [y, h_n, *c_n]
    names = [b.fresh(label) if b.used(v) else "" for label, v in zip(("Y", "Y_h", "Y_c"), outs)]
    while names and names[-1] == "":
        names.pop()
    b.emit(_ONNX_OP[mode], inputs, names or [b.fresh("Y")], **attrs)
    # Y is (T, directions=1, N, H), Y_h and Y_c (1, N, H): drop the direction axis
    for v, name, axis in zip(outs, names, (1, 0, 0)):
        if name:
            b.emit("Squeeze", [name, b.const(np.array([axis], np.int64), "axes")], [b.outs(node)[v.index]])


CONVERTERS = {"rnn_layer": _rnn_layer}


def _gate_rows(b, mode, hidden):
    """The rows of a PyTorch weight or bias (gate blocks of `hidden` rows) in ONNX's gate order."""
    blocks = np.array(_ONNX_GATE_ORDER[mode], np.int64)[:, None] * hidden
    return b.const((blocks + np.arange(hidden, dtype=np.int64)).reshape(-1), "gate_rows")


def _with_direction_axis(b, name):
    return b.emit("Unsqueeze", [name, b.const(np.array([0], np.int64), "axes")])


def _is_zero(v):
    """Whether `v` is a constant of zeros, or one piece of such a constant unbound along its first axis (the
    states nn.LSTM makes when called without them)."""
    node = v.node
    if node is not None and node.kind == "prim" and node.name == "unbind":
        node = node.inputs[0].node
    return node is not None and node.kind == "const" and not np.any(array_to_device(node.op, CPU))
