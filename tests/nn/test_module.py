"""nn.Module: registration, traversal, modes, state_dict, to(), hooks, repr and layer-path errors."""
import copy

import numpy as np
import pytest

import eagerlab as el
import eagerlab.nn as nn
import eagerlab.nn.functional as F
from eagerlab.errors import ShapeError


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(8, 3)
        self.register_buffer("steps", el.zeros((), dtype=el.int64))
        self.register_buffer("scratch", el.zeros(2), persistent=False)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def test_registration_and_traversal():
    m = MLP()
    assert [n for n, _ in m.named_parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [n for n, _ in m.named_buffers()] == ["steps", "scratch"]
    assert [n for n, _ in m.named_children()] == ["fc1", "act", "fc2"]
    assert [n for n, _ in m.named_modules()] == ["", "fc1", "act", "fc2"]
    assert len(list(m.parameters(recurse=False))) == 0
    assert all(p.requires_grad and isinstance(p, nn.Parameter) for p in m.parameters())
    assert m.fc1.weight.shape == (8, 4)
    del m.fc1
    assert "fc1" not in dict(m.named_children())


def test_shared_parameters_are_listed_once():
    m = nn.Module()
    m.a = nn.Linear(2, 2)
    m.b = nn.Linear(2, 2)
    m.b.weight = m.a.weight
    assert len(list(m.parameters())) == 3
    assert len(list(m.named_parameters(remove_duplicate=False))) == 4


def test_assignment_rules():
    m = nn.Module()
    m.w = nn.Parameter(el.ones(2))
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'w'"):
        m.w = el.ones(2)
    m.w = None
    assert m.w is None and "w" in m._parameters
    m.register_buffer("b", el.ones(1))
    m.b = el.zeros(1)
    assert m._buffers["b"].item() == 0
    with pytest.raises(KeyError, match="buffer name"):
        m.register_buffer("a.b", el.ones(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        class Bad(nn.Module):
            def __init__(self):
                self.fc = nn.Linear(1, 1)
        Bad()
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'nope'"):
        m.nope


def test_train_eval_zero_grad_requires_grad():
    m = MLP()
    m.eval()
    assert not m.training and not m.fc1.training
    m.train()
    assert m.fc2.training
    m(el.randn(5, 4)).sum().backward()
    assert m.fc1.weight.grad is not None
    m.zero_grad(set_to_none=False)
    assert float(m.fc1.weight.grad.abs().sum()) == 0
    m.zero_grad()
    assert m.fc1.weight.grad is None
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_state_dict_round_trip_and_errors():
    a, b = MLP(), MLP()
    sd = a.state_dict()
    # own entries first, as in PyTorch; the non-persistent "scratch" buffer is left out
    assert list(sd) == ["steps", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert not sd["fc1.weight"].requires_grad
    weight_b = b.fc1.weight
    b.load_state_dict(sd)
    assert b.fc1.weight is weight_b  # loaded in place: optimizers keep their references
    x = el.randn(3, 4)
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())
    bad = dict(sd)
    bad["fc1.weight"] = el.zeros(8, 5)
    del bad["fc2.bias"]
    bad["extra"] = el.zeros(1)
    with pytest.raises(RuntimeError) as info:
        b.load_state_dict(bad)
    msg = str(info.value)
    assert 'Missing key(s) in state_dict: "fc2.bias"' in msg and 'Unexpected key(s) in state_dict: "extra"' in msg
    assert "size mismatch for fc1.weight: copying a param with shape (8, 5) from checkpoint, the shape in current " \
           "model is (8, 4)" in msg
    del bad["fc1.weight"]
    result = b.load_state_dict(bad, strict=False)
    assert result.missing_keys == ["fc1.weight", "fc2.bias"] and result.unexpected_keys == ["extra"]


def test_the_pytorch_module_path_keeps_its_names():
    # PyTorch code imports these from torch.nn.modules.module (eagerlab.compat only renames the path); the method
    # bodies live in module_state.py, the names stay here
    from eagerlab.nn.modules.module import Module, _IncompatibleKeys

    assert Module is nn.Module
    result = MLP().load_state_dict(MLP().state_dict())
    assert type(result) is _IncompatibleKeys and result._fields == ("missing_keys", "unexpected_keys")
    assert result == ([], [])


def test_to_converts_in_place_and_keeps_integer_buffers():
    m = MLP()
    w = m.fc1.weight
    m.to(el.float64)
    assert m.fc1.weight is w and w.dtype is el.float64 and m.steps.dtype is el.int64
    m.float()
    assert w.dtype is el.float32
    with pytest.raises(TypeError, match="floating point"):
        m.to(el.int32)


def test_apply_and_hooks():
    m = MLP()
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "ReLU", "Linear", "MLP"]
    calls = []
    h1 = m.fc1.register_forward_pre_hook(lambda mod, args: calls.append("pre") or (args[0] * 0,))
    h2 = m.fc1.register_forward_hook(lambda mod, args, out: calls.append("post") or out * 0 + 1)
    out = m.fc1(el.randn(2, 4))
    assert calls == ["pre", "post"] and float(out.sum()) == 16
    h1.remove()
    h2.remove()
    m.fc1(el.randn(2, 4))
    assert calls == ["pre", "post"]


def test_repr_matches_pytorch_layout():
    m = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Dropout(0.1)))
    assert repr(m) == ("Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n  (1): ReLU()\n"
                       "  (2): Sequential(\n    (0): Dropout(p=0.1, inplace=False)\n  )\n)")
    torch = pytest.importorskip("torch")
    tm = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Sequential(torch.nn.Dropout(0.1)))
    assert repr(m) == repr(tm)


def test_layer_errors_name_the_layer_path():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(128, 10))
    with pytest.raises(ShapeError, match=r"^3 \(Linear 128->10\) expected input \(\.\.\., 128\), got \(32, 256\)$"):
        model(el.randn(32, 28, 28))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = model

        def forward(self, x):
            return self.body(x)

    with pytest.raises(ShapeError, match=r"^body\.3 \(Linear 128->10\) expected"):
        Net()(el.randn(32, 784))
    with pytest.raises(ShapeError, match=r"^Linear 4->8: expected input \(\.\.\., 4\), got \(2, 5\)"):
        nn.Linear(4, 8)(el.randn(2, 5))


def test_deepcopy_copies_weights():
    m = MLP()
    c = copy.deepcopy(m)
    assert c.fc1.weight is not m.fc1.weight
    assert type(c.fc1.weight) is nn.Parameter and c.fc1.weight.requires_grad  # still a parameter, as in PyTorch
    np.testing.assert_array_equal(c.fc1.weight.detach().numpy(), m.fc1.weight.detach().numpy())
    with el.no_grad():
        c.fc1.weight.add_(1)
    assert not np.array_equal(c.fc1.weight.detach().numpy(), m.fc1.weight.detach().numpy())


def test_functional_relu_inplace_and_parameter_repr():
    x = el.tensor([-1.0, 2.0])
    assert F.relu(x, inplace=True) is x and x.tolist() == [0.0, 2.0]
    p = nn.Parameter(el.ones(2))
    assert repr(p).startswith("Parameter containing:\ntensor([1., 1.], requires_grad=True)")
    assert type(p * 2) is el.Tensor
