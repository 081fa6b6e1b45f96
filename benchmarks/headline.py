"""The headline table (issue 16's cases): each case timed for eagerlab and PyTorch, each library in its own worker
process, the workers alternating over rounds, each figure the best of its windows; plus the step written by hand
in numpy where one exists (the ceiling for a framework that calls numpy). docs/performance.md has the method.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/headline.py [--rounds 3] [--only WORD] [--cpu]

--cpu runs every library on one thread (eagerlab.set_num_threads(1), torch.set_num_threads(1), OpenBLAS at one
thread for the numpy ceiling) and counts the calling thread's CPU time (time.thread_time): a one-core comparison
that a loaded machine does not disturb. Without it: wall time at each library's default threading.

Each case builder takes the library module (eagerlab or torch: both have nn, optim, tensor, manual_seed) and
returns the call to time, so both libraries run the same code.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _timing import per_call_us  # noqa: E402


def _array(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def lstm(lib):
    lib.manual_seed(0)
    layer, x = lib.nn.LSTM(32, 128), lib.tensor(_array(35, 20, 32))

    def run():
        out, _ = layer(x)
        out.sum().backward()

    return run


def _mnist_cnn(lib):
    """pytorch/examples' MNIST network: two 3x3 convs, max-pool, dropout, two linears, log-softmax."""
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(1, 32, 3, 1), nn.ReLU(), nn.Conv2d(32, 64, 3, 1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Dropout(0.25), nn.Flatten(1), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(128, 10), nn.LogSoftmax(dim=1))


def _train_step(lib, model, opt, loss_fn, x, y):
    def run():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    return run


def mnist_cnn(lib):
    lib.manual_seed(0)
    model = _mnist_cnn(lib)
    x, y = lib.tensor(_array(64, 1, 28, 28)), lib.tensor(np.random.default_rng(1).integers(0, 10, 64))
    return _train_step(lib, model, lib.optim.Adadelta(model.parameters(), lr=1.0), lib.nn.functional.nll_loss, x, y)


def lenet(lib):
    from cnn_step import _lenet

    lib.manual_seed(0)
    model = _lenet(lib.nn)
    x, y = lib.tensor(_array(64, 1, 28, 28)), lib.tensor(np.random.default_rng(1).integers(0, 10, 64))
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return _train_step(lib, model, opt, lib.nn.functional.cross_entropy, x, y)


def dcgan(lib):
    from dcgan_step import dcgan_step

    return dcgan_step(lib)


def conv_32_64(lib):
    lib.manual_seed(0)
    conv, x = lib.nn.Conv2d(32, 64, 3), lib.tensor(_array(64, 32, 26, 26), requires_grad=True)

    def run():
        conv(x).sum().backward()
        x.grad = None

    return run


def _small(lib, fn):
    a, b = lib.tensor(_array(32, 128), requires_grad=True), lib.tensor(_array(32, 128, seed=1), requires_grad=True)
    return lambda: fn(lib, a, b)


def relu_grad(lib):
    return _small(lib, lambda lib, a, b: lib.relu(a))


def mul_grad(lib):
    return _small(lib, lambda lib, a, b: a * b)


def add_grad(lib):
    return _small(lib, lambda lib, a, b: a + b)


def transformer(lib):
    lib.manual_seed(0)
    layer, x = lib.nn.TransformerEncoderLayer(128, 4, 512), lib.tensor(_array(35, 20, 128))

    def run():
        layer(x).sum().backward()

    return run


def _mlp(batch, compiled=False):
    def build(lib):
        from graph_step import _step

        return _step(lib, batch, compiled=compiled)

    return build


def _mlp_numpy(batch):
    def build():
        from graph_step import _numpy_step

        return _numpy_step(batch)

    return build


_IMPORT = "import time; t = time.process_time(); import {lib}; print(time.process_time() - t)"
_PEAK = """
import sys; sys.path.insert(0, {here!r})
import {lib} as lib, headline
step = headline.mnist_cnn(lib)
for _ in range(3):
    step()
print(next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024)
"""


def _subprocess_figure(code, repeats):
    env = {**os.environ, "PYTHONPATH": _root_path()}  # this tree's eagerlab (before_after runs two trees)
    outs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
                  .stdout.split()[-1]) for _ in range(repeats)]
    return min(outs)


def import_time(lib_name):
    return _subprocess_figure(_IMPORT.format(lib=lib_name), 3)


def peak_memory(lib_name):
    return _subprocess_figure(_PEAK.format(here=HERE, lib=lib_name), 1)


# (row, unit, eagerlab builder, PyTorch builder, numpy ceiling builder or None). Per-call rows are in us.
CASES = [
    ("LSTM(32->128) seq 35 batch 20, fwd+bwd", "us", lstm, lstm, None),
    ("MNIST CNN step (Adadelta), batch 64", "us", mnist_cnn, mnist_cnn, None),
    ("LeNet-5 step (SGD momentum), batch 64", "us", lenet, lenet, None),
    ("Conv2d(32->64, 3) fwd+bwd, batch 64", "us", conv_32_64, conv_32_64, None),
    ("DCGAN step (ngf = ndf = 16, 64x64), batch 64", "us", dcgan, dcgan, None),
    ("relu with grad, (32, 128)", "us", relu_grad, relu_grad, None),
    ("a * b with grad, (32, 128)", "us", mul_grad, mul_grad, None),
    ("a + b with grad, (32, 128)", "us", add_grad, add_grad, None),
    ("TransformerEncoderLayer(128, 4, 512) fwd+bwd", "us", transformer, transformer, None),
    ("seed MLP step batch 32, eager", "us", _mlp(32), _mlp(32), _mlp_numpy(32)),
    ("seed MLP step batch 32, compiled", "us", _mlp(32, True), _mlp(32), _mlp_numpy(32)),
    ("seed MLP step batch 1024, eager", "us", _mlp(1024), _mlp(1024), _mlp_numpy(1024)),
    ("seed MLP step batch 1024, compiled", "us", _mlp(1024, True), _mlp(1024), _mlp_numpy(1024)),
    ("import time", "s", import_time, import_time, None),
    ("peak memory, MNIST CNN 3 steps", "MiB", peak_memory, peak_memory, None),
]


def worker(lib_name, only, cpu):
    """Time every case for one library ("eagerlab", "torch" or "numpy", the ceilings) in this process."""
    if lib_name == "eagerlab":
        sys.modules["torch"] = None  # never load PyTorch's thread pools beside eagerlab's
    lib = __import__(lib_name) if lib_name != "numpy" else None
    clock = time.perf_counter
    if cpu:
        clock = time.thread_time
        if lib is not None:
            lib.set_num_threads(1)
        else:
            from threadpoolctl import threadpool_limits

            threadpool_limits(1, user_api="blas")
    out = {}
    for name, unit, ours, theirs, ceiling in CASES:
        if only and only not in name:
            continue
        build = {"eagerlab": ours, "torch": theirs, "numpy": ceiling}[lib_name]
        if build is None:
            continue
        if unit != "us":
            out[name] = build(lib_name)
        else:
            out[name] = per_call_us(build() if lib is None else build(lib), min_time=0.1, repeats=5, clock=clock)
    return out


def measure(rounds, only=None, cpu=False, libs=("eagerlab", "torch", "numpy")):
    """{lib: {row: best figure}} over `rounds` rounds of worker processes, alternating the order."""
    available = [lib for lib in libs if lib != "torch" or _has_torch()]
    best = {lib: {} for lib in available}
    for r in range(rounds):
        for lib in (available if r % 2 == 0 else available[::-1]):
            cmd = [sys.executable, os.path.abspath(__file__), "--worker", lib] + (["--only", only] if only else [])
            cmd += ["--cpu"] if cpu else []
            done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": _root_path()})
            if done.returncode != 0:
                raise RuntimeError(f"the {lib} worker failed:\n{done.stderr[-3000:]}")
            for name, value in json.loads(done.stdout.strip().splitlines()[-1]).items():
                best[lib][name] = min(value, best[lib].get(name, value))
    return best


def _has_torch():
    return subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode == 0


def _root_path():
    root = os.path.dirname(HERE)
    return os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)


def rows(best=None):
    """(name, unit, eagerlab, pytorch or None, numpy ceiling or None) per case, in the table's order. Without
    `best`: eagerlab's figures timed in this process, as benchmarks/before_after.py asks every script."""
    if best is None:
        got = worker("eagerlab", None, False)
        return [(name, unit, got[name], None, "lower") for name, unit, *_ in CASES]
    ours, theirs, ceiling = best["eagerlab"], best.get("torch", {}), best.get("numpy", {})
    return [(name, unit, ours[name], theirs.get(name), ceiling.get(name)) for name, unit, *_ in CASES if name in ours]


def print_table(table):
    width = max(len(r[0]) for r in table) + 2
    print(f"{'case':<{width}}{'unit':>5}{'eagerlab':>11}{'pytorch':>11}{'ratio':>8}{'numpy ceiling':>15}")
    for name, unit, ours, theirs, ceiling in table:
        ratio = f"{theirs / ours:.2f}x" if theirs else "-"
        fmt = (lambda v: f"{v:.3f}") if unit == "s" else (lambda v: f"{v:.1f}")
        print(f"{name:<{width}}{unit:>5}{fmt(ours):>11}{fmt(theirs) if theirs else '-':>11}{ratio:>8}"
              f"{fmt(ceiling) if ceiling else '-':>15}")
    print("ratio = PyTorch / eagerlab (time, memory): above 1, eagerlab is faster or smaller. Each library in its own "
          "process, alternating; best of the rounds' windows.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", help="only the cases whose name contains this text")
    parser.add_argument("--cpu", action="store_true", help="one thread each, thread CPU time (see above)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.only, args.cpu)))
        return
    print_table(rows(measure(args.rounds, args.only, args.cpu)))


if __name__ == "__main__":
    main()
