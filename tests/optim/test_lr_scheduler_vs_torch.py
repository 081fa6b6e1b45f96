"""Every scheduler against torch.optim.lr_scheduler: the same learning rates (exactly: both compute them in Python
floats with the same formulas) over 30 steps, for several settings and two param groups; momentum cycling;
the deprecated step(epoch); resuming with last_epoch."""
import warnings

import pytest

import eagerlab as el
from eagerlab import optim

torch = pytest.importorskip("torch")

STEPS = 30


def _optimizers(name="SGD", **kw):
    kw = dict(lr=0.1, momentum=0.9) if name == "SGD" and not kw else kw
    ours = getattr(optim, name)([{"params": [el.zeros(1, requires_grad=True)]},
                                 {"params": [el.zeros(1, requires_grad=True)], "lr": 0.03}], **kw)
    theirs = getattr(torch.optim, name)([{"params": [torch.zeros(1, requires_grad=True)]},
                                         {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.03}], **kw)
    return ours, theirs


def _sched(lib, name, opt, kw):
    kw = {k: (v(lib, opt) if callable(v) and k == "schedulers" else v) for k, v in kw.items()}
    return getattr(lib.optim.lr_scheduler if lib is torch else optim.lr_scheduler, name)(opt, **kw)


def _seq(lib, opt):
    s = lib.optim.lr_scheduler if lib is torch else optim.lr_scheduler
    return [s.LinearLR(opt, start_factor=0.1, total_iters=5), s.CosineAnnealingLR(opt, T_max=10, eta_min=0.001)]


def _seq3(lib, opt):
    s = lib.optim.lr_scheduler if lib is torch else optim.lr_scheduler
    return [s.ConstantLR(opt, factor=0.5, total_iters=3), s.ExponentialLR(opt, gamma=0.9),
            s.StepLR(opt, step_size=4, gamma=0.5)]


CASES = [
    ("StepLR", dict(step_size=3)), ("StepLR", dict(step_size=5, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 11])), ("MultiStepLR", dict(milestones=[10, 20], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=10)), ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
    ("CosineAnnealingWarmRestarts", dict(T_0=5)), ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=1e-3)),
    ("LambdaLR", dict(lr_lambda=lambda e: 0.95 ** e)),
    ("LambdaLR", dict(lr_lambda=[lambda e: 1 / (e + 1), lambda e: e])),
    ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.9)),
    ("LinearLR", dict()), ("LinearLR", dict(start_factor=0.5, end_factor=0.1, total_iters=12)),
    ("ConstantLR", dict(factor=0.25, total_iters=4)), ("PolynomialLR", dict(total_iters=20, power=2.0)),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=STEPS)),
    ("OneCycleLR", dict(max_lr=[1.0, 0.5], epochs=3, steps_per_epoch=10, pct_start=0.25, anneal_strategy="linear",
                        three_phase=True, div_factor=10.0)),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=STEPS, cycle_momentum=False)),
    ("SequentialLR", dict(schedulers=_seq, milestones=[5])),
    ("SequentialLR", dict(schedulers=_seq3, milestones=[6, 15])),
]


def _trajectory(opt, sched, extra=()):
    out = []
    for _ in range(STEPS):
        opt.step()
        sched.step()
        out.append((sched.get_last_lr(), [g["lr"] for g in opt.param_groups],
                    [tuple(g[k]) if k == "betas" else g[k] for g in opt.param_groups for k in extra]))
    return out


@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_same_lrs_as_torch(name, kw):
    ours, theirs = _optimizers()
    s1, s2 = _sched(el, name, ours, kw), _sched(torch, name, theirs, kw)
    assert s1.get_last_lr() == s2.get_last_lr()
    assert _trajectory(ours, s1, ("momentum",)) == _trajectory(theirs, s2, ("momentum",))


def test_one_cycle_cycles_adam_beta1():
    ours, theirs = _optimizers("Adam", lr=0.01, betas=(0.9, 0.99))
    s1 = optim.lr_scheduler.OneCycleLR(ours, max_lr=0.1, total_steps=STEPS, base_momentum=0.8, max_momentum=0.9)
    s2 = torch.optim.lr_scheduler.OneCycleLR(theirs, max_lr=0.1, total_steps=STEPS, base_momentum=0.8,
                                             max_momentum=0.9)
    assert _trajectory(ours, s1, ("betas",)) == _trajectory(theirs, s2, ("betas",))


def test_chained_scheduler():
    ours, theirs = _optimizers()

    def build(lib, opt):
        s = lib.optim.lr_scheduler if lib is torch else optim.lr_scheduler
        return s.ChainedScheduler([s.ConstantLR(opt, factor=0.1, total_iters=2), s.ExponentialLR(opt, gamma=0.9)])

    assert _trajectory(ours, build(el, ours)) == _trajectory(theirs, build(torch, theirs))


@pytest.mark.parametrize("kw", [dict(), dict(mode="max", factor=0.5, patience=2, threshold=0.1, cooldown=2),
                                dict(patience=1, threshold_mode="abs", threshold=0.05, min_lr=[0.02, 0.01]),
                                dict(mode="max", threshold_mode="abs", patience=0, eps=0.02)])
def test_reduce_lr_on_plateau(kw):
    ours, theirs = _optimizers()
    s1 = optim.lr_scheduler.ReduceLROnPlateau(ours, **kw)
    s2 = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **kw)
    metrics = [1.0, 0.9, 0.95, 0.9, 0.89, 0.91, 0.92, 0.93, 0.85, 0.86, 0.86, 0.86, 0.7, 0.71, 0.72, 0.73, 0.74] * 2
    for m in metrics:
        s1.step(el.tensor(m, dtype=el.float64))  # a 0-d tensor metric, as a validation loss would be
        s2.step(torch.tensor(m, dtype=torch.float64))
        assert s1.get_last_lr() == s2.get_last_lr()
        assert (s1.num_bad_epochs, s1.cooldown_counter, s1.best) == (s2.num_bad_epochs, s2.cooldown_counter, s2.best)


@pytest.mark.parametrize("name,kw", [("StepLR", dict(step_size=3)), ("MultiStepLR", dict(milestones=[2, 5])),
                                     ("ExponentialLR", dict(gamma=0.8)), ("CosineAnnealingLR", dict(T_max=6)),
                                     ("LinearLR", dict(total_iters=4)), ("PolynomialLR", dict(power=0.5)),
                                     ("ConstantLR", dict(total_iters=3)),
                                     ("CosineAnnealingWarmRestarts", dict(T_0=4, T_mult=2))])
def test_deprecated_step_with_epoch_uses_the_closed_form(name, kw):
    ours, theirs = _optimizers()
    s1, s2 = _sched(el, name, ours, kw), _sched(torch, name, theirs, kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in [3, 7, 1, 0, 12, 5.5 if name == "CosineAnnealingWarmRestarts" else 5, 9]:
            ours.step()
            theirs.step()
            s1.step(epoch)
            s2.step(epoch)
            assert s1.get_last_lr() == s2.get_last_lr(), epoch


@pytest.mark.parametrize("name,kw", [("ExponentialLR", dict(gamma=0.9)), ("CosineAnnealingLR", dict(T_max=10)),
                                     ("StepLR", dict(step_size=2))])
def test_resume_with_last_epoch(name, kw):
    ours, theirs = _optimizers()
    for o in (ours, theirs):
        for g in o.param_groups:
            g["initial_lr"] = g["lr"]
    s1, s2 = _sched(el, name, ours, dict(kw, last_epoch=4)), _sched(torch, name, theirs, dict(kw, last_epoch=4))
    assert _trajectory(ours, s1) == _trajectory(theirs, s2)
