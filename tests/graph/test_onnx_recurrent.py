"""eagerlab.onnx.export of recurrent layers (ONNX's LSTM, GRU and RNN operators), of nested example inputs and
outputs, and of the ops a word language model's Transformer adds (basic indexing, all/any): onnxruntime's outputs
against eagerlab's eager ones, within 1e-5 in float32."""
import numpy as np
import pytest

import eagerlab
import eagerlab.nn as nn
from eagerlab.errors import UnsupportedError
from eagerlab.graph.pytree import flatten
from eagerlab.nn.modules.transformer import _is_causal_mask

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _layer(mode, **kw):
    if mode in ("tanh", "relu"):
        return nn.RNN(4, 3, nonlinearity=mode, **kw).eval()
    return getattr(nn, mode)(4, 3, **kw).eval()


def _run(path, args):
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    leaves = [a.numpy() for a in flatten(args)[0] if isinstance(a, eagerlab.Tensor)]
    return session, session.run(None, {i.name: a for i, a in zip(session.get_inputs(), leaves)})


def _assert_matches(got, want):
    want = [w.numpy() for w in flatten(want)[0]]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, atol=1e-5, rtol=1e-5)


# (layers, bidirectional, batch_first, initial state, bias): every mode runs each configuration
CONFIGS = [(1, False, False, True, True), (2, True, False, True, True), (2, False, True, False, True),
           (1, True, True, False, False)]


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "tanh", "relu"])
@pytest.mark.parametrize("layers,bidirectional,batch_first,initial,bias", CONFIGS)
def test_recurrent_layers_match_onnxruntime(tmp_path, mode, layers, bidirectional, batch_first, initial, bias):
    eagerlab.manual_seed(0)
    # dropout between the layers: in eval mode it is the identity, and the export leaves it out
    rnn = _layer(mode, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias,
                 dropout=0.4 if layers > 1 else 0.0)
    units = layers * (2 if bidirectional else 1)

    def example(batch):
        x = eagerlab.randn(batch, 5, 4) if batch_first else eagerlab.randn(5, batch, 4)
        if not initial:
            return (x,)
        h = eagerlab.randn(units, batch, 3)
        return (x, (h, eagerlab.randn(units, batch, 3)) if mode == "LSTM" else h)

    path = str(tmp_path / "rnn.onnx")
    args = example(2)
    proto = eagerlab.onnx.export(rnn, args, path)
    onnx_op = {"tanh": "RNN", "relu": "RNN"}.get(mode, mode)
    assert sum(n.op_type == onnx_op for n in proto.graph.node) == units  # one operator per layer and direction
    assert {i.name for i in proto.graph.initializer} >= set(rnn.state_dict())
    with eagerlab.no_grad():
        want = rnn(*args)
    assert float(want[0].abs().max()) > 0.1  # (not a degenerate comparison of zeros)
    session, got = _run(path, args)
    _assert_matches(got, want)
    if batch_first and not initial:  # the batch is the first, symbolic, dimension: another size runs too
        args = example(3)
        with eagerlab.no_grad():
            want = rnn(*args)
        _assert_matches(session.run(None, {session.get_inputs()[0].name: args[0].numpy()}), want)


class TwoSteps(nn.Module):
    """Two steps of a cell, the second from the first's state (a cell's x reaches rnn_layer as (N, H_in))."""

    def __init__(self, name):
        super().__init__()
        self.cell = getattr(nn, name)(4, 3)

    def forward(self, x0, x1):
        state = self.cell(x0)
        return self.cell(x1, state)


@pytest.mark.parametrize("name", ["LSTMCell", "GRUCell", "RNNCell"])
def test_cells_match_onnxruntime(tmp_path, name):
    eagerlab.manual_seed(0)
    model = TwoSteps(name).eval()
    args = (eagerlab.randn(2, 4), eagerlab.randn(2, 4))
    path = str(tmp_path / "cell.onnx")
    proto = eagerlab.onnx.export(model, args, path)
    assert sum(n.op_type == name[:-4] for n in proto.graph.node) == 2
    with eagerlab.no_grad():
        want = model(*args)
    _assert_matches(_run(path, args)[1], want)


class WordModel(nn.Module):
    """word_language_model's RNNModel in small: (tokens, hidden) -> (log-probabilities, hidden)."""

    def __init__(self, mode="LSTM"):
        super().__init__()
        self.encoder, self.rnn, self.decoder = nn.Embedding(11, 4), _layer(mode, num_layers=2), nn.Linear(3, 11)

    def forward(self, input, hidden, scale=1.0):
        output, hidden = self.rnn(self.encoder(input) * scale, hidden)
        return eagerlab.log_softmax(self.decoder(output).view(-1, 11), dim=1), hidden


def test_nested_inputs_and_outputs(tmp_path):
    model = WordModel().eval()
    tokens, hidden = eagerlab.randint(0, 11, (6, 2)), (eagerlab.randn(2, 2, 3), eagerlab.randn(2, 2, 3))
    path = str(tmp_path / "word.onnx")
    proto = eagerlab.onnx.export(model, (tokens, hidden), path)
    # the tensors flattened in order, named after the parameters; the nested output likewise
    assert [i.name for i in proto.graph.input] == ["input", "hidden.0", "hidden.1"]
    assert [o.name for o in proto.graph.output] == ["output0", "output1", "output2"]
    with eagerlab.no_grad():
        want = model(tokens, hidden)
    _assert_matches(_run(path, (tokens, hidden))[1], want)

    # names given in flattened order; a list works as a tuple; a Python constant is fixed in the trace
    proto = eagerlab.onnx.export(model, (tokens, [hidden[0], hidden[1]], 0.5), path,
                                 input_names=["tokens", "h0", "c0"], output_names=["logp", "h_n", "c_n"])
    assert [i.name for i in proto.graph.input] == ["tokens", "h0", "c0"]
    assert [o.name for o in proto.graph.output] == ["logp", "h_n", "c_n"]
    with eagerlab.no_grad():
        want = model(tokens, hidden, 0.5)
    _assert_matches(_run(path, (tokens, hidden))[1], want)
    with pytest.raises(ValueError, match="input_names must be 3 strings"):
        eagerlab.onnx.export(model, (tokens, hidden), path, input_names=["tokens", "hidden"])


def test_example_inputs_errors(tmp_path):
    model, path = WordModel().eval(), str(tmp_path / "bad.onnx")
    tokens, h = eagerlab.randint(0, 11, (6, 2)), eagerlab.randn(2, 2, 3)
    with pytest.raises(TypeError, match=r"example_inputs\[1\] is a dict; .*pass the tensors positionally"):
        eagerlab.onnx.export(model, (tokens, {"h": h, "c": h}), path)
    with pytest.raises(TypeError, match=r"example_inputs\[1\]\[0\] is a ndarray; example_inputs may hold tensors"):
        eagerlab.onnx.export(model, (tokens, (h.numpy(), h)), path)
    with pytest.raises(TypeError, match="example_inputs must be a tuple of tensors, got dict"):
        eagerlab.onnx.export(model, {"input": tokens}, path)
    # eagerlab's own export format keeps flat tensor arguments (its loaded function is called with tensors)
    with pytest.raises(TypeError, match=r"export: example_inputs must be a tuple of tensors, got tuple holding "
                                        r"\['Tensor', 'tuple'\]"):
        eagerlab.export(model, (tokens, (h, h)), path)
    with pytest.raises(UnsupportedError, match="not supported yet: an LSTM with proj_size"):
        eagerlab.onnx.export(nn.LSTM(4, 3, proj_size=2).eval(), (eagerlab.randn(5, 2, 4),), path)


def test_indexing_stack_and_boolean_reductions(tmp_path):
    def fn(x, mask):
        rows = eagerlab.stack(x.unbind(1), dim=0)  # (4, 3, 5)
        picked = x[1:, None, ::2, -1] * 2 + x[..., 0].sum()  # ints, steps, None, Ellipsis
        back = x[::-1, 2:0:-1]  # negative steps
        return rows, picked, back, mask.all(dim=1), mask.any(), (x > 0).all(dim=(0, 2), keepdim=True)

    x, mask = eagerlab.randn(3, 4, 5), eagerlab.rand(2, 3) > 0.3
    path = str(tmp_path / "idx.onnx")
    eagerlab.onnx.export(fn, (x, mask), path, dynamic_batch=False)
    with eagerlab.no_grad():
        want = fn(x, mask)
    got = _run(path, (x, mask))[1]
    for g, w in zip(got, want):
        assert g.dtype == w.numpy().dtype
    _assert_matches(got, want)


def test_transformer_encoder_with_a_captured_causal_mask(tmp_path):
    """A float causal mask held by the model (word_language_model's Transformer): the trace cannot look at its
    values to take the causal hint, and the layers apply it as given."""
    eagerlab.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.1)
    encoder = nn.TransformerEncoder(layer, 2).eval()
    mask = eagerlab.log(eagerlab.tril(eagerlab.ones(5, 5)))

    def fn(src):
        return encoder(src, mask=mask)

    src = eagerlab.randn(5, 2, 8)
    assert _is_causal_mask(mask, src, encoder.layers) is True  # eagerly the hint is still taken
    path = str(tmp_path / "enc.onnx")
    eagerlab.onnx.export(fn, (src,), path, dynamic_batch=False)
    with eagerlab.no_grad():
        want = fn(src)
        assert np.allclose(eagerlab.function(fn)(src).numpy(), want.numpy(), atol=1e-6)
    _assert_matches(_run(path, (src,))[1], want)
