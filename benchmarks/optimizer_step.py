"""optimizer.step() on an MNIST-MLP parameter set (784x128 + 128 + 128x10 + 10, float32), gradients fixed:
Adam, AdamW, SGD with momentum, RMSprop. PyTorch runs its CPU default (the per-tensor loop; foreach is CUDA-only)."""
import numpy as np

from _timing import per_call_us, try_torch

import eagerlab as el

SHAPES = [(784, 128), (128,), (128, 10), (10,)]
CASES = {
    "Adam": ("Adam", dict(lr=1e-3)),
    "AdamW": ("AdamW", dict(lr=1e-3)),
    "SGD momentum=0.9": ("SGD", dict(lr=1e-2, momentum=0.9)),
    "RMSprop": ("RMSprop", dict(lr=1e-3)),
}


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


def rows():
    ours = _steppers(el, el.optim)
    torch = try_torch()
    theirs = _steppers(torch, torch.optim) if torch else {}
    return [(f"optimizer step: {name}", "us/call", per_call_us(fn),
             per_call_us(theirs[name]) if torch else None, "lower") for name, fn in ours.items()]


if __name__ == "__main__":
    from run import print_table

    print_table(rows())
