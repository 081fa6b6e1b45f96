"""optimizer.step() on an MNIST-MLP parameter set (784x128 + 128 + 128x10 + 10, float32), gradients fixed, for
every optimizer; PyTorch runs its CPU default (the per-tensor loop; foreach is CUDA-only). Then the whole seed MLP
training step (784-128-10, batch 32) with each optimizer, eager and compiled with @eagerlab.function: every
compiled step runs its optimizer's `_update`, so the speedup of compiled over eager should be about Adam's for all."""
import numpy as np

from _timing import per_call_us, try_torch
from graph_step import SIZES, _data

import eagerlab as el

SHAPES = [(784, 128), (128,), (128, 10), (10,)]
CASES = {
    "Adam": ("Adam", dict(lr=1e-3)),
    "AdamW": ("AdamW", dict(lr=1e-3)),
    "SGD momentum=0.9": ("SGD", dict(lr=1e-2, momentum=0.9)),
    "RMSprop": ("RMSprop", dict(lr=1e-3)),
    "RMSprop centered momentum=0.9": ("RMSprop", dict(lr=1e-3, centered=True, momentum=0.9)),
    "Adagrad": ("Adagrad", dict(lr=1e-2)),
    "Adadelta": ("Adadelta", dict()),
}
BATCH = 32


def _steppers(lib, optim):
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    grads = [rng.standard_normal(s).astype(np.float32) * 1e-3 for s in SHAPES]
    out = {}
    for name, (cls, kw) in CASES.items():
        ps = [lib.tensor(p, requires_grad=True) for p in params]
        for p, g in zip(ps, grads):
            p.grad = lib.tensor(g)
        out[name] = getattr(optim, cls)(ps, **kw).step
    return out


def _train_step(lib, name, compiled=False):
    """One call of the seed MLP's training step with optimizer CASES[name] (data fixed)."""
    x, y = (lib.tensor(a) for a in _data(BATCH))
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(*SIZES[:2]), lib.nn.ReLU(), lib.nn.Linear(*SIZES[1:]))
    cls, kw = CASES[name]
    opt = getattr(lib.optim, cls)(model.parameters(), **kw)

    def step(x, y):
        opt.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    run = lib.function(step) if compiled else step
    return lambda: run(x, y)


def train_step_times(rounds=3):
    """{name: (eager us, compiled us)} for the seed MLP step at batch BATCH: the best of `rounds` rounds, each
    timing every step in turn, so that a burst of load on this shared machine does not land on one case only."""
    steps = {name: (_train_step(el, name), _train_step(el, name, compiled=True)) for name in CASES}
    best = {}
    for _ in range(rounds):
        for name, pair in steps.items():
            times = tuple(per_call_us(fn, repeats=3) for fn in pair)
            best[name] = tuple(map(min, best.get(name, times), times))
    return best


def rows(times=None):
    times = times or train_step_times()  # before importing PyTorch: its and OpenBLAS's thread pools interfere
    ours = _steppers(el, el.optim)
    torch = try_torch()
    theirs = _steppers(torch, torch.optim) if torch else {}
    out = [(f"optimizer step: {name}", "us/call", per_call_us(fn), per_call_us(theirs[name]) if torch else None,
            "lower") for name, fn in ours.items()]
    for name, (eager, compiled) in times.items():
        out += [(f"MLP step b{BATCH} {name} eager", "us/call", eager, None, "lower"),
                (f"MLP step b{BATCH} {name} compiled", "us/call", compiled, None, "lower")]
    return out


if __name__ == "__main__":
    from run import print_table

    times = train_step_times()
    print_table(rows(times))
    for name, (eager, compiled) in times.items():
        print(f"MLP step b{BATCH} {name}: compiled is {eager / compiled:.2f}x eager")
