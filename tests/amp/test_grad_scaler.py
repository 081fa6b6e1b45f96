"""GradScaler: PyTorch's scale sequence (backoff on inf/NaN, growth after growth_interval clean steps, skipped
steps), its state through eagerlab.save/load, and the disabled / no-CUDA cases."""
import math

import numpy as np
import pytest

import eagerlab as el
import eagerlab.nn.functional as F
from eagerlab.amp import GradScaler

_R = np.random.default_rng(1)
X, Y = _R.standard_normal((16, 6)).astype(np.float32), _R.integers(0, 3, 16)
W0, B0 = (_R.standard_normal((3, 6)) * 0.3).astype(np.float32), np.zeros(3, np.float32)
BAD_STEPS = {2: math.inf, 3: math.nan, 9: -math.inf}  # gradients poisoned on these steps


def _run(lib, fn, autocast, scaler, steps=14, start=0, params=None):
    """A float16-autocast training run; the weight gradient gets an inf/NaN on BAD_STEPS. Returns the scale after
    each update, which steps changed the weights, and the final weights."""
    w = lib.tensor(W0, requires_grad=True) if params is None else params[0]
    b = lib.tensor(B0, requires_grad=True) if params is None else params[1]
    opt = lib.optim.SGD([w, b], lr=0.1)
    scales, stepped = [], []
    for i in range(start, steps):
        opt.zero_grad()
        with autocast("cpu", dtype=lib.float16):
            loss = fn.cross_entropy(fn.linear(lib.tensor(X), w, b), lib.tensor(Y))
        scaler.scale(loss).backward()
        if i in BAD_STEPS:
            with lib.no_grad():
                w.grad[0, 0] = BAD_STEPS[i]
        before = w.detach().clone()
        scaler.step(opt)
        scaler.update()
        stepped.append(not bool((w.detach() == before).all()))
        scales.append(scaler.get_scale())
    return scales, stepped, (w, b)


def _ours(**kw):
    return _run(el, F, el.autocast, GradScaler("cpu", init_scale=2.0 ** 10, growth_interval=3, **kw))


def test_scale_sequence_and_skipped_steps():
    scales, stepped, _ = _ours()
    expected, scale, clean = [], 2.0 ** 10, 0
    for i in range(14):  # PyTorch's rule, written out
        if i in BAD_STEPS:
            scale, clean = scale * 0.5, 0
        else:
            clean += 1
            if clean == 3:
                scale, clean = scale * 2.0, 0
        expected.append(scale)
    assert scales == expected
    assert stepped == [i not in BAD_STEPS for i in range(14)]


@pytest.mark.torch
def test_same_scales_and_weights_as_torch():
    torch = pytest.importorskip("torch")
    ours = _ours()
    theirs = _run(torch, torch.nn.functional, torch.autocast,
                  torch.amp.GradScaler("cpu", init_scale=2.0 ** 10, growth_interval=3))
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1]
    for a, b in zip(ours[2], theirs[2]):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=2e-3, atol=2e-3)


def test_unscale_gives_the_true_gradients_and_guards_its_order():
    w = el.tensor(W0, requires_grad=True)
    opt = el.optim.SGD([w], lr=0.1)
    scaler = GradScaler("cpu", init_scale=256.0)
    scaler.scale((w * w).sum()).backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * W0 * 256, rtol=1e-6)
    scaler.unscale_(opt)
    np.testing.assert_allclose(w.grad.numpy(), 2 * W0, rtol=1e-6)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(opt)
    scaler.update()
    assert scaler.get_scale() == 256.0


def test_state_survives_save_and_load(tmp_path):
    scaler = GradScaler("cpu", init_scale=2.0 ** 10, growth_interval=3)
    first = _run(el, F, el.autocast, scaler, steps=8)
    el.save({"scaler": scaler.state_dict()}, tmp_path / "ckpt.el")
    state = el.load(tmp_path / "ckpt.el")["scaler"]
    assert state == {"scale": first[0][-1], "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 3,
                     "_growth_tracker": scaler.state_dict()["_growth_tracker"]}
    resumed = GradScaler("cpu")
    resumed.load_state_dict(state)
    rest = _run(el, F, el.autocast, resumed, steps=14, start=8, params=first[2])
    assert first[0] + rest[0] == _ours()[0]  # the resumed run continues the uninterrupted one's sequence


def test_disabled_scaler_is_a_no_op():
    scaler = GradScaler("cpu", enabled=False)
    loss = el.tensor(2.0)
    assert scaler.scale(loss) is loss and scaler.get_scale() == 1.0 and scaler.state_dict() == {}
    w = el.tensor([1.0], requires_grad=True)
    opt = el.optim.SGD([w], lr=1.0)
    (w * 3).sum().backward()
    scaler.step(opt)
    scaler.update()
    assert w.item() == -2.0


@pytest.mark.skipif(el.cuda.is_available(), reason="checks the no-CUDA fallback")
def test_cuda_scaler_without_cuda_warns_and_disables():
    with pytest.warns(UserWarning, match="CUDA is not available"):
        scaler = el.cuda.amp.GradScaler()
    assert not scaler.is_enabled()
    with pytest.warns(UserWarning, match="CUDA is not available"):
        assert not GradScaler(enabled=True).is_enabled()  # the default device is "cuda", as in PyTorch


def test_load_from_a_disabled_scalers_state_is_an_error():
    with pytest.raises(RuntimeError, match="empty"):
        GradScaler("cpu").load_state_dict(GradScaler("cpu", enabled=False).state_dict())


def test_a_compiled_step_with_a_scaler_equals_the_eager_one():
    """scale, unscale_, clipping, step and update inside @eagerlab.function: the finiteness check and the scale
    update run at their place in every run of the graph, so an inf batch is skipped there too."""
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((4, 6)).astype(np.float32) for _ in range(6)]
    xs[3][0, 0] = np.inf
    y = el.tensor(rng.integers(0, 3, 4))

    def make():
        el.manual_seed(0)
        model = el.nn.Sequential(el.nn.Linear(6, 8), el.nn.ReLU(), el.nn.Linear(8, 3))
        return model, el.optim.SGD(model.parameters(), lr=0.1), GradScaler("cpu", init_scale=1024.0,
                                                                           growth_interval=2)

    def step(model, opt, scaler, x):
        opt.zero_grad()
        with el.autocast("cpu", dtype=el.float16):
            loss = F.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        el.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
        return loss

    eager, compiled = make(), make()
    compiled_step = el.function(lambda x: step(*compiled, x))
    scales = []
    for x in xs:
        a, b = step(*eager, el.tensor(x)), compiled_step(el.tensor(x))
        assert a.item() == b.item() or math.isnan(a.item()) and math.isnan(b.item())
        assert eager[2].get_scale() == compiled[2].get_scale()
        scales.append(compiled[2].get_scale())
    assert scales == [1024.0, 2048.0, 2048.0, 1024.0, 1024.0, 2048.0]
    for p, q in zip(eager[0].parameters(), compiled[0].parameters()):
        assert (p == q).all()
