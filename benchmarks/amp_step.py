"""Mixed precision on the CPU: the seed MLP step (784-128-10, Adam, batch 256) and the LeNet CNN step (batch 64) in
float32 and under eagerlab.autocast("cpu", bfloat16 / float16): time per step, peak memory of a step, and the
memory the forward keeps for backward (saved activations), measured with tracemalloc (numpy reports its arrays).

    python benchmarks/amp_step.py            # eagerlab
    python benchmarks/amp_step.py --torch    # the same steps in PyTorch (torch.autocast("cpu", ...)), for reference
"""
import sys
import time
import tracemalloc
from contextlib import nullcontext

import numpy as np

from _timing import per_call_us
from cnn_step import _lenet


def _mlp(nn):
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


def _case(lib, model_fn, shape, optimizer, dtype):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal(shape).astype(np.float32))
    y = lib.tensor(rng.integers(0, 10, shape[0]))
    model = model_fn(lib.nn)
    opt = optimizer(lib, model)
    ctx = (lambda: nullcontext()) if dtype is None else (lambda: lib.autocast("cpu", dtype=getattr(lib, dtype)))

    def forward():
        with ctx():
            return lib.nn.functional.cross_entropy(model(x), y)

    def step():
        opt.zero_grad()
        forward().backward()
        opt.step()

    return forward, step


def _memory(forward, step):
    """(peak bytes of one step, bytes the forward's graph holds until backward) above what was live before."""
    step()  # optimizer state exists
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    loss = forward()
    saved = tracemalloc.get_traced_memory()[0] - base
    loss.backward()
    del loss
    tracemalloc.reset_peak()
    tracemalloc.stop()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    step()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak, saved


def main():
    use_torch = "--torch" in sys.argv
    if use_torch:
        import torch as lib

        lib.set_num_threads(1)
    else:
        import eagerlab as lib
    cases = [("MLP 784-128-10 Adam, batch 256", _mlp, (256, 784), lambda lib, m: lib.optim.Adam(m.parameters())),
             ("LeNet CNN SGD, batch 64", _lenet, (64, 1, 28, 28),
              lambda lib, m: lib.optim.SGD(m.parameters(), lr=0.01, momentum=0.9))]
    print(f"{'library' if use_torch else 'eagerlab'}: {'case':34s} {'dtype':9s} {'ms/step':>8s} {'x f32':>6s} "
          f"{'peak KiB':>9s} {'saved KiB':>9s}")
    for name, model_fn, shape, optimizer in cases:
        ref = None
        for dtype in (None, "bfloat16", "float16"):
            forward, step = _case(lib, model_fn, shape, optimizer, dtype)
            # process time: this thread's and its BLAS threads' CPU time (a loaded machine's waiting is not counted)
            seconds = per_call_us(step, min_time=0.3, repeats=7, clock=time.process_time) / 1e6
            ref = ref or seconds
            peak, saved = (None, None) if use_torch else _memory(forward, step)
            mem = "" if peak is None else f" {peak / 1024:9.0f} {saved / 1024:9.0f}"
            print(f"{'torch' if use_torch else 'eagerlab'}: {name:34s} {dtype or 'float32':9s} {seconds * 1e3:8.2f} "
                  f"{seconds / ref:6.2f}{mem}", flush=True)


if __name__ == "__main__":
    main()
