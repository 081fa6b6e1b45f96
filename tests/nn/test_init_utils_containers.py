"""nn.init statistics and fan rules, nn.utils against PyTorch, containers."""
import math
from collections import OrderedDict

import numpy as np
import pytest

import eagerlab as el
import eagerlab.nn as nn
from eagerlab.errors import ShapeError


def test_fan_and_gain_match_torch():
    torch = pytest.importorskip("torch")
    for shape in [(3, 4), (8, 3, 5, 5), (2, 6, 7)]:
        ours = nn.init._calculate_fan_in_and_fan_out(el.empty(shape))
        assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    for name, param in [("relu", None), ("tanh", None), ("leaky_relu", 0.2), ("linear", None), ("selu", None)]:
        assert nn.init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))
    with pytest.raises(ShapeError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(el.empty(3))


@pytest.mark.parametrize("fn,kwargs,std", [
    ("xavier_uniform_", {}, math.sqrt(2 / (400 + 300))), ("xavier_normal_", {"gain": 2.0}, 2 * math.sqrt(2 / 700)),
    ("kaiming_uniform_", {"nonlinearity": "relu"}, math.sqrt(2 / 400)),
    ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(2 / 300)),
    ("normal_", {"std": 0.3}, 0.3), ("uniform_", {"a": -1, "b": 1}, 1 / math.sqrt(3)),
    ("trunc_normal_", {"std": 1.0}, 0.8796)])  # N(0, 1) truncated to [-2, 2] has std 0.8796
def test_init_statistics(fn, kwargs, std):
    w = el.empty(300, 400)
    out = getattr(nn.init, fn)(w, **kwargs)
    assert out is w
    assert w.numpy().std() == pytest.approx(std, rel=0.03)
    if fn == "trunc_normal_":
        assert np.abs(w.numpy()).max() <= 2


def test_orthogonal_constant_eye_and_no_grad():
    w = el.empty(4, 6, requires_grad=True)
    nn.init.orthogonal_(w, gain=2.0)
    np.testing.assert_allclose(w.detach().numpy() @ w.detach().numpy().T, 4 * np.eye(4), atol=1e-5)
    assert w.requires_grad and w.grad_fn is None
    nn.init.constant_(w, 0.5)
    assert (w.detach().numpy() == 0.5).all()
    nn.init.eye_(w)
    np.testing.assert_array_equal(w.detach().numpy(), np.eye(4, 6))
    el.manual_seed(3)
    a = nn.init.normal_(el.empty(5)).numpy().copy()
    el.manual_seed(3)
    np.testing.assert_array_equal(nn.init.normal_(el.empty(5)).numpy(), a)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_matches_torch(norm_type):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (5,)]]
    ours = [el.zeros(g.shape, requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for p, t, g in zip(ours, theirs, grads):
        p.grad, t.grad = el.tensor(g), torch.tensor(g)
    total = nn.utils.clip_grad_norm_(ours, 1.5, norm_type)
    want = torch.nn.utils.clip_grad_norm_(theirs, 1.5, norm_type)
    assert total.item() == pytest.approx(want.item(), rel=1e-6)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-6)


def test_clip_grad_value_and_vector_round_trip():
    p = el.zeros(3, requires_grad=True)
    p.grad = el.tensor([-3.0, 0.5, 9.0])
    nn.utils.clip_grad_value_([p], 1.0)
    assert p.grad.tolist() == [-1.0, 0.5, 1.0]
    m = nn.Linear(3, 2)
    vec = nn.utils.parameters_to_vector(m.parameters())
    assert vec.shape == (8,)
    nn.utils.vector_to_parameters(vec * 0 + 1, m.parameters())
    assert m.weight.detach().numpy().sum() == 6 and m.bias.detach().numpy().sum() == 2
    with pytest.raises(ShapeError, match="expected a vector of 8 elements"):
        nn.utils.vector_to_parameters(el.zeros(7), m.parameters())


def test_sequential_indexing_and_editing():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    s = nn.Sequential(a, b, c)
    assert s[0] is a and s[-1] is c and len(s) == 3 and list(s) == [a, b, c]
    assert isinstance(s[1:], nn.Sequential) and list(s[1:]) == [b, c]
    assert s(el.ones(4, 2)).shape == (4, 1)
    s.append(nn.Sigmoid())
    del s[1]
    assert [type(m).__name__ for m in s] == ["Linear", "Linear", "Sigmoid"] and list(s._modules) == ["0", "1", "2"]
    s.insert(1, nn.Tanh())
    assert type(s[1]).__name__ == "Tanh"
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert [n for n, _ in named.named_children()] == ["fc", "act"] and named.fc is named[0]
    with pytest.raises(IndexError, match="index 5 is out of range"):
        s[5]


def test_module_list_dict_and_parameter_containers():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    layers.append(nn.Linear(2, 1))
    holder = nn.Module()
    holder.layers = layers
    holder.heads = nn.ModuleDict({"a": nn.Linear(2, 1)})
    holder.extra = nn.ParameterList([el.ones(2), nn.Parameter(el.zeros(1))])
    holder.table = nn.ParameterDict({"w": el.ones(3)})
    names = [n for n, _ in holder.named_parameters()]
    assert names[:2] == ["layers.0.weight", "layers.0.bias"] and "heads.a.weight" in names
    assert "extra.0" in names and "extra.1" in names and "table.w" in names
    assert all(isinstance(p, nn.Parameter) for p in holder.extra)
    assert "a" in holder.heads and len(holder.heads) == 1 and list(holder.heads.keys()) == ["a"]
    with pytest.raises(NotImplementedError, match="container"):
        layers(el.ones(2))
