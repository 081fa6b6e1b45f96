"""Forward and backward of the piecewise activations on a DCGAN discriminator-sized float32 (64, 32, 16, 16)
activation: nn.LeakyReLU(0.2) (pytorch/examples dcgan puts one after every discriminator conv, in place) and
nn.ELU(). Each case ends in `.sum().backward()`, as a training step's loss does. PyTorch runs in its own worker
process (beside numpy, its thread pool slows both down many times over on these sizes), the two alternating.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/activation_step.py [--rounds 3] [--cpu]

--cpu: one thread each (torch.set_num_threads(1); numpy's elementwise loops use one anyway), timed by the calling
thread's CPU time, which a loaded machine does not disturb. Without it: wall time at each library's defaults.
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _timing import per_call_us  # noqa: E402

SHAPE = (64, 32, 16, 16)


def _cases(lib):
    x = lib.tensor(np.random.default_rng(0).standard_normal(SHAPE).astype(np.float32), requires_grad=True)
    leaky, leaky_inplace, elu = lib.nn.LeakyReLU(0.2), lib.nn.LeakyReLU(0.2, inplace=True), lib.nn.ELU()

    def step(fn):
        def run():
            fn().sum().backward()
            x.grad = None

        return run

    return {
        "LeakyReLU(0.2) fwd+bwd": step(lambda: leaky(x)),
        "LeakyReLU(0.2, inplace) of x * 1 fwd+bwd": step(lambda: leaky_inplace(x * 1.0)),
        "(x * 1 alone) fwd+bwd": step(lambda: x * 1.0),
        "ELU() fwd+bwd": step(lambda: elu(x)),
        "LeakyReLU(0.2) forward, no grad": lambda: leaky(x.detach()),
    }


def worker(lib_name, cpu):
    """{case: us per call} for one library, timed in this process."""
    lib = importlib.import_module(lib_name)
    clock = time.perf_counter
    if cpu:
        lib.set_num_threads(1)
        clock = time.thread_time
    return {name: per_call_us(fn, clock=clock) for name, fn in _cases(lib).items()}


def measure(rounds=3, cpu=False):
    """{lib: {case: best us}} over `rounds` rounds of one worker process per library, alternating the order."""
    libs = ["eagerlab"] + (["torch"] if importlib.util.find_spec("torch") and "torch" not in sys.modules else [])
    root = os.path.dirname(HERE)
    best = {lib: {} for lib in libs}
    for r in range(rounds):
        for lib in (libs if r % 2 == 0 else libs[::-1]):
            cmd = [sys.executable, os.path.abspath(__file__), "--worker", lib] + (["--cpu"] if cpu else [])
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
            for name, value in json.loads(out.strip().splitlines()[-1]).items():
                best[lib][name] = min(value, best[lib].get(name, value))
    return best


def rows(rounds=3, cpu=False):
    best = measure(rounds, cpu)
    theirs = best.get("torch", {})
    return [(f"activations {SHAPE}: {name}", "us/call", us, theirs.get(name), "lower")
            for name, us in best["eagerlab"].items()]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cpu", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.cpu)))
    else:
        from run import print_table

        print_table(rows(args.rounds, args.cpu))
