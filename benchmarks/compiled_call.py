"""What one call of an @eagerlab.function costs beyond its math: `x + 1` on a 4-element tensor (no kept buffers),
and a small MLP forward (784-128-10 at batch 1, no grad) whose hidden activations live in kept buffers."""
import numpy as np

from _timing import per_call_us

import eagerlab as el


def _cases():
    rng = np.random.default_rng(0)
    x = el.tensor(rng.standard_normal(4).astype(np.float32))
    add_one = el.function(lambda x: x + 1)
    el.manual_seed(0)
    mlp = el.nn.Sequential(el.nn.Linear(784, 128), el.nn.ReLU(), el.nn.Linear(128, 10))
    forward = el.function(mlp)
    image = el.tensor(rng.standard_normal((1, 784)).astype(np.float32))
    return {"x + 1": lambda: add_one(x), "MLP forward, batch 1": lambda: forward(image)}


def rows():
    with el.no_grad():
        return [(f"compiled call: {name}", "us/call", per_call_us(fn), None, "lower") for name, fn in _cases().items()]


if __name__ == "__main__":
    from run import print_table

    print_table(rows())
