"""Recurrent layers, forward + backward: LSTM / GRU / RNN (tanh, relu) 32 -> 128, sequence 35, batch 20 (the word
language model's sizes), in microseconds per step (one forward and one backward of the whole sequence).

Each library runs in its own process (their BLAS and OpenMP thread pools would disturb each other), alternating,
and the best of several rounds counts (contention only ever adds time). The clock is the CPU time of the calling
thread (time.thread_time) when `--threads 1` pins both libraries to one thread, so other load on a shared machine
is not counted; with the libraries' default threads it is wall time, since helper threads' work would be missed.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/rnn_step.py [--threads 1]
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _timing import per_call_us, try_torch  # noqa: E402
CASES = [("LSTM", {}), ("GRU", {}), ("RNN", {"nonlinearity": "tanh"}), ("RNN", {"nonlinearity": "relu"})]
SEQ, BATCH, INPUT, HIDDEN = 35, 20, 32, 128


def _label(name, kwargs):
    return f"{name}{'(' + kwargs['nonlinearity'] + ')' if kwargs else ''}"


def _step(lib, name, kwargs):
    import numpy as np

    rng = np.random.default_rng(0)
    layer = getattr(lib.nn, name)(INPUT, HIDDEN, **kwargs)
    x = lib.tensor(rng.standard_normal((SEQ, BATCH, INPUT)).astype(np.float32))

    def step():
        layer.zero_grad()
        out, _ = layer(x)
        out.sum().backward()

    return step


def _measure(lib_name, threads):
    """The figures of one library in this process: {case label: microseconds per step}."""
    if lib_name == "torch":
        import torch as lib

        if threads:
            lib.set_num_threads(threads)
    else:
        sys.path.insert(0, os.path.dirname(HERE))
        import eagerlab as lib
    clock = time.thread_time if threads == 1 else time.perf_counter
    return {_label(name, kw): per_call_us(_step(lib, name, kw), min_time=0.1, repeats=7, clock=clock)
            for name, kw in CASES}


def _run(lib_name, threads):
    env = dict(os.environ)
    if threads:
        env.update(OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, __file__, "--child", lib_name, "--threads", str(threads)], env=env,
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def rows(threads=(1, 0), rounds=3):
    """Rows for each thread setting: 1 (both libraries on one thread, CPU-time clock) and 0 (defaults)."""
    return [row for n in threads for row in _rows(n, rounds)]


def _rows(threads, rounds):
    libs = ["eagerlab"] + (["torch"] if try_torch() else [])  # (each runs in its own process)
    best = {}
    for r in range(rounds):
        for lib_name in (libs if r % 2 == 0 else libs[::-1]):
            for label, us in _run(lib_name, threads).items():
                key = (lib_name, label)
                best[key] = min(best.get(key, us), us)
    suffix = ", 1 thread" if threads == 1 else ", default threads"
    return [(f"{label} {INPUT}->{HIDDEN} fwd+bwd, seq {SEQ} batch {BATCH}{suffix}", "us", best[("eagerlab", label)],
             best.get(("torch", label)), "lower") for label in (_label(n, k) for n, k in CASES)]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, help="1: both libraries on one thread, 0: their defaults (both when "
                        "not given)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(args.child, args.threads or 0)))
    else:
        from run import print_table

        print_table(rows((args.threads,)) if args.threads is not None else rows())
