"""eagerlab.onnx.export against onnxruntime: the same outputs (within 1e-5) for the example models and a model
using the other mapped ops, at the example batch size and another one; the files pass onnx.checker."""
import os
import sys

import numpy as np
import pytest

import eagerlab
import eagerlab.nn as nn
import eagerlab.nn.functional as F
from eagerlab.errors import UnsupportedError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 3, stride=1)
        self.fc1, self.fc2 = nn.Linear(16 * 2 * 2, 32), nn.Linear(32, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.avg_pool2d(F.sigmoid(self.conv2(x)), 2)
        return F.log_softmax(self.fc2(F.tanh(self.fc1(x.flatten(1)))), dim=1)


class Mixer(nn.Module):
    """Embedding, permute, cat, split, mean and sum reductions, softmax, sub/div with Python numbers, one_hot."""

    def __init__(self):
        super().__init__()
        self.emb, self.proj = nn.Embedding(20, 8), nn.Linear(8, 8)

    def forward(self, tokens):
        h = self.emb(tokens)  # (N, T, 8)
        low, high = eagerlab.cat([h, self.proj(h)], dim=2).split([6, 10], dim=2)  # a 3-d linear; split
        h = eagerlab.cat([high, low], dim=2).permute(0, 2, 1)  # (N, 16, T)
        pooled = h.mean(dim=2) - 0.5
        counts = F.one_hot(tokens, 20).sum(dim=1)  # (N, 20) int64
        return F.softmax(pooled / 2.0, dim=1), h.sum(dim=(1, 2), keepdim=True), counts


def norm_model():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Dropout(0.3), nn.LayerNorm(8), nn.GELU(), nn.Linear(8, 4))
    model[1].running_mean.copy_(eagerlab.randn(8))
    model[1].running_var.copy_(eagerlab.rand(8) + 0.5)
    return model


def discriminator():
    """DCGAN's discriminator pattern (LeakyReLU(0.2, inplace=True) after each conv) and ELU; a negative slope too."""
    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True),
                         nn.Conv2d(8, 8, 3, padding=1), nn.ELU(0.5), nn.LeakyReLU(-0.3), nn.Flatten(),
                         nn.Linear(8 * 3 * 3, 1), nn.ELU(inplace=True))


def mlp():
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    try:
        from mnist_mlp import MLP
    finally:
        sys.path.pop(0)
    return MLP(8)


def _inputs(name, batch):
    if name == "mixer":
        return (eagerlab.randint(0, 20, (batch, 5)),)
    shapes = {"mlp": (1, 8, 8), "lenet": (1, 12, 12), "norm": (3, 6, 6), "discriminator": (3, 6, 6)}
    return (eagerlab.randn(batch, *shapes[name]),)


@pytest.mark.parametrize("name,make", [("mlp", mlp), ("lenet", LeNet), ("norm", norm_model), ("mixer", Mixer),
                                       ("discriminator", discriminator)])
def test_onnxruntime_matches_eagerlab(tmp_path, name, make):
    model = make().eval()
    path = str(tmp_path / f"{name}.onnx")
    proto = eagerlab.onnx.export(model, _inputs(name, 4), path)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    if name == "discriminator":  # ONNX's own activation nodes, with the slope and alpha as their attribute
        nodes = [n for n in proto.graph.node if n.op_type in ("LeakyRelu", "Elu")]
        alphas = [(n.op_type, round(onnx.helper.get_attribute_value(n.attribute[0]), 6)) for n in nodes]
        assert alphas == [("LeakyRelu", 0.2), ("Elu", 0.5), ("LeakyRelu", -0.3), ("Elu", 1.0)], alphas
    assert {i.name for i in proto.graph.initializer} >= {k for k in model.state_dict() if "num_batches" not in k}
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    for batch in (4, 3):  # the batch dimension is symbolic
        args = _inputs(name, batch)
        with eagerlab.no_grad():
            want = model(*args)
        want = [want] if isinstance(want, eagerlab.Tensor) else list(want)
        got = session.run(None, {i.name: a.numpy() for i, a in zip(session.get_inputs(), args)})
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == tuple(w.shape)
            np.testing.assert_allclose(g, w.numpy(), atol=1e-5, rtol=1e-5)


def test_names_and_fixed_batch(tmp_path):
    path = str(tmp_path / "l.onnx")
    proto = eagerlab.onnx.export(nn.Linear(3, 2), (eagerlab.randn(4, 3),), path, input_names=["features"],
                                 output_names=["logits"], dynamic_batch=False)
    assert [i.name for i in proto.graph.input] == ["features"] and [o.name for o in proto.graph.output] == ["logits"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 4
    with pytest.raises(ValueError, match="input_names must be 1 strings"):
        eagerlab.onnx.export(nn.Linear(3, 2), (eagerlab.randn(4, 3),), path, input_names=["a", "b"])


def test_unsupported_ops_are_named(tmp_path):
    with pytest.raises(UnsupportedError, match="op cumsum .*has no ONNX converter"):
        eagerlab.onnx.export(lambda x: x.cumsum(0), (eagerlab.randn(3),), str(tmp_path / "c.onnx"))
    with pytest.raises(UnsupportedError, match="op cond"):
        eagerlab.onnx.export(lambda x: eagerlab.cond(x.sum() > 0, lambda: x, lambda: -x), (eagerlab.randn(3),),
                             str(tmp_path / "c.onnx"))
    with pytest.raises(UnsupportedError, match="group_norm"):
        eagerlab.onnx.export(nn.GroupNorm(2, 4), (eagerlab.randn(2, 4, 3),), str(tmp_path / "g.onnx"))
    assert not os.path.exists(tmp_path / "c.onnx")
