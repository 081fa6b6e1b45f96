"""Every optimizer inside @eagerlab.function: a compiled training step runs the optimizer's own `_update` (not the
eager step) and gives eager's bits, in the weights and in the optimizer state, step after step; step hooks
registered after tracing still run."""
import inspect

import numpy as np
import pytest

import eagerlab
import eagerlab.nn as nn
import eagerlab.nn.functional as F
import eagerlab.optim as optim

CASES = [
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1)),
    (optim.SGD, dict(lr=0.1, weight_decay=0.01, maximize=True)),
    (optim.Adam, dict(lr=1e-2)),
    (optim.Adam, dict(lr=1e-2, amsgrad=True, maximize=True, weight_decay=0.01)),
    (optim.AdamW, dict(lr=1e-2, weight_decay=0.1)),
    (optim.Adadelta, dict()),
    (optim.Adadelta, dict(lr=0.5, rho=0.5, weight_decay=0.1, maximize=True)),
    (optim.RMSprop, dict(lr=1e-2)),
    (optim.RMSprop, dict(lr=1e-2, momentum=0.9)),
    (optim.RMSprop, dict(lr=1e-2, centered=True)),
    (optim.RMSprop, dict(lr=1e-2, alpha=0.3, centered=True, momentum=0.5, weight_decay=0.1, maximize=True)),
    (optim.Adagrad, dict(lr=0.1)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.1, weight_decay=0.1, maximize=True)),
]
IDS = [f"{cls.__name__}-{'-'.join(kw) or 'default'}" for cls, kw in CASES]


class _Net(nn.Module):
    """An MLP with a 0-d temperature: the optimizers view 0-d arrays as 1-element ones, scratch arrays included."""

    def __init__(self):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 3))
        self.temperature = nn.Parameter(eagerlab.tensor(np.float32(1.5)))

    def forward(self, x):
        return self.mlp(x) * self.temperature


def _mlp_step(opt_cls, **kw):
    """(model, optimizer, training step) of a fresh seeded _Net."""
    eagerlab.manual_seed(0)
    model = _Net()
    opt = opt_cls(model.parameters(), **kw)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return model, opt, step


def _spy_on_update(opt):
    """The `pool` of each `_update` call: None from the eager step, the compiled step's kept scratch dict."""
    pools, update = [], opt._update

    def spy(pool):
        pools.append(pool)
        update(pool)

    opt._update = spy
    return pools


def _batch(i):
    rng = np.random.default_rng(i)
    return eagerlab.tensor(rng.standard_normal((8, 12)).astype(np.float32)), eagerlab.tensor(rng.integers(0, 3, 8))


def _state_arrays(opt, model):
    return [(name, key, v.numpy()) for name, p in model.named_parameters() for key, v in opt.state[p].items()]


@pytest.mark.parametrize("cls,kw", CASES, ids=IDS)
def test_compiled_step_runs_update_and_matches_eager_bits(cls, kw):
    eager_model, eager_opt, eager_step = _mlp_step(cls, **kw)
    model, opt, step = _mlp_step(cls, **kw)
    pools = _spy_on_update(opt)
    compiled = eagerlab.function(step)
    for i in range(5):
        x, y = _batch(i)
        assert eager_step(x, y).item() == compiled(x, y).item(), f"loss of step {i}"
    assert compiled.trace_count == 1
    for (name, pe), pc in zip(eager_model.named_parameters(), model.parameters()):
        assert pe.detach().numpy().tobytes() == pc.detach().numpy().tobytes(), name
    eager_state, state = _state_arrays(eager_opt, eager_model), _state_arrays(opt, model)
    assert [s[:2] for s in state] == [s[:2] for s in eager_state]
    for (name, key, want), (_, _, got) in zip(eager_state, state):
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes(), (name, key)
    # the graph's runs call _update with the one scratch pool they keep (the eager step would pass None)
    runs = [pool for pool in pools if pool is not None]
    assert len(runs) >= 4 and all(pool is runs[0] for pool in runs) and runs[0], pools


CLOSURE_DRIVEN = {optim.LBFGS}  # they re-evaluate the model through a closure: not compiled (see below)


def test_every_optimizer_is_covered():
    """A new optimizer joins CASES, so that its compiled step is checked too."""
    exported = {obj for obj in vars(optim).values() if inspect.isclass(obj) and issubclass(obj, optim.Optimizer)}
    assert exported - {optim.Optimizer} - CLOSURE_DRIVEN == {cls for cls, _ in CASES}


def test_a_closure_driven_optimizer_refuses_to_compile_with_a_clear_error():
    model = nn.Linear(3, 1)
    opt = optim.LBFGS(model.parameters())
    x = eagerlab.randn(4, 3)

    def closure():
        opt.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        return loss

    @eagerlab.function
    def step():
        return opt.step(closure)

    with pytest.raises(eagerlab.errors.TracingError, match=r"LBFGS\.step\(closure\) inside eagerlab\.function"):
        step()
    opt.step(closure)  # eagerly it runs


def test_compiled_step_runs_hooks_registered_after_tracing():
    _, opt, step = _mlp_step(optim.Adam, lr=1e-2)
    compiled = eagerlab.function(step)
    x, y = _batch(0)
    compiled(x, y)
    calls = []
    opt.register_step_post_hook(lambda *a: calls.append(1))
    compiled(x, y)
    assert calls == [1]
