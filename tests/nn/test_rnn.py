"""RNN, LSTM, GRU and their cells against PyTorch (same weights: same outputs, final states and gradients of the
input, initial states and every parameter), float64 gradcheck, initialisation, state dicts and errors."""
import warnings

import numpy as np
import pytest

import eagerlab as el
import eagerlab.nn as nn
from eagerlab.errors import DTypeError, ShapeError

from eagerlab.testing import load_into_torch

rng = np.random.default_rng(0)
L, N, H_IN, H = 3, 2, 3, 4  # sequence length, batch, input features, hidden size: tiny, so each case is fast
LAYERS = {"RNN_TANH": ("RNN", {}), "RNN_RELU": ("RNN", {"nonlinearity": "relu"}), "LSTM": ("LSTM", {}),
          "GRU": ("GRU", {})}


def _x(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def _flat(out):
    """(output, h_n) / (output, (h_n, c_n)) / a cell's h or (h, c) as a flat list of tensors."""
    if isinstance(out, tuple):
        return [t for o in out for t in _flat(o)]
    return [out]


def _hx(states, as_tuple):
    if not states:
        return ()
    return (tuple(states),) if as_tuple else (states[0],)


def check_against_torch(torch, layer, torch_layer, x, states=(), rtol=1e-5, atol=1e-5):
    """Same weights -> same outputs and final states; then the gradients of a random weighting of all outputs
    with respect to the input, the initial states and every parameter agree."""
    load_into_torch(layer, torch_layer)
    pair = isinstance(layer, (nn.LSTM, nn.LSTMCell))
    ours = [el.tensor(a, requires_grad=True) for a in (x, *states)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, *states)]
    out = _flat(layer(ours[0], *_hx(ours[1:], pair)))
    want = _flat(torch_layer(theirs[0], *_hx(theirs[1:], pair)))
    assert len(out) == len(want)
    for o, w in zip(out, want):
        assert tuple(o.shape) == tuple(w.shape)
        np.testing.assert_allclose(o.detach().numpy(), w.detach().numpy(), rtol=rtol, atol=atol)
    seeds = [rng.standard_normal(tuple(w.shape)).astype(np.float32) for w in want]
    sum((o * el.tensor(s)).sum() for o, s in zip(out, seeds)).backward()
    sum((w * torch.from_numpy(s)).sum() for w, s in zip(want, seeds)).backward()
    for i, (o, w) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(o.grad.numpy(), w.grad.numpy(), rtol=rtol, atol=atol, err_msg=f"input {i}")
    torch_params = dict(torch_layer.named_parameters())
    assert [n for n, _ in layer.named_parameters()] == list(torch_params)
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), torch_params[name].grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=name)


def _states(mode, layers, directions, batch=(N,), hidden=H, proj=0):
    h = _x(layers * directions, *batch, proj or hidden)
    return (h, _x(layers * directions, *batch, hidden)) if mode == "LSTM" else (h,)


def _pair(mode, *args, **kwargs):
    torch = pytest.importorskip("torch")
    name, extra = LAYERS[mode]
    return torch, getattr(nn, name)(*args, **extra, **kwargs), getattr(torch.nn, name)(*args, **extra, **kwargs)


@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "h0"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("mode", list(LAYERS))
def test_layer_matches_torch(mode, num_layers, bidirectional, batch_first, with_state):
    torch, layer, torch_layer = _pair(mode, H_IN, H, num_layers, batch_first=batch_first,
                                      bidirectional=bidirectional)
    x = _x(N, L, H_IN) if batch_first else _x(L, N, H_IN)
    states = _states(mode, num_layers, 2 if bidirectional else 1) if with_state else ()
    check_against_torch(torch, layer, torch_layer, x, states)


@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "h0"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("mode", list(LAYERS))
def test_unbatched_input_matches_torch(mode, batch_first, with_state):
    torch, layer, torch_layer = _pair(mode, H_IN, H, 2, batch_first=batch_first, bidirectional=True)
    states = _states(mode, 2, 2, batch=()) if with_state else ()
    check_against_torch(torch, layer, torch_layer, _x(L, H_IN), states)


@pytest.mark.parametrize("mode", list(LAYERS))
def test_no_bias_matches_torch(mode):
    torch, layer, torch_layer = _pair(mode, H_IN, H, 2, bias=False)
    assert not any("bias" in name for name, _ in layer.named_parameters())
    check_against_torch(torch, layer, torch_layer, _x(L, N, H_IN), _states(mode, 2, 1))


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_lstm_projection_matches_torch(bidirectional):
    torch, layer, torch_layer = _pair("LSTM", H_IN, H, 2, bidirectional=bidirectional, proj_size=2)
    assert layer.weight_hr_l1.shape == (2, H) and layer.weight_hh_l0.shape == (4 * H, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch: "LSTM with projections is not supported with oneDNN"
        check_against_torch(torch, layer, torch_layer, _x(L, N, H_IN),
                            _states("LSTM", 2, 2 if bidirectional else 1, proj=2))


CELLS = {"RNN_TANH": ("RNNCell", {}), "RNN_RELU": ("RNNCell", {"nonlinearity": "relu"}),
         "LSTM": ("LSTMCell", {}), "GRU": ("GRUCell", {})}


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "hx"])
@pytest.mark.parametrize("mode", list(CELLS))
def test_cell_matches_torch(mode, with_state, batched, bias):
    torch = pytest.importorskip("torch")
    name, extra = CELLS[mode]
    cell, torch_cell = (getattr(m, name)(H_IN, H, bias=bias, **extra) for m in (nn, torch.nn))
    batch = (N,) if batched else ()
    states = tuple(_x(*batch, H) for _ in range(2 if mode == "LSTM" else 1)) if with_state else ()
    check_against_torch(torch, cell, torch_cell, _x(*batch, H_IN), states)


def test_cell_steps_equal_the_layer():
    """Feeding a sequence step by step through LSTMCell gives the LSTM layer's outputs (same weights)."""
    layer, cell = nn.LSTM(H_IN, H), nn.LSTMCell(H_IN, H)
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = el.tensor(_x(L, N, H_IN))
    out, (h_n, c_n) = layer(x)
    state = None
    for t in range(L):
        state = cell(x[t], state)
        np.testing.assert_allclose(state[0].detach().numpy(), out[t].detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(state[1].detach().numpy(), c_n[0].detach().numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", list(CELLS))
def test_a_cell_step_is_one_fused_op_with_the_composed_steps_values_and_gradients(mode):
    """A cell runs the fused kernels on a one-step sequence (one tape node); the composed step it replaced
    (rnn_steps, still what autocast and double backward use) gives the same values and gradients."""
    from eagerlab.ops.rnn_steps import KINDS, project_input

    name, extra = CELLS[mode]
    cell = getattr(nn, name)(H_IN, H, **extra).double()
    kind = KINDS[mode]
    x = el.tensor(_x(N, H_IN).astype(np.float64), requires_grad=True)
    states = tuple(el.tensor(_x(N, H).astype(np.float64), requires_grad=True) for _ in range(kind.states))
    fused = cell(x, states if kind.states == 2 else states[0])
    fused = fused if kind.states == 2 else (fused,)
    assert fused[0].grad_fn.name() == "RnnLayerBackward0"
    xw, b_hh = project_input(kind, x, cell.weight_ih, cell.bias_ih, cell.bias_hh)
    composed = kind.step(xw, states, cell.weight_hh, b_hh)
    leaves = (x, *states, *cell.parameters())
    seeds = [el.tensor(_x(N, H).astype(np.float64)) for _ in fused]
    got = el.autograd.grad(fused, leaves, seeds)
    want = el.autograd.grad(composed, leaves, seeds)
    for a, b in zip(list(fused) + list(got), list(composed) + list(want)):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_a_cell_under_autocast_takes_the_composed_step_whose_gemms_follow_the_policy():
    cell = nn.LSTMCell(H_IN, H)
    with el.autocast("cpu", dtype=el.bfloat16):
        h, c = cell(el.tensor(_x(N, H_IN)))
    assert h.grad_fn.name() == "MulBackward0"  # o * tanh(c): o from bfloat16 gates, c float32 (as in PyTorch)
    assert h.dtype is el.float32 and c.dtype is el.float32


@pytest.mark.parametrize("mode", list(LAYERS))
def test_dropout_only_in_training_and_only_between_layers(mode):
    name, extra = LAYERS[mode]
    layer = getattr(nn, name)(H_IN, H, 2, dropout=0.5, **extra)
    plain = getattr(nn, name)(H_IN, H, 2, **extra)
    plain.load_state_dict(layer.state_dict())
    x = el.tensor(_x(L, 8, H_IN))
    layer.eval()
    for got, want in zip(_flat(layer(x)), _flat(plain(x))):
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    layer.train()
    got, want = _flat(layer(x)), _flat(plain(x))
    h_n, want_h = got[1].detach().numpy(), want[1].detach().numpy()
    np.testing.assert_array_equal(h_n[0], want_h[0])  # the first layer's input is not dropped
    assert not np.array_equal(h_n[1], want_h[1]) and not np.array_equal(got[0].detach().numpy(),
                                                                        want[0].detach().numpy())


def _float64_inputs(mode, layer, *arrays):
    """The layer in float64 and the arrays as float64 leaves. For relu, everything is made positive so every
    pre-activation stays off the kink at 0, where finite differences disagree with any derivative."""
    layer.double()
    if mode == "RNN_RELU":
        arrays = [np.abs(a) + 0.1 for a in arrays]
        with el.no_grad():
            for p in layer.parameters():
                p.copy_(p.abs())
    return [el.tensor(a, dtype=el.float64, requires_grad=True) for a in arrays]


@pytest.mark.parametrize("mode", list(LAYERS))
def test_gradcheck_float64(mode):
    """Finite differences on a 1-layer bidirectional layer: input, initial states and every parameter."""
    name, extra = LAYERS[mode]
    layer = getattr(nn, name)(2, 2, bidirectional=True, **extra)
    x, *states = _float64_inputs(mode, layer, _x(2, 2, 2), *_states(mode, 1, 2, hidden=2))

    def run(x, *rest):
        hx = tuple(rest[:2]) if mode == "LSTM" else rest[0]
        return tuple(_flat(layer(x, hx)))

    assert el.autograd.gradcheck(run, (x, *states, *layer.parameters()))


@pytest.mark.parametrize("mode", list(CELLS))
def test_cell_gradcheck_float64(mode):
    name, extra = CELLS[mode]
    cell = getattr(nn, name)(2, 3, **extra)
    (x,) = _float64_inputs(mode, cell, _x(2, 2))
    assert el.autograd.gradcheck(lambda x, *p: tuple(_flat(cell(x))), (x, *cell.parameters()))


def test_parameters_state_dict_and_init_match_torch():
    torch = pytest.importorskip("torch")
    for args, kwargs in [((5, 8, 2), {"bidirectional": True}), ((5, 8, 3), {"proj_size": 3, "bias": False})]:
        ours, theirs = nn.LSTM(*args, **kwargs), torch.nn.LSTM(*args, **kwargs)
        assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
               [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
        assert ours._flat_weights_names == theirs._flat_weights_names
        assert [[tuple(p.shape) for p in ws] for ws in ours.all_weights] == \
               [[tuple(p.shape) for p in ws] for ws in theirs.all_weights]
        ours.load_state_dict({k: el.tensor(v.numpy()) for k, v in theirs.state_dict().items()})  # and back
    layer = nn.GRU(10, 100, 2)
    bound = 1 / np.sqrt(100)
    values = np.concatenate([p.detach().numpy().ravel() for p in layer.parameters()])
    assert np.abs(values).max() <= bound and abs(values.std() - bound / np.sqrt(3)) < 0.05 * bound


def test_repr_matches_torch():
    torch = pytest.importorskip("torch")
    for name, args, kwargs in [("RNN", (3, 4), {"nonlinearity": "relu"}), ("GRU", (3, 4, 2), {"dropout": 0.5}),
                               ("LSTM", (3, 4, 2), {"proj_size": 2, "bias": False, "batch_first": True,
                                                    "bidirectional": True}),
                               ("RNNCell", (3, 4), {"nonlinearity": "relu"}), ("LSTMCell", (3, 4), {"bias": False}),
                               ("GRUCell", (3, 4), {})]:
        assert repr(getattr(nn, name)(*args, **kwargs)) == repr(getattr(torch.nn, name)(*args, **kwargs))


def test_positional_arguments_follow_torch_order():
    rnn = nn.RNN(3, 4, 2, "relu", False, True, 0.0, True)
    assert (rnn.num_layers, rnn.nonlinearity, rnn.bias, rnn.batch_first, rnn.bidirectional) == (2, "relu", False,
                                                                                                True, True)
    lstm = nn.LSTM(3, 4, 1, True, False, 0.0, False, 2)
    assert lstm.proj_size == 2


def test_float64_layer_keeps_dtype_and_h0_gets_gradient():
    layer = nn.GRU(H_IN, H).double()
    h0 = el.zeros(1, N, H, dtype=el.float64, requires_grad=True)
    out, h_n = layer(el.tensor(_x(L, N, H_IN), dtype=el.float64), h0)
    assert out.dtype == el.float64 and h_n.dtype == el.float64
    h_n.sum().backward()
    assert h0.grad.shape == (1, N, H) and np.abs(h0.grad.numpy()).sum() > 0


# ---- errors --------------------------------------------------------------------------------------------------
def test_input_errors_name_the_layer_and_shapes():
    lstm = nn.LSTM(10, 20)
    with pytest.raises(ShapeError, match=r"^LSTM: expected input with 10 features \(input_size\), got input "
                                         r"\(5, 3, 12\)$"):
        lstm(el.zeros(5, 3, 12))
    with pytest.raises(ShapeError, match=r"GRU: expected input \(N, L, input_size\) or unbatched \(L, input_size\), "
                                         r"got input \(2, 3, 4, 10\)"):
        nn.GRU(10, 20, batch_first=True)(el.zeros(2, 3, 4, 10))
    with pytest.raises(ShapeError, match=r"RNN: expected a sequence of at least one step, got input \(0, 3, 10\)"):
        nn.RNN(10, 20)(el.zeros(0, 3, 10))
    with pytest.raises(TypeError, match="^LSTM: expected input to be a Tensor, got ndarray"):
        lstm(np.zeros((5, 3, 10), np.float32))
    with pytest.raises(DTypeError, match=r"^LSTM: expected input of the parameters' dtype float32, got float64"):
        lstm(el.zeros(5, 3, 10, dtype=el.float64))
    with pytest.raises(DTypeError, match=r"^GRU: expected h_0 of the input's dtype float32, got float64"):
        nn.GRU(10, 20)(el.zeros(5, 3, 10), el.zeros(1, 3, 20, dtype=el.float64))
    with pytest.raises(DTypeError, match=r"^GRUCell: expected input of the parameters' dtype float64"):
        nn.GRUCell(10, 20).double()(el.zeros(3, 10))
    model = nn.Sequential(nn.Linear(4, 12), nn.LSTM(10, 20))
    with pytest.raises(ShapeError, match=r"^1 \(LSTM\) expected input with 10 features"):
        model(el.zeros(5, 3, 4))


def test_state_errors_give_expected_and_got():
    lstm = nn.LSTM(10, 20, num_layers=2, bidirectional=True)
    x = el.zeros(5, 3, 10)
    good = el.zeros(4, 3, 20)
    with pytest.raises(ShapeError, match=r"^LSTM: expected h_0 of shape \(4, 3, 20\), got \(2, 3, 20\)$"):
        lstm(x, (el.zeros(2, 3, 20), good))
    with pytest.raises(ShapeError, match=r"expected c_0 of shape \(4, 3, 20\), got \(4, 1, 20\)"):
        lstm(x, (good, el.zeros(4, 1, 20)))
    with pytest.raises(TypeError, match=r"expected hx to be a tuple \(h_0, c_0\) of two Tensors, got Tensor"):
        lstm(x, good)
    with pytest.raises(TypeError, match=r"expected hx to be a Tensor h_0, got a tuple of 2"):
        nn.GRU(10, 20)(x, (good, good))
    with pytest.raises(ShapeError, match=r"expected h_0 of shape \(1, 20\) \(unbatched input: no batch dim\), got "
                                         r"\(1, 1, 20\)"):
        nn.RNN(10, 20)(el.zeros(5, 10), el.zeros(1, 1, 20))
    with pytest.raises(ShapeError, match=r"expected h_0 of shape \(1, 3, 5\), got \(1, 3, 20\)"):
        nn.LSTM(10, 20, proj_size=5)(x, (el.zeros(1, 3, 20), el.zeros(1, 3, 20)))


def test_cell_errors():
    cell = nn.LSTMCell(10, 20)
    with pytest.raises(ShapeError, match=r"^LSTMCell: expected input \(N, 10\) or unbatched \(10,\), got input "
                                         r"\(5, 3, 10\)$"):
        cell(el.zeros(5, 3, 10))
    with pytest.raises(ShapeError, match=r"GRUCell: expected input with 10 features \(input_size\), got input "
                                         r"\(3, 7\)"):
        nn.GRUCell(10, 20)(el.zeros(3, 7))
    with pytest.raises(ShapeError, match=r"RNNCell: expected h_0 of shape \(3, 20\), got \(20,\)"):
        nn.RNNCell(10, 20)(el.zeros(3, 10), el.zeros(20))
    with pytest.raises(ShapeError, match=r"expected c_0 of shape \(3, 20\), got \(3, 2\)"):
        cell(el.zeros(3, 10), (el.zeros(3, 20), el.zeros(3, 2)))


def test_constructor_errors_match_torch():
    with pytest.raises(ValueError, match=r"dropout should be a number in range \[0, 1\]"):
        nn.LSTM(3, 4, 2, dropout=1.5)
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        nn.RNNBase("GRU", 3, 4, proj_size=2)
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="Unknown nonlinearity 'gelu'. Select from 'tanh' or 'relu'."):
        nn.RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match="Unknown nonlinearity"):
        nn.RNNCell(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        nn.GRU(3, 0)
    with pytest.raises(TypeError, match="input_size should be of type int, got: float"):
        nn.RNN(3.0, 4)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.GRU(3, 4, dropout=0.2)


# ---- the fused layer against the step-by-step composition it replaced ----------------------------------------------
def _composed(mode, layer, x, states):
    """The sequence layer as the composition of the cells' per-step ops (how nn.LSTM/GRU/RNN ran before the fused
    op), time-major: (output, final states)."""
    from eagerlab.nn.modules.rnn_cells import KINDS, project_input

    kind, directions = KINDS[mode], 2 if layer.bidirectional else 1
    per_unit = list(zip(*(s.unbind(0) for s in states)))
    finals = []
    for k in range(layer.num_layers):
        outs = []
        for d in range(directions):
            suffix = f"_l{k}" + ("_reverse" if d else "")
            w_ih, w_hh, b_ih, b_hh, w_hr = (layer._parameters.get(n + suffix) for n in
                                            ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"))
            xw, b_hh = project_input(kind, x, w_ih, b_ih, b_hh)
            state, hs = per_unit[k * directions + d], []
            steps = xw.unbind(0)
            for xw_t in (reversed(steps) if d else steps):
                state = kind.step(xw_t, state, w_hh, b_hh, w_hr)
                hs.append(state[0])
            outs.append(el.stack(hs[::-1] if d else hs))
            finals.append(state)
        x = outs[0] if directions == 1 else el.cat(outs, -1)
    return x, [el.stack([s[i] for s in finals]) for i in range(kind.states)]


@pytest.mark.parametrize("mode,options", [
    ("LSTM", dict(num_layers=2, bidirectional=True, batch_first=True)),
    ("LSTM", dict(proj_size=2, bidirectional=True, bias=False)),
    ("GRU", dict(num_layers=2, bidirectional=True)), ("GRU", dict(bias=False, batch_first=True)),
    ("RNN_TANH", dict(num_layers=2, bidirectional=True, batch_first=True)), ("RNN_RELU", dict(bias=False))])
def test_fused_layer_equals_the_step_by_step_composition(mode, options):
    """Outputs, final states and the gradients of the input, the initial states and every parameter (float64)."""
    name, extra = LAYERS[mode]
    layer = getattr(nn, name)(H_IN, H, **options, **extra).double()
    units = layer.num_layers * (2 if layer.bidirectional else 1)
    x = el.tensor(_x(N, L, H_IN) if layer.batch_first else _x(L, N, H_IN), dtype=el.float64, requires_grad=True)
    widths = [layer.proj_size or H, H][:2 if mode == "LSTM" else 1]
    states = [el.tensor(_x(units, N, w), dtype=el.float64, requires_grad=True) for w in widths]
    leaves = [x, *states, *layer.parameters()]
    output, last = layer(x, tuple(states) if mode == "LSTM" else states[0])
    got = [output, *_flat(last)]
    want_out, want_last = _composed(mode, layer, x.transpose(0, 1) if layer.batch_first else x, states)
    want = [want_out.transpose(0, 1) if layer.batch_first else want_out, *want_last]
    seeds = [el.tensor(rng.standard_normal(t.shape)) for t in got]
    grads = [el.autograd.grad(sum((t * s).sum() for t, s in zip(ts, seeds)), leaves) for ts in (got, want)]
    for a, b in zip(got + list(grads[0]), want + list(grads[1])):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("flowing", ["all", "output", "h_n", "c_n"])
@pytest.mark.parametrize("bias", [True, False])
def test_one_step_lstm_kernels_equal_the_composition(bias, flowing):
    """A one-step LSTM (what LSTMCell runs) takes kernels of its own (one GEMM over [x | h | 1], PyTorch's gate
    order): outputs and the gradients of everything against the step-by-step composition, in both directions,
    whichever outputs the gradient flows from (float64)."""
    layer = nn.LSTM(H_IN, H, bias=bias, bidirectional=True).double()
    x = el.tensor(_x(1, N, H_IN), dtype=el.float64, requires_grad=True)
    states = [el.tensor(_x(2, N, H), dtype=el.float64, requires_grad=True) for _ in range(2)]
    leaves = [x, *states, *layer.parameters()]
    output, (h_n, c_n) = layer(x, tuple(states))
    want_out, want_last = _composed("LSTM", layer, x, states)
    picked = {"all": slice(0, 3), "output": slice(0, 1), "h_n": slice(1, 2), "c_n": slice(2, 3)}[flowing]
    got, want = [output, h_n, c_n][picked], [want_out, *want_last][picked]
    seeds = [el.tensor(rng.standard_normal(t.shape)) for t in got]
    grads = [el.autograd.grad(sum((t * s).sum() for t, s in zip(ts, seeds)), leaves, allow_unused=True)
             for ts in (got, want)]
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-13)
    for i, (a, b) in enumerate(zip(*grads)):
        assert (a is None) == (b is None), i
        if a is not None:
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12, err_msg=f"leaf {i}")


def test_one_step_lstm_workspace_has_the_inferred_shape_and_compiled_cell_equals_eager():
    """The one-step kernels keep a smaller workspace: what infer says (graph capture plans with it) is what the
    kernel returns, and a compiled cell step with its backward gives the eager values."""
    from eagerlab.autograd.operands import Aval
    from eagerlab.ops.rnn import rnn_layer_p

    cell = nn.LSTMCell(H_IN, H)
    x, h, c = (el.tensor(_x(N, w)) for w in (H_IN, H, H))
    operands = [x.unsqueeze(0), cell.weight_ih, cell.weight_hh, h, c, cell.bias_ih, cell.bias_hh]
    attrs = dict(mode="LSTM", reverse=False, bias=True, proj=False)
    avals = rnn_layer_p.infer(*(Aval.of(t) for t in operands), **attrs)
    arrays = rnn_layer_p.impl(np, *(t.detach().numpy() for t in operands), **attrs)
    assert [a.shape for a in avals] == [a.shape for a in arrays]

    def step(x, h, c):
        cell.zero_grad()
        h1, c1 = cell(x, (h, c))
        loss = (h1 * c1).sum()
        loss.backward()
        return loss.detach(), h1.detach()

    compiled = el.function(step)
    got = compiled(x, h, c)
    grads = [p.grad.numpy().copy() for p in cell.parameters()]
    want = step(x, h, c)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-6)
    for g, p in zip(grads, cell.parameters()):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_one_step_lstm_output_and_final_state_are_separate_tensors():
    """As in PyTorch (and the sequence kernels): writing into h_n leaves the output alone."""
    lstm = nn.LSTM(H_IN, H)
    out, (h_n, c_n) = lstm(el.tensor(_x(1, N, H_IN)))
    before = out.detach().numpy().copy()
    with el.no_grad():
        h_n.zero_()
    np.testing.assert_array_equal(out.detach().numpy(), before)


def test_one_graph_node_per_layer_and_direction_and_compiled_equals_eager():
    layer = nn.LSTM(H_IN, H, 2, bidirectional=True)
    x = el.tensor(_x(L, N, H_IN))

    def step(x):
        layer.zero_grad()
        out, (h_n, c_n) = layer(x)
        loss = out.square().sum() + c_n.sum()
        loss.backward()
        return loss.detach()

    compiled = el.function(step)
    loss = compiled(x)
    ops = [n.name for n in compiled.graph.nodes()]
    assert ops.count("rnn_layer") == 4 and ops.count("rnn_layer_backward") == 4, compiled.graph
    grads = [p.grad.numpy().copy() for p in layer.parameters()]
    np.testing.assert_allclose(loss.item(), step(x).item(), rtol=1e-6)
    for got, p in zip(grads, layer.parameters()):
        np.testing.assert_allclose(got, p.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_double_backward_takes_the_composed_path(mode):
    """create_graph=True gives a differentiable backward (a gradient penalty through the layer) equal to the
    step-by-step composition's, in float64."""
    name, extra = LAYERS[mode]
    layer = getattr(nn, name)(H_IN, H, bidirectional=True, **extra).double()
    x = el.tensor(_x(L, N, H_IN), dtype=el.float64, requires_grad=True)
    states = [el.zeros(2, N, H, dtype=el.float64) for _ in range(2 if mode == "LSTM" else 1)]
    results = []
    for run in (lambda: layer(x)[0], lambda: _composed(mode, layer, x, states)[0]):
        (g,) = el.autograd.grad(run().tanh().sum(), x, create_graph=True)
        results.append(el.autograd.grad(g.square().sum(), [x, *layer.parameters()]))
    for got, want in zip(*results):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_double_backward_through_a_cell(mode):
    """A cell's one step reaches rnn_layer with a 2-D x; create_graph=True differentiates its composed step."""
    from eagerlab.ops.rnn_steps import KINDS, project_input

    name, extra = CELLS[mode]
    cell = getattr(nn, name)(H_IN, H, **extra).double()
    kind = KINDS[mode]
    x = el.tensor(_x(N, H_IN), dtype=el.float64, requires_grad=True)
    states = tuple(el.tensor(_x(N, H), dtype=el.float64) for _ in range(kind.states))

    def composed():
        xw, b_hh = project_input(kind, x, cell.weight_ih, cell.bias_ih, cell.bias_hh)
        return kind.step(xw, states, cell.weight_hh, b_hh)[0]

    results = []
    for run in (lambda: cell(x, states if kind.states == 2 else states[0]), composed):
        out = run()
        (g,) = el.autograd.grad((out[0] if isinstance(out, tuple) else out).tanh().sum(), x, create_graph=True)
        results.append(el.autograd.grad(g.square().sum(), [x, *cell.parameters()]))
    for got, want in zip(*results):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-9, atol=1e-12)


def test_fused_op_errors_name_the_op_and_shapes():
    x, h = el.zeros(L, N, H_IN), el.zeros(1, N, H)
    params = [el.zeros(3 * H, H_IN), el.zeros(3 * H, H)]
    with pytest.raises(ShapeError, match=r"gru: expected a batched input of 3 dims \(L, N, H_in\).*got \(2, 3\)"):
        el.gru(x[0], h, params, False, 1, 0.0, False, False, False)
    with pytest.raises(ShapeError, match=r"gru: expected h_0 of shape \(1, 2, 4\).*got \(2, 2, 4\)"):
        el.gru(x, el.zeros(2, N, H), params, False, 1, 0.0, False, False, False)
    with pytest.raises(ValueError, match="gru: expected 4 parameters"):
        el.gru(x, h, params, True, 1, 0.0, False, False, False)
    with pytest.raises(ShapeError, match=r"gru: layer 0 expects parameters of shapes \(12, 3\), \(12, 4\).*got "
                                         r"\(12, 2\), \(12, 4\)"):
        el.gru(x, h, [el.zeros(3 * H, 2), params[1]], False, 1, 0.0, False, False, False)
    with pytest.raises(TypeError, match=r"lstm: expected hx to be a pair \[h_0, c_0\] of Tensors, got Tensor"):
        el.lstm(x, h, params, False, 1, 0.0, False, False, False)
    with pytest.raises(DTypeError, match="gru: expected every state and parameter of the input's dtype float32"):
        el.gru(x, h.double(), params, False, 1, 0.0, False, False, False)
