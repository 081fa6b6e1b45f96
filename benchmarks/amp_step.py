"""Mixed precision on the CPU: the seed MLP step (784-128-10, Adam, batch 256) and the LeNet CNN step (batch 64) in
float32 and under eagerlab.autocast("cpu", bfloat16 / float16): CPU time per step (one BLAS thread: run with
OPENBLAS_NUM_THREADS=1), peak memory of a step, and the memory the forward keeps for backward: "saved" is what the
forward allocated and the graph still holds (tracemalloc: numpy reports its arrays), "held" every distinct array the
graph holds for backward, the batch and the weights included (PyTorch: the same, through saved_tensors_hooks). In
float32 the first layer keeps the batch itself (already allocated); under autocast its 16-bit copy, so "held" is
the figure that halves.

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


def _held_bytes(loss):
    """Bytes of the distinct arrays (views counted once, by their base) eagerlab's graph of `loss` holds."""
    from eagerlab._tensor import Tensor

    seen, nodes, arrays = set(), [loss.grad_fn], {}
    while nodes:
        node = nodes.pop()
        if node is None or id(node) in seen or not hasattr(node, "_saved"):
            continue
        seen.add(id(node))
        for item in node._saved or ():
            data = item._data if isinstance(item, Tensor) else getattr(item, "data", None)
            if isinstance(data, np.ndarray):
                base = data if data.base is None else data.base
                arrays[id(base)] = base.nbytes
        nodes.extend(e[0] for e in node.edges if e is not None)
    return sum(arrays.values())


def _torch_held_bytes(forward):
    """Bytes of the distinct storages PyTorch's graph saves for backward."""
    import torch

    storages = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        forward()
    return sum(storages.values())


def _memory(forward, step):
    """(peak bytes of one step, bytes the forward's graph holds until backward) above what was live before."""
    step()  # optimizer state exists
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    loss = forward()
    saved = tracemalloc.get_traced_memory()[0] - base
    held = _held_bytes(loss)
    loss.backward()
    del loss
    tracemalloc.reset_peak()
    tracemalloc.stop()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    step()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak, saved, held


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
          f"{'peak KiB':>9s} {'saved KiB':>9s} {'held KiB':>9s}")
    for name, model_fn, shape, optimizer in cases:
        dtypes = (None, "bfloat16", "float16")
        runs = {dtype: _case(lib, model_fn, shape, optimizer, dtype) for dtype in dtypes}
        best = dict.fromkeys(dtypes, float("inf"))
        for _ in range(5):  # the dtypes in turn, best of each: a loaded machine's slow spells hit all of them
            for dtype in dtypes:
                # process time: this thread's and its BLAS threads' CPU time (time waiting for a core is not counted)
                us = per_call_us(runs[dtype][1], min_time=0.2, repeats=3, clock=time.process_time)
                best[dtype] = min(best[dtype], us / 1e6)
        for dtype in dtypes:
            forward, step = runs[dtype]
            seconds = best[dtype]
            if use_torch:
                mem = f" {'':9s} {'':9s} {_torch_held_bytes(forward) / 1024:9.0f}"
            else:
                peak, saved, held = _memory(forward, step)
                mem = f" {peak / 1024:9.0f} {saved / 1024:9.0f} {held / 1024:9.0f}"
            print(f"{'torch' if use_torch else 'eagerlab'}: {name:34s} {dtype or 'float32':9s} {seconds * 1e3:8.2f} "
                  f"{seconds / best[None]:6.2f}{mem}", flush=True)

if __name__ == "__main__":
    main()
