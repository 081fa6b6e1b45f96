"""torch.onnx.export's keyword arguments in eagerlab.onnx.export: each one's effect on the written model (dims,
opset, mode, target), checked with onnxruntime at other sizes, and the errors for what is not supported."""
import io
import warnings

import numpy as np
import pytest

import eagerlab
import eagerlab.nn as nn
from eagerlab.errors import UnsupportedError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
TrainingMode = eagerlab.onnx.TrainingMode


def _dims(value_info):
    return [d.dim_param or (d.dim_value if d.HasField("dim_value") else None)
            for d in value_info.type.tensor_type.shape.dim]


def _shapes(proto):
    return {v.name: _dims(v) for v in list(proto.graph.input) + list(proto.graph.output)}


def _session(proto):
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def _check_runs(proto, model, *args):
    with eagerlab.no_grad():
        want = model(*args)
    session = _session(proto)
    got = session.run(None, {i.name: a.numpy() for i, a in zip(session.get_inputs(), args)})
    np.testing.assert_allclose(got[0], want.numpy(), rtol=1e-5, atol=1e-6)


class Encoder(nn.Module):
    """(T, N, 4) -> its last step and the sum over time: exercises x[-1] on a symbolic first dim."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 3)

    def forward(self, x):
        h = self.proj(x)
        return h[-1] + h[-2, :, -1:], h.sum(0)


def test_pytorch_style_call(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2))  # training mode
    args = (eagerlab.randn(4, 3),)
    result = eagerlab.onnx.export(model, args, "m.onnx", export_params=True, opset_version=17,
                                  do_constant_folding=True, input_names=["input"], output_names=["output"],
                                  dynamic_axes={"input": {0: "batch_size"}, "output": {0: "batch_size"}},
                                  verbose=False)
    assert model.training  # exported in eval mode (TrainingMode.EVAL, the default), then restored
    proto = onnx.load("m.onnx")
    assert proto == result and proto.opset_import[0].version == 17
    assert _shapes(proto) == {"input": ["batch_size", 3], "output": ["batch_size", 2]}
    model.eval()
    for batch in (4, 7):
        _check_runs(proto, model, eagerlab.randn(batch, 3))


def test_dynamic_axes_list_and_other_axis(tmp_path):
    model = Encoder()
    x = eagerlab.randn(5, 2, 4)
    proto = eagerlab.onnx.export(model, (x,), None, input_names=["seq"], dynamic_axes={"seq": [0, 1], "output1": [0]})
    # output0's dims follow the inputs' through shape inference; only listed output dims get new names
    assert _shapes(proto) == {"seq": ["seq_dynamic_axes_1", "seq_dynamic_axes_2", 4],
                              "output0": ["seq_dynamic_axes_2", 3], "output1": ["output1_dynamic_axes_1", 3]}
    session = _session(proto)
    for steps, batch in ((5, 2), (9, 3)):  # x[-1] and x[-2] stay relative to the end at another length
        x = eagerlab.randn(steps, batch, 4)
        with eagerlab.no_grad():
            want = model(x)
        got = session.run(None, {"seq": x.numpy()})
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w.numpy(), rtol=1e-5, atol=1e-6)


def test_negative_index_on_a_symbolic_dim(tmp_path):
    proto = eagerlab.onnx.export(lambda x: (x[-1], x[-3, ::-1]), (eagerlab.randn(5, 3),), None)
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)
    last, third = _session(proto).run(None, {"x": x})
    np.testing.assert_array_equal(last, x[-1])
    np.testing.assert_array_equal(third, x[-3, ::-1])


def test_only_listed_axes_are_dynamic(tmp_path):
    model, x = nn.Linear(3, 2), eagerlab.randn(4, 3)
    fixed = eagerlab.onnx.export(model, (x,), None, input_names=["input"], dynamic_axes={})
    assert _shapes(fixed) == {"input": [4, 3], "output0": [4, 2]}
    with pytest.raises(Exception, match="(?i)dimension|shape"):  # onnxruntime checks the fixed batch
        _session(fixed).run(None, {"input": np.zeros((7, 3), np.float32)})
    named = eagerlab.onnx.export(model, (x,), None, dynamic_axes={"output0": {0: "n"}})
    assert _shapes(named) == {"input": [4, 3], "output0": ["n", 2]}
    default = eagerlab.onnx.export(model, (x,), None)  # dynamic_batch: dim 0 of each input
    assert _shapes(default) == {"input": ["batch", 3], "output0": ["batch", 2]}


def test_dynamic_axes_errors():
    model, args = nn.Linear(3, 2), (eagerlab.randn(4, 3),)
    with pytest.raises(ValueError, match=r"names \['x', 'out'\] are not inputs or outputs.*inputs are \['input'\] "
                                         r"and the outputs \['output0'\]"):
        eagerlab.onnx.export(model, args, None, dynamic_axes={"x": [0], "input": [0], "out": [0]})
    with pytest.raises(ValueError, match=r"dynamic_axes\['input'\] has axis 2, but 'input' has 2 dims"):
        eagerlab.onnx.export(model, args, None, dynamic_axes={"input": {2: "b"}})
    with pytest.raises(TypeError, match="must be a dim name"):
        eagerlab.onnx.export(model, args, None, dynamic_axes={"input": {0: 1}})
    with pytest.raises(TypeError, match="dict"):
        eagerlab.onnx.export(model, args, None, dynamic_axes=[0])


def test_opset_version_and_unsupported_options():
    model, args = nn.Linear(3, 2), (eagerlab.randn(4, 3),)
    assert eagerlab.onnx.export(model, args, None, opset_version=18).opset_import[0].version == 18
    assert eagerlab.onnx.export(model, args, None, opset=18, opset_version=18).opset_import[0].version == 18
    with pytest.raises(ValueError, match="opset=17 and opset_version=18 disagree"):
        eagerlab.onnx.export(model, args, None, opset=17, opset_version=18)
    with pytest.raises(ValueError, match="opset 13 is too old"):
        eagerlab.onnx.export(model, args, None, opset_version=13)
    with pytest.raises(UnsupportedError, match="export_params=False is not supported yet"):
        eagerlab.onnx.export(model, args, None, export_params=False)
    with pytest.raises(UnsupportedError, match="keep_initializers_as_inputs=True is not supported yet"):
        eagerlab.onnx.export(model, args, None, keep_initializers_as_inputs=True)
    # accepted either way: the graph is the same (eagerlab's trace is always folded; one exporter)
    plain = eagerlab.onnx.export(model, args, None)
    assert eagerlab.onnx.export(model, args, None, do_constant_folding=False, dynamo=False) == plain
    assert eagerlab.onnx.export(model, args, None, dynamo=True) == plain


def test_training_modes():
    model = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3), nn.Dropout(0.5))
    args = (eagerlab.randn(4, 3),)
    for mode in (TrainingMode.EVAL, False):
        eagerlab.onnx.export(model, args, None, training=mode)
        assert model.training and model[1].training
    with pytest.raises(UnsupportedError, match="running statistics"):  # PRESERVE: the model's own training mode
        eagerlab.onnx.export(model, args, None, training=TrainingMode.PRESERVE)
    assert model.training
    model.eval()
    eagerlab.onnx.export(model, args, None, training=TrainingMode.PRESERVE)
    for mode in (TrainingMode.TRAINING, True):
        with pytest.raises(UnsupportedError, match="TRAINING is not supported yet"):
            eagerlab.onnx.export(model, args, None, training=mode)
    with pytest.raises(ValueError, match="training must be"):
        eagerlab.onnx.export(model, args, None, training="eval")


def test_file_object_target_and_verbose(capsys):
    model, args = nn.Linear(3, 2), (eagerlab.randn(4, 3),)
    buffer = io.BytesIO()
    proto = eagerlab.onnx.export(model, args, buffer, input_names=["input"], verbose=True)
    assert onnx.load_from_string(buffer.getvalue()) == proto
    printed = capsys.readouterr().out
    assert "graph" in printed and "Gemm" in printed and "input" in printed
    eagerlab.onnx.export(model, args, None, verbose=False)
    assert capsys.readouterr().out == ""


def test_names_and_dims_match_pytorch():
    """PyTorch's TorchScript exporter (dynamo=False: the dynamo one needs onnxscript) names the same inputs,
    outputs and dim params for a Linear model exported with input_names, output_names and dynamic_axes."""
    torch = pytest.importorskip("torch")
    def dynamic_axes():  # (a fresh dict: PyTorch's exporter rewrites the lists in it)
        return {"input": {0: "batch_size"}, "output": [0]}

    names = dict(input_names=["input"], output_names=["output"])
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(torch.nn.Linear(3, 2), (torch.randn(4, 3),), buffer, dynamo=False,
                              dynamic_axes=dynamic_axes(), **names)
        except Exception as e:  # an exporter that cannot run here (missing optional packages)
            pytest.skip(f"torch.onnx.export does not run here: {e}")
    want = _shapes(onnx.load_from_string(buffer.getvalue()))
    got = _shapes(eagerlab.onnx.export(nn.Linear(3, 2), (eagerlab.randn(4, 3),), None, dynamic_axes=dynamic_axes(),
                                       **names))
    assert got == want == {"input": ["batch_size", 3], "output": ["output_dynamic_axes_1", 2]}
