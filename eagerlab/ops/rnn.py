"""Fused recurrent layers: lstm, gru, rnn_tanh, rnn_relu with PyTorch's signatures (torch.lstm and friends: what
nn.LSTM/GRU/RNN call), built on one primitive per layer and direction.

`rnn_layer` runs a whole sequence through one layer in one direction and is one tape node (one graph node when
traced); its backward is the `rnn_layer_backward` primitive, one node too. Its x is (T, N, H_in), or (N, H_in) for
one step (what the cells pass). Both are promoted to primitives on
purpose: composed from per-step ops, an LSTM step is ~15 ops forward and more backward, each paying Python dispatch
and a tape node, and the sequence layer ran 3-6x slower than PyTorch; the kernels (rnn_kernels.py) keep the
work per step to one GEMM and a few in-place ufuncs.

The fused backward kernel is not itself differentiable. When the backward must be (create_graph=True: double
backward, a gradient penalty through an LSTM), the vjp computes it from the layer's step-by-step composition
instead (rnn_steps.composed_layer, recomputed on detached copies of the inputs, its tape grafted onto the real
ones): slower, and differentiable to any order.
"""
import functools

from ..autograd import grad
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.graft import graft
from ..backend.dtypes import FLOAT
from ..errors import DTypeError, ShapeError, fmt_shape
from .._tensor import Tensor
from ._registry import Aval, Sample, bind, op, primitive
from .dropout import dropout as _dropout
from .join import cat, stack, unbind
from .rnn_steps import composed_layer
from .rnn_kernels import GATES, backward as _backward_kernel, forward as _forward_kernel, workspace_size

_ALL = ("x", "w_ih", "w_hh", "h0", "c0", "b_ih", "b_hh", "w_hr")
_PUBLIC = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu"}


@functools.lru_cache(maxsize=None)
def _operands(mode, bias, proj):
    """The names of rnn_layer's positional operands, in order (those a layer does not have are left out)."""
    return tuple(n for n in _ALL if (n != "c0" or mode == "LSTM") and (n not in ("b_ih", "b_hh") or bias)
                 and (n != "w_hr" or proj))


@functools.lru_cache(maxsize=None)
def _positions(mode, bias, proj):
    """For each name in _ALL, its position among the layer's operands, or None (cached: a cell step unpacks its
    operands on every step and its backward again)."""
    names = _operands(mode, bias, proj)
    return tuple(names.index(n) if n in names else None for n in _ALL)


def _unpack(values, mode, bias, proj):
    """All eight operands in _ALL's order, None for those the layer does not have."""
    return tuple(None if i is None else values[i] for i in _positions(mode, bias, proj))


def layer_operands(values, mode, bias, proj):
    """rnn_layer's operands by name (x, w_ih, w_hh, h0, c0, b_ih, b_hh, w_hr), None for those the layer does not
    have: for code that reads a recorded rnn_layer node (the ONNX export)."""
    return dict(zip(_ALL, _unpack(values, mode, bias, proj)))


# ---- rnn_layer: one layer, one direction -------------------------------------------------------------------------
def _layer_infer(*avals, mode, reverse, bias, proj):
    x, w_ih, w_hh, h0, c0, *_ = _unpack(avals, mode, bias, proj)
    steps, batch = (1, x.shape[0]) if len(x.shape) == 2 else x.shape[:2]
    hidden, out = w_ih.shape[0] // GATES[mode], w_hh.shape[1]
    outs = [Aval((steps, batch, out), x.dtype, x.device),
            Aval((workspace_size(mode, steps, batch, hidden, proj),), x.dtype, x.device),
            Aval((batch, out), x.dtype, x.device)]
    if mode == "LSTM":
        outs.append(Aval((batch, hidden), x.dtype, x.device))
    return tuple(outs)


def _layer_impl(xp, *arrays, mode, reverse, bias, proj):
    """(y, workspace, h_n) or, for LSTM, (y, workspace, h_n, c_n)."""
    x, *rest = _unpack(arrays, mode, bias, proj)
    y, ws, h_n, c_n = _forward_kernel(xp, mode, _time_major(x), *rest, reverse)
    return (y, ws, h_n) if c_n is None else (y, ws, h_n, c_n)


def _time_major(x):
    """x as (T, N, H_in): a cell's one step comes as (N, H_in), so that the cell needs no unsqueeze op (and its
    tape node) per step."""
    return x[None] if x.ndim == 2 else x


# saves every input (the biases only because save_inputs is one range for all kinds of layer; they are not copied)
rnn_layer_p = primitive("rnn_layer", _layer_infer, save_inputs=range(len(_ALL)), save_outputs=(0, 1), n_out=None,
                        nondiff_outputs=(1,))(_layer_impl)


@rnn_layer_p.defvjp
def _(ctx, gy, _gws, ghn, gcn=None):
    a = ctx.attrs
    n = len(ctx.shapes)
    saved = ctx.saved
    grads = (gy, ghn, gcn)
    if all(g is None for g in grads):
        return (None,) * n
    if is_grad_enabled():  # create_graph: a backward that is itself differentiable
        return _composed_vjp(ctx, saved[:n], grads)
    outs = iter(bind(rnn_layer_backward_p, *saved[:n], *saved[n:], *(g for g in grads if g is not None), **a,
                     grads=tuple(g is not None for g in grads), needs=tuple(ctx.needs)))
    return tuple(next(outs) if need else None for need in ctx.needs)


# ---- rnn_layer_backward: the gradients of the operands of rnn_layer that need one (`needs`) -----------------------
def _split_backward_operands(values, mode, bias, proj, grads):
    n = len(_operands(mode, bias, proj))
    rest = iter(values[n + 2:])
    return (_unpack(values[:n], mode, bias, proj), values[n], values[n + 1],
            tuple(next(rest) if present else None for present in grads))


def _backward_infer(*avals, mode, reverse, bias, proj, grads, needs):
    return tuple(aval for aval, need in zip(avals, needs) if need)


def _backward_impl(xp, *arrays, mode, reverse, bias, proj, grads, needs):
    (x, w_ih, w_hh, h0, c0, _, _, w_hr), y, ws, (gy, ghn, gcn) = _split_backward_operands(
        arrays, mode, bias, proj, grads)
    dx, dw_ih, dw_hh, dh0, dc0, db_ih, db_hh, dw_hr = _backward_kernel(
        xp, mode, _time_major(x), w_ih, w_hh, h0, c0, w_hr, y, ws, gy, ghn, gcn, reverse, needs[0], needs[3])
    if dx is not None:
        dx = dx.reshape(x.shape)
    grads = (dx, dw_ih, dw_hh, dh0, dc0, db_ih, db_hh, dw_hr)
    return tuple(grads[i] for i, need in zip(_indices(mode, bias, proj), needs) if need)


@functools.lru_cache(maxsize=None)
def _indices(mode, bias, proj):
    """The position in _ALL of each of the layer's operands."""
    return tuple(_ALL.index(n) for n in _operands(mode, bias, proj))


# no vjp: under create_graph the forward's vjp takes the composed path instead of binding this
rnn_layer_backward_p = primitive("rnn_layer_backward", _backward_infer, n_out=None)(_backward_impl)


def _composed_vjp(ctx, inputs, grads):
    """The vjp through the layer's step-by-step composition, on detached copies of the inputs (and of the incoming
    gradients that require grad), grafted back onto the originals."""
    a = ctx.attrs
    local = [t.detach().requires_grad_() if need else t for t, need in zip(inputs, ctx.needs)]
    local_grads = [g.detach().requires_grad_() if g is not None and g.requires_grad else g for g in grads]
    x, *rest = _unpack(local, a["mode"], a["bias"], a["proj"])
    outs = composed_layer(a["mode"], x.unsqueeze(0) if x.ndim == 2 else x, *rest, a["reverse"])
    pairs = [(o, g) for o, g in zip(outs, local_grads) if g is not None]
    wanted = [t for t, need in zip(local, ctx.needs) if need]
    first = grad([o for o, _ in pairs], wanted, [g for _, g in pairs], create_graph=True, allow_unused=True)
    first = iter(graft(first, wanted + local_grads, [t for t, need in zip(inputs, ctx.needs) if need] + list(grads)))
    return tuple(next(first) if need else None for need in ctx.needs)


# ---- the public ops ------------------------------------------------------------------------------------------------
def _check(name, mode, input, states, params, has_biases, num_layers, bidirectional):
    """(directions, per-direction parameter count, proj) after checking the operands, with PyTorch's layout:
    params per layer and direction w_ih, w_hh, [b_ih, b_hh], [w_hr]."""
    if not isinstance(input, Tensor) or input.ndim != 3:
        got = fmt_shape(input.shape) if isinstance(input, Tensor) else type(input).__name__
        raise ShapeError(f"{name}: expected a batched input of 3 dims (L, N, H_in) (or (N, L, H_in) with "
                         f"batch_first), got {got}")
    if input.dtype.category != FLOAT:
        raise DTypeError(f"{name}: expected a floating-point input, got {input.dtype.name}")
    directions = 2 if bidirectional else 1
    base = 2 + (2 if has_biases else 0)
    units = num_layers * directions
    if len(params) not in (units * base, units * (base + 1)) or (len(params) != units * base and mode != "LSTM"):
        raise ValueError(f"{name}: expected {units * base} parameters ({num_layers} layers x {directions} "
                         f"directions x {base}: w_ih, w_hh{', b_ih, b_hh' if has_biases else ''}), got "
                         f"{len(params)}")
    per = len(params) // units
    proj = per > base
    for t in (*states, *params):
        if t.dtype != input.dtype:
            raise DTypeError(f"{name}: expected every state and parameter of the input's dtype {input.dtype.name}, "
                             f"got {t.dtype.name} {fmt_shape(t.shape)}")
    w_hh = params[1]
    hidden, out = w_hh.shape[0] // GATES[mode], w_hh.shape[1]
    batch = input.shape[1]
    for label, state, width in zip(("h_0", "c_0"), states, (out, hidden)):
        if tuple(state.shape) != (units, batch, width):
            raise ShapeError(f"{name}: expected {label} of shape {fmt_shape((units, batch, width))} (layers x "
                             f"directions, batch, features), got {fmt_shape(state.shape)}")
    return directions, per, proj


def _check_layer(name, layer, x, w, mode, hidden, out, proj):
    gates = GATES[mode] * hidden
    want = [(gates, x.shape[-1]), (gates, out)] + [(gates,)] * (len(w) - 2 - proj) + [(out, hidden)] * proj
    for t, shape in zip(w, want):
        if tuple(t.shape) != shape:
            raise ShapeError(f"{name}: layer {layer} expects parameters of shapes "
                             f"{', '.join(fmt_shape(s) for s in want)} for input features {x.shape[-1]}, got "
                             f"{', '.join(fmt_shape(p.shape) for p in w)}")


def run_layers(mode, input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):
    """The layers in turn (dropout between them when training), each direction one rnn_layer. Returns
    (output, h_n) or, for LSTM, (output, h_n, c_n)."""
    name = _PUBLIC[mode]
    pair = isinstance(hx, (tuple, list)) and len(hx) == 2
    if mode == "LSTM" and not pair or mode != "LSTM" and not isinstance(hx, Tensor):
        want = "a pair [h_0, c_0] of Tensors" if mode == "LSTM" else "a Tensor h_0"
        raise TypeError(f"{name}: expected hx to be {want}, got {type(hx).__name__}")
    states = tuple(hx) if mode == "LSTM" else (hx,)
    if batch_first and isinstance(input, Tensor) and input.ndim == 3:
        input = input.transpose(0, 1)
    directions, per, proj = _check(name, mode, input, states, params, has_biases, num_layers, bidirectional)
    hidden, out = params[1].shape[0] // GATES[mode], params[1].shape[1]
    per_unit = [unbind(s, 0) for s in states]
    finals = [[] for _ in states]
    x = input
    for layer in range(num_layers):
        outs = []
        for direction in range(directions):
            k = layer * directions + direction
            w = list(params[k * per:(k + 1) * per])
            _check_layer(name, layer, x, w, mode, hidden, out, proj)
            operands = [x, w[0], w[1]] + [s[k] for s in per_unit] + w[2:]
            res = bind(rnn_layer_p, *operands, mode=mode, reverse=direction == 1, bias=bool(has_biases), proj=proj)
            outs.append(res[0])
            for final, state in zip(finals, res[2:]):
                final.append(state)
        x = outs[0] if directions == 1 else cat(outs, -1)
        if dropout and train and layer < num_layers - 1:
            x = _dropout(x, dropout, True)
    return (x.transpose(0, 1) if batch_first else x, *(stack(f) for f in finals))


def run_cell(mode, input, states, w_ih, w_hh, b_ih, b_hh):
    """One step of a cell (nn.LSTMCell, GRUCell, RNNCell) as a one-step rnn_layer: one tape node and the fused
    kernels instead of the ~15 ops of the composed step (rnn_steps). input (N, H_in), passed as it is (rnn_layer
    takes a 2-D x as one step); states as rnn_layer's h0 (and c0); returns the new states."""
    operands = [input, w_ih, w_hh, *states] + ([] if b_ih is None else [b_ih, b_hh])
    return tuple(bind(rnn_layer_p, *operands, mode=mode, reverse=False, bias=b_ih is not None, proj=False)[2:])


# ---- samples ---------------------------------------------------------------------------------------------------
def _params(rng, mode, features, hidden, layers=1, bidirectional=False, bias=True, proj=0):
    gates, out, directions = GATES[mode] * hidden, proj or hidden, 2 if bidirectional else 1

    def r(*shape):
        return rng.standard_normal(shape) * 0.5

    params = []
    for layer in range(layers):
        for _ in range(directions):
            params += [r(gates, features if layer == 0 else out * directions), r(gates, out)]
            params += [r(gates), r(gates)] if bias else []
            params += [r(out, hidden)] if proj else []
    return params


def _samples(mode):
    def samples(rng):
        def states(units, batch, hidden, proj=0):
            h = rng.standard_normal((units, batch, proj or hidden))
            return [h, rng.standard_normal((units, batch, hidden))] if mode == "LSTM" else h

        x = rng.standard_normal
        # tiny: gradgradcheck differentiates the composed backward numerically in every operand
        out = [Sample(x((3, 2, 3)), states(1, 2, 2), _params(rng, mode, 3, 2), True, 1, 0.0, False, False, False),
               Sample(x((1, 2, 2)), states(4, 1, 1), _params(rng, mode, 2, 1, 2, True, False), False, 2, 0.0, False,
                      True, True, note="2 layers, bidirectional, no bias, batch_first")]
        if mode == "LSTM":
            out.append(Sample(x((2, 1, 2)), states(2, 1, 2, 1), _params(rng, mode, 2, 2, 1, True, True, 1), True, 1,
                              0.0, False, True, False, note="projection, bidirectional"))
        return out

    return samples


def _public(mode):
    name = _PUBLIC[mode]

    def fn(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):
        return run_layers(mode, input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
                          batch_first)

    fn.__name__ = fn.__qualname__ = name
    states = "hx = [h_0, c_0] (each (layers * directions, N, H); h_0's last dim is proj_size when projecting)" \
        if mode == "LSTM" else "hx = h_0 (layers * directions, N, H)"
    fn.__doc__ = (f"A multi-layer {mode.replace('_', ' ').lower()} over a (L, N, H_in) input (N first with "
                  f"batch_first), as torch.{name}: {states}; params per layer and direction w_ih, w_hh, then b_ih, "
                  f"b_hh when has_biases{', then w_hr when projecting' if mode == 'LSTM' else ''}; dropout between "
                  f"layers when train. Returns (output, h_n{', c_n' if mode == 'LSTM' else ''}).")
    return op(name=name, samples=_samples(mode), torch=name)(fn)


lstm, gru, rnn_tanh, rnn_relu = (_public(mode) for mode in _PUBLIC)
