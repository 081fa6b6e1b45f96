"""Every optimizer and option against torch.optim on the same parameters and gradients, step by step: values
(float32 within ~1e-6: PyTorch's CPU kernels fuse a*b+c, numpy rounds twice; float64 to 1e-12, which pins the
formulas), state dict layout and contents, None gradients skipped, groups with their own options."""
import numpy as np
import pytest

import eagerlab as el
from eagerlab import optim

torch = pytest.importorskip("torch")

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05)),
    ("SGD", dict(lr=0.1, weight_decay=0.05, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.4))),  # lerp's other branch (weight >= 0.5)
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, maximize=True)),
    ("RMSprop", dict(lr=0.01, alpha=0.3, centered=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.1)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, eps=1e-6, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.5, eps=1e-5, weight_decay=0.1)),
    ("Adadelta", dict(lr=0.5, maximize=True)),
]
SHAPES = [(6, 4), (4,), (3,), ()]
STEPS = 20
TOL = {np.float32: 1e-6, np.float64: 1e-12}


def _close(ours, theirs, dtype, what):
    """Within TOL relative to each element, or to the tensor's scale (values that cancel towards 0)."""
    a, b = ours.detach().numpy(), theirs.detach().numpy()
    tol = TOL[dtype]
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, float(np.abs(b).max(initial=0))), err_msg=what)


def _grad(k, i):
    """None for some (step, param) pairs: param 1 gets its first gradient at step 2, param 2 misses every third."""
    return (i == 1 and k < 2) or (i == 2 and k % 3 == 0)


def _pair(name, kw, dtype, groups=None):
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    ours = [el.tensor(a.copy(), requires_grad=True) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    if groups:
        ours, theirs = [groups(ours), groups(theirs)]
    return getattr(optim, name)(ours, **kw), getattr(torch.optim, name)(theirs, **kw)


def _params(opt):
    return [p for g in opt.param_groups for p in g["params"]]


def _run(ours, theirs, dtype, steps=STEPS):
    rng = np.random.default_rng(1)
    for k in range(steps):
        for i, (p, q) in enumerate(zip(_params(ours), _params(theirs))):
            g = rng.standard_normal(p.shape).astype(dtype)
            p.grad, q.grad = (None, None) if _grad(k, i) else (el.tensor(g), torch.tensor(g))
        ours.step()
        theirs.step()
        for p, q in zip(_params(ours), _params(theirs)):
            _close(p, q, dtype, f"step {k}")


def _compare_state(ours, theirs, dtype):
    a, b = ours.state_dict(), theirs.state_dict()
    assert a["param_groups"] == b["param_groups"]
    assert a["state"].keys() == b["state"].keys()
    for i, st in a["state"].items():
        assert st.keys() == b["state"][i].keys(), i
        for key, v in st.items():
            w = b["state"][i][key]
            assert v.dtype.name == str(w.dtype).replace("torch.", ""), (i, key)
            _close(v, w, dtype, f"state[{i}][{key!r}]")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{'-'.join(kw) or 'default'}" for n, kw in CASES])
def test_matches_torch_step_for_step(name, kw, dtype):
    ours, theirs = _pair(name, kw, dtype)
    _run(ours, theirs, dtype)
    _compare_state(ours, theirs, dtype)


@pytest.mark.parametrize("name,extra", [("SGD", dict(momentum=0.5, nesterov=True)), ("Adam", dict(betas=(0.5, 0.9))),
                                        ("RMSprop", dict(centered=True)), ("Adagrad", dict(lr_decay=0.1)),
                                        ("Adadelta", dict(rho=0.5))])
def test_param_groups_with_their_own_options(name, extra):
    def groups(ps):
        return [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.05, "weight_decay": 0.1, **extra}]

    ours, theirs = _pair(name, dict(lr=0.01), np.float64, groups)
    _run(ours, theirs, np.float64)
    _compare_state(ours, theirs, np.float64)


def test_defaults_and_group_keys_match_torch():
    p, q = el.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta"):
        ours, theirs = getattr(optim, name)([p]), getattr(torch.optim, name)([q])
        assert ours.defaults == theirs.defaults, name
        assert ours.state_dict() .keys() == theirs.state_dict().keys()
        assert ours.state_dict()["param_groups"] == theirs.state_dict()["param_groups"], name


def test_scheduled_lr_and_momentum_are_read_each_step():
    """OneCycleLR rewrites lr and Adam's beta1 every step: the update must use the new values."""
    ours, theirs = _pair("Adam", dict(lr=0.01), np.float64)
    s1 = optim.lr_scheduler.OneCycleLR(ours, max_lr=0.1, total_steps=STEPS)
    s2 = torch.optim.lr_scheduler.OneCycleLR(theirs, max_lr=0.1, total_steps=STEPS)
    rng = np.random.default_rng(2)
    for _ in range(STEPS):
        for p, q in zip(_params(ours), _params(theirs)):
            g = rng.standard_normal(p.shape)
            p.grad, q.grad = el.tensor(g), torch.tensor(g)
        ours.step()
        theirs.step()
        s1.step()
        s2.step()
    for p, q in zip(_params(ours), _params(theirs)):
        _close(p, q, np.float64, "after OneCycleLR")
