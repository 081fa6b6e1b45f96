"""The Optimizer base without PyTorch: parameter groups and their errors, zero_grad, closures, hooks, state dicts
(layout, bit-exact resume, load errors), gradient checks, and every optimizer's argument validation."""
import copy

import numpy as np
import pytest

import eagerlab as el
from eagerlab import optim
from eagerlab.errors import DeviceError, DTypeError, ShapeError, UnsupportedError
from eagerlab.optim.optimizer import Optimizer, required

ALL = [(optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)), (optim.Adam, dict(lr=0.01)),
       (optim.Adam, dict(lr=0.01, amsgrad=True)), (optim.AdamW, dict(lr=0.01)),
       (optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.5)), (optim.Adagrad, dict(lr=0.1, lr_decay=0.01)),
       (optim.Adadelta, dict())]
IDS = [f"{cls.__name__}-{i}" for i, (cls, _) in enumerate(ALL)]


def _model(seed=0):
    rng = np.random.default_rng(seed)
    w = el.tensor(rng.standard_normal((5, 3)).astype(np.float32), requires_grad=True)
    b = el.tensor(np.zeros(3, np.float32), requires_grad=True)
    return [w, b]


def _train(opt, params, steps, start=0):
    """A least-squares fit with real autograd: batch k is a function of k only, so runs can be split anywhere."""
    w, b = params
    for k in range(start, start + steps):
        rng = np.random.default_rng(100 + k)
        x, y = el.tensor(rng.standard_normal((8, 5)).astype(np.float32)), el.tensor(rng.standard_normal((8, 3)))
        opt.zero_grad()
        loss = ((x @ w + b - y.float()) ** 2).mean()
        loss.backward()
        opt.step()


# ---- resume -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,kw", ALL, ids=IDS)
def test_resume_from_state_dict_is_bit_exact(cls, kw):
    full = _model()
    opt = cls(full, **kw)
    _train(opt, full, 7)

    first = _model()
    opt1 = cls(first, **kw)
    _train(opt1, first, 3)
    saved = copy.deepcopy(opt1.state_dict())  # what a checkpoint holds
    resumed = [el.tensor(p.detach().numpy().copy(), requires_grad=True) for p in first]
    opt2 = cls(resumed, **kw)
    opt2.load_state_dict(saved)
    _train(opt2, resumed, 4, start=3)
    for a, b in zip(full, resumed):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_state_dict_layout():
    params = _model()
    opt = optim.Adam([{"params": params[:1]}, {"params": params[1:], "lr": 0.1}])
    _train(opt, params, 2)
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.1 and "params" not in opt.defaults
    assert sorted(sd["state"]) == [0, 1]
    st = sd["state"][0]
    assert sorted(st) == ["exp_avg", "exp_avg_sq", "step"]
    assert st["step"].shape == () and st["step"].dtype == el.float32 and st["step"].item() == 2.0
    assert st["exp_avg"].shape == params[0].shape


def test_load_copies_state_and_casts_to_the_parameter():
    src = [el.zeros(3, dtype=el.float64, requires_grad=True)]
    src[0].grad = el.ones(3, dtype=el.float64)
    opt = optim.SGD(src, lr=0.1, momentum=0.9)
    opt.step()
    dst = [el.zeros(3, requires_grad=True)]
    opt2 = optim.SGD(dst, lr=0.5, momentum=0.9)
    opt2.load_state_dict(opt.state_dict())
    buf = opt2.state[dst[0]]["momentum_buffer"]
    assert buf.dtype == el.float32
    assert opt2.param_groups[0]["lr"] == 0.1 and opt2.param_groups[0]["params"][0] is dst[0]
    opt.state[src[0]]["momentum_buffer"]._data[:] = 7  # no aliasing with the source optimizer
    assert buf.numpy().tolist() == [1.0, 1.0, 1.0]


def test_load_accepts_string_keys_and_number_steps():
    """JSON-based checkpoint metadata turns integer keys into strings; old checkpoints store the step as a number."""
    p = el.zeros(2, requires_grad=True)
    opt = optim.Adam([p])
    sd = {"state": {"0": {"step": 3, "exp_avg": el.ones(2), "exp_avg_sq": el.ones(2)}},
          "param_groups": opt.state_dict()["param_groups"]}
    opt.load_state_dict(sd)
    assert opt.state[p]["step"].item() == 3.0 and opt.state[p]["step"].dtype == el.float32


def test_load_errors_name_the_mismatch():
    a, b = el.zeros(2, requires_grad=True), el.zeros(3, requires_grad=True)
    opt = optim.SGD([a, b], momentum=0.9)
    sd = optim.SGD([{"params": [a]}, {"params": [b]}]).state_dict()
    with pytest.raises(ValueError, match="2 parameter groups, but this optimizer has 1"):
        opt.load_state_dict(sd)
    sd = optim.SGD([a]).state_dict()
    with pytest.raises(ValueError, match="group 0 has 1 parameters in the state dict and 2 in the optimizer"):
        opt.load_state_dict(sd)
    sd = opt.state_dict()
    sd["state"] = {1: {"momentum_buffer": el.zeros(4)}}
    with pytest.raises(ShapeError, match=r"state\[1\]\['momentum_buffer'\] has shape \(4,\) but parameter 1 has "
                                         r"shape \(3,\)"):
        opt.load_state_dict(sd)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})


# ---- groups -------------------------------------------------------------------------------------------------------
def test_param_groups_get_defaults_and_keep_their_options():
    a, b = _model()
    opt = optim.SGD([{"params": a}, {"params": [b], "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert opt.param_groups[0]["params"] == [a] and opt.param_groups[0]["lr"] == 0.1
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["momentum"] == 0.9
    assert opt.param_groups[1]["nesterov"] is False
    c = el.zeros(4, requires_grad=True)
    opt.add_param_group({"params": [c], "lr": 1.0})
    assert opt.param_groups[2]["momentum"] == 0
    assert "Parameter Group 2" in repr(opt) and "lr: 1.0" in repr(opt)


def test_named_parameters():
    a, b = _model()
    opt = optim.Adam([("w", a), ("b", b)])
    assert opt.param_groups[0]["param_names"] == ["w", "b"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]
    with pytest.raises(ValueError, match="with/without names"):
        optim.Adam([("w", a), b])
    with pytest.raises(ValueError, match="with/without names"):
        opt.add_param_group({"params": [el.zeros(1, requires_grad=True)]})


def test_group_errors():
    a, b = _model()
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(a)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([])
    for params in ({a}, [{"params": {a}}]):
        with pytest.raises(TypeError, match="ordered collections"):
            optim.SGD(params)
    with pytest.raises(TypeError, match="parameter 1 of group 0 is a list"):
        optim.SGD([a, [b]])
    with pytest.raises(ValueError, match=r"non-leaf Tensor: parameter 1 of group 0 \(shape \(5, 3\)\)"):
        optim.SGD([b, a * 2])
    with pytest.raises(DTypeError, match="parameter 0 of group 1 has dtype eagerlab.int64"):
        optim.SGD([{"params": [a]}, {"params": [el.arange(3)]}])
    with pytest.raises(ValueError, match="parameter 0 .* of group 1 is already in group 0"):
        optim.SGD([{"params": [a, b]}, {"params": [b]}])
    opt = optim.SGD([a])
    with pytest.raises(ValueError, match="already in group 0"):
        opt.add_param_group({"params": a})
    with pytest.raises(ValueError, match="group 1 has no 'params' key"):
        opt.add_param_group({"lr": 0.1})
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([a, a])


def test_required_option_must_be_given_per_group():
    class Custom(Optimizer):
        def __init__(self, params, lr=required):
            super().__init__(params, dict(lr=lr))

        def step(self, closure=None):
            return self._closure_loss(closure)

    a, b = _model()
    Custom([a], lr=0.1)
    with pytest.raises(ValueError, match="parameter group 1 didn't specify a value of required optimization "
                                         "parameter lr"):
        Custom([{"params": [a], "lr": 0.1}, {"params": [b]}])


@pytest.mark.parametrize("cls,kw,match", [
    (optim.SGD, dict(lr=-1), "Invalid learning rate: -1"), (optim.SGD, dict(momentum=-0.1), "momentum"),
    (optim.SGD, dict(weight_decay=-1), "weight_decay"), (optim.SGD, dict(nesterov=True), "Nesterov"),
    (optim.Adam, dict(betas=(1.0, 0.9)), "beta parameter at index 0: 1.0"), (optim.Adam, dict(eps=-1), "epsilon"),
    (optim.AdamW, dict(lr=-0.1), "learning rate"), (optim.RMSprop, dict(alpha=-1), "alpha"),
    (optim.Adagrad, dict(lr_decay=-1), "lr_decay"), (optim.Adagrad, dict(initial_accumulator_value=-1), "initial"),
    (optim.Adadelta, dict(rho=1.5), "rho value: 1.5"),
])
def test_invalid_hyperparameters(cls, kw, match):
    with pytest.raises(ValueError, match=match):
        cls(_model(), **kw)


def test_unsupported_flags_say_so():
    with pytest.raises(UnsupportedError, match="differentiable=True"):
        optim.SGD(_model(), differentiable=True)
    with pytest.raises(UnsupportedError, match="capturable=True"):
        optim.Adam(_model(), capturable=True)
    optim.Adam(_model(), foreach=True, fused=True)  # one vectorised implementation serves both


# ---- step ---------------------------------------------------------------------------------------------------------
def test_zero_grad():
    params = _model()
    opt = optim.SGD(params)
    _train(opt, params, 1)
    g = params[0].grad
    opt.zero_grad(set_to_none=False)
    assert params[0].grad is g and not g.numpy().any()
    opt.zero_grad()
    assert params[0].grad is None and params[1].grad is None


def test_closure_runs_with_grad_enabled_and_its_loss_is_returned():
    params = _model()
    opt = optim.SGD(params, lr=0.1)
    before = params[0].detach().numpy().copy()

    def closure():
        opt.zero_grad()
        loss = (params[0] ** 2).sum() + params[1].sum()
        loss.backward()
        return loss

    with el.no_grad():
        loss = opt.step(closure)
    assert isinstance(loss, el.Tensor) and loss.item() == pytest.approx(float((before ** 2).sum()))
    np.testing.assert_allclose(params[0].detach().numpy(), before * 0.8, rtol=1e-6)


@pytest.mark.parametrize("cls,kw", ALL, ids=IDS)
def test_none_grads_are_skipped_and_0d_params_work(cls, kw):
    a, s = el.ones(3, requires_grad=True), el.tensor(2.0, requires_grad=True)
    opt = cls([a, s], **kw)
    s.grad = el.tensor(0.5)
    opt.step()
    opt.step()
    assert a.numpy(force=True).tolist() == [1.0, 1.0, 1.0]
    assert s.shape == () and s.item() != 2.0
    assert all(v.shape == () for v in opt.state[s].values())
    assert (a not in opt.state) or cls is optim.Adagrad  # Adagrad creates its state up front, like PyTorch


def test_step_bumps_the_parameter_version():
    """The update is in place: a graph that saved the old value must refuse to backpropagate."""
    p = el.ones(3, requires_grad=True)
    y = (p * p).sum()
    p.grad = el.ones(3)
    optim.SGD([p], lr=0.1).step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_bad_gradients_name_the_parameter():
    a, b = _model()
    opt = optim.Adam([{"params": [a]}, {"params": [b]}])
    b.grad = el.zeros(4)
    with pytest.raises(ShapeError, match=r"Adam.step: parameter 0 of group 1 has shape \(3,\) but its grad has "
                                         r"shape \(4,\)"):
        opt.step()
    b.grad = el.zeros(3, dtype=el.float64)
    with pytest.raises(DTypeError, match="has dtype eagerlab.float32 but its grad has dtype eagerlab.float64"):
        opt.step()
    b.grad = el.Tensor._make(np.zeros(3, np.float32), el.device("cuda"))  # only the label: checked before use
    with pytest.raises(DeviceError, match="is on cpu but its grad is on cuda:0"):
        opt.step()


def test_adagrad_initializes_groups_added_later():
    a, b = _model()
    opt = optim.Adagrad([a], initial_accumulator_value=0.5)
    assert opt.state[a]["sum"].numpy().min() == 0.5
    opt.add_param_group({"params": [b], "initial_accumulator_value": 0.25})
    b.grad = el.ones(3)
    opt.step()
    assert opt.state[b]["sum"].numpy().tolist() == [1.25] * 3 and opt.state[b]["step"].item() == 1.0


@pytest.mark.parametrize("cls,kw", ALL, ids=IDS)
def test_step_hooks_wrap_every_optimizers_step_and_the_closure_loss_comes_back(cls, kw):
    params = _model()
    opt = cls(params, **kw)
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", o is opt)))
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", args, kwargs)))
    opt.step()
    assert calls == [("pre", True), ("post", (), {})]
    h1.remove()
    calls.clear()
    opt.step(closure=None)
    assert calls == [("post", (), {"closure": None})]
    loss = el.tensor(3.0)
    assert opt.step(lambda: loss) is loss
    opt.register_step_pre_hook(lambda o, args, kwargs: "bad")
    with pytest.raises(RuntimeError, match="must return None or a tuple"):
        opt.step()


def test_hooks_fire_once_when_a_subclass_calls_super_step():
    class Logged(optim.SGD):
        def step(self, closure=None):
            return super().step(closure)

    opt = Logged(_model())
    calls = []
    opt.register_step_post_hook(lambda *a: calls.append(1))
    opt.step()
    assert calls == [1]


@pytest.mark.gpu
@pytest.mark.parametrize("cls,kw", ALL, ids=IDS)
def test_gpu_matches_cpu(cls, kw):
    cpu, gpu = _model(), [p.detach().to("cuda").requires_grad_() for p in _model()]
    o1, o2 = cls(cpu, **kw), cls(gpu, **kw)
    rng = np.random.default_rng(3)
    for _ in range(5):
        for p, q in zip(cpu, gpu):
            g = rng.standard_normal(p.shape).astype(np.float32)
            p.grad, q.grad = el.tensor(g), el.tensor(g).to("cuda")
        o1.step()
        o2.step()
    for p, q in zip(cpu, gpu):
        np.testing.assert_allclose(q.detach().cpu().numpy(), p.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert all(v.device.type == "cuda" for k, v in o2.state[gpu[0]].items() if k != "step")
