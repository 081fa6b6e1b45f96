"""Schedulers without PyTorch: hand-checked sequences, warnings, state dicts (a resumed schedule continues the
same), and argument errors."""
import copy
import math
import warnings

import pytest

import eagerlab as el
from eagerlab import optim
from eagerlab.optim import lr_scheduler as S


def _opt(lr=0.1, **kw):
    return optim.SGD([el.zeros(1, requires_grad=True)], lr=lr, momentum=0.9, **kw)


def _lrs(opt, sched, n):
    out = []
    for _ in range(n):
        opt.step()
        sched.step()
        out.append(sched.get_last_lr()[0])
    return out


def test_step_lr_by_hand():
    opt = _opt(1.0)
    sched = S.StepLR(opt, step_size=2, gamma=0.5)
    assert sched.get_last_lr() == [1.0] and opt.param_groups[0]["initial_lr"] == 1.0
    assert _lrs(opt, sched, 6) == [1.0, 0.5, 0.5, 0.25, 0.25, 0.125]


def test_cosine_by_hand():
    opt = _opt(1.0)
    lrs = _lrs(opt, S.CosineAnnealingLR(opt, T_max=4), 4)
    assert lrs == pytest.approx([(1 + math.cos(math.pi * k / 4)) / 2 for k in range(1, 5)], abs=1e-15)


def test_warm_restarts_by_hand():
    opt = _opt(1.0)
    lrs = _lrs(opt, S.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2), 6)
    # T_cur runs 1 | 0 1 2 3 | 0 over periods of 2 then 4
    assert lrs == pytest.approx([0.5, 1.0, (1 + math.cos(math.pi / 4)) / 2, 0.5, (1 + math.cos(3 * math.pi / 4)) / 2,
                                 1.0])


def test_plateau_by_hand():
    opt = _opt(1.0)
    sched = S.ReduceLROnPlateau(opt, patience=1, factor=0.5, min_lr=0.2)
    for m in [1.0, 1.0, 1.0, 0.5, 0.6, 0.7, 0.8, 0.9]:
        sched.step(m)
    # bad epochs: 1, 2 -> 0.5; then 0.5 improves; 1, 2 -> 0.25; 1, 2 -> 0.2 (min_lr)
    assert sched.get_last_lr() == [0.2]


def test_warnings():
    opt = _opt()
    sched = S.StepLR(opt, step_size=1)
    with pytest.warns(UserWarning, match=r"`lr_scheduler.step\(\)` before `optimizer.step\(\)`"):
        sched.step()
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()
    with pytest.warns(UserWarning, match="epoch parameter"):
        sched.step(3)


@pytest.mark.parametrize("build", [
    lambda o: S.StepLR(o, step_size=3), lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=20),
    lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2),
    lambda o: S.SequentialLR(o, [S.LinearLR(o, total_iters=3), S.ExponentialLR(o, gamma=0.9)], milestones=[4]),
    lambda o: S.ChainedScheduler([S.ConstantLR(o, total_iters=3), S.ExponentialLR(o, gamma=0.9)]),
    lambda o: S.LambdaLR(o, _Scale(0.9)),
], ids=["StepLR", "OneCycleLR", "WarmRestarts", "SequentialLR", "ChainedScheduler", "LambdaLR-callable"])
def test_state_dict_resume(build):
    opt = _opt()
    full = _lrs(opt, build(opt), 12)

    opt1 = _opt()
    sched1 = build(opt1)
    head = _lrs(opt1, sched1, 5)
    opt_sd, sched_sd = copy.deepcopy(opt1.state_dict()), copy.deepcopy(sched1.state_dict())
    opt2 = _opt()
    sched2 = build(opt2)  # build the scheduler first, then load: construction writes the lrs
    opt2.load_state_dict(opt_sd)
    sched2.load_state_dict(sched_sd)
    assert head + _lrs(opt2, sched2, 7) == full


class _Scale:
    """A callable object: its __dict__ goes into the state dict (plain functions are not saved)."""

    def __init__(self, gamma):
        self.gamma = gamma

    def __call__(self, epoch):
        return self.gamma ** epoch


def test_lambda_state_dict_saves_callable_objects_only():
    opt = optim.SGD([{"params": [el.zeros(1, requires_grad=True)]}, {"params": [el.zeros(1, requires_grad=True)]}])
    sched = S.LambdaLR(opt, [lambda e: 1.0, _Scale(0.5)])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [None, {"gamma": 0.5}] and "optimizer" not in sd


def test_errors():
    opt = _opt()
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        S.StepLR([], step_size=1)
    with pytest.raises(KeyError, match=r"'initial_lr' is not specified in param_groups\[0\]"):
        S.StepLR(opt, step_size=1, last_epoch=3)
    with pytest.raises(ValueError, match="Expected 1 lr_lambdas, but got 2"):
        S.LambdaLR(opt, [lambda e: 1, lambda e: 1])
    with pytest.raises(TypeError, match="lr_lambda should be a function, but got int"):
        S.MultiplicativeLR(opt, 3)
    with pytest.raises(ValueError, match="between 0 and 1, got 2"):
        S.ConstantLR(opt, factor=2)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        S.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="positive integer T_0, but got 0"):
        S.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="non-negative epoch"):
        S.CosineAnnealingWarmRestarts(opt, T_0=2).step(-1)
    with pytest.raises(ValueError, match="either total_steps OR"):
        S.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="pct_start"):
        S.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=1)
    with pytest.raises(ValueError, match="anneal_strategy"):
        S.OneCycleLR(opt, max_lr=1.0, total_steps=10, anneal_strategy="exp")
    with pytest.raises(ValueError, match="max_lr must have the same length as optimizer.param_groups"):
        S.OneCycleLR(opt, max_lr=[1.0, 2.0], total_steps=10)
    with pytest.raises(ValueError, match="momentum or beta1"):
        S.OneCycleLR(optim.Adagrad([el.zeros(1, requires_grad=True)]), max_lr=1.0, total_steps=10)
    sched = S.OneCycleLR(opt, max_lr=1.0, total_steps=2)
    opt.step()
    sched.step()
    sched.step()
    with pytest.raises(ValueError, match="Tried to step 3 times. The specified number of total steps is 2"):
        sched.step()
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        S.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode avg is unknown"):
        S.ReduceLROnPlateau(opt, mode="avg")
    with pytest.raises(ValueError, match="threshold mode ratio is unknown"):
        S.ReduceLROnPlateau(opt, threshold_mode="ratio")
    with pytest.raises(ValueError, match="expected 1 min_lrs, got 2"):
        S.ReduceLROnPlateau(opt, min_lr=[0.1, 0.2])


def test_composite_errors():
    opt, other = _opt(), _opt()
    a, b = S.StepLR(opt, step_size=2), S.ExponentialLR(opt, gamma=0.9)
    with pytest.raises(ValueError, match="one more than the number of milestone points"):
        S.SequentialLR(opt, [a, b], milestones=[1, 2])
    with pytest.raises(ValueError, match="at least one scheduler"):
        S.SequentialLR(opt, [], milestones=[])
    with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`.* at index 1"):
        S.SequentialLR(opt, [a, S.ReduceLROnPlateau(opt)], milestones=[3])
    with pytest.raises(ValueError, match="same optimizer.* ExponentialLR at index 1"):
        S.ChainedScheduler([S.StepLR(other, step_size=2), b])
    with pytest.raises(TypeError, match="at index 0 should have `optimizer`"):
        S.ChainedScheduler([object()], optimizer=opt)
