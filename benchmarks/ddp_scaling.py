"""Data-parallel scaling of the seed MLP (784-128-10, SGD, batch 1024 per process): samples/s on 1 and 2 processes
(mpiexec through eagerlab.distributed.run, BLAS threads = cores / processes), the communication share of a DDP
step, the all-reduce cost per byte, and a paper estimate for 8 and 64 processes from the ring all-reduce model.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/ddp_scaling.py

Needs mpi4py and mpiexec (pip install eagerlab[distributed]). Under mpiexec this file is the worker; run plainly it
launches the workers and prints the table.
"""
import json
import os
import subprocess
import sys
import time

BATCH = 1024
STEPS = 20  # per timing window
WINDOWS = 5  # best of


def worker():
    import numpy as np

    import eagerlab as el
    import eagerlab.distributed as dist
    from eagerlab import nn
    from eagerlab.nn.parallel import DistributedDataParallel

    dist.init_process_group(timeout=120)
    rank, world = dist.get_rank(), dist.get_world_size()
    el.manual_seed(rank)
    model = DistributedDataParallel(nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)))
    opt = el.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    data = np.random.default_rng(rank)
    x = el.tensor(data.standard_normal((BATCH, 784)).astype(np.float32))
    y = el.tensor(data.integers(0, 10, BATCH))

    def step():
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    def best_step_seconds(fn):
        fn()
        best = float("inf")
        for _ in range(WINDOWS):
            dist.barrier()
            t0 = time.perf_counter()
            for _ in range(STEPS):
                fn()
            best = min(best, (time.perf_counter() - t0) / STEPS)
        return best

    synced = best_step_seconds(step)

    def local_step():
        with model.no_sync():
            step()

    local = best_step_seconds(local_step)  # the same step with no communication
    costs = {}
    for nbytes in (2**16, 2**18, 2**20, 2**22, 2**24):  # all-reduce alone, blocking, by message size
        buf = el.zeros(nbytes // 4)
        best = float("inf")
        for _ in range(WINDOWS):
            dist.barrier()
            t0 = time.perf_counter()
            for _ in range(10):
                dist.all_reduce(buf)
            best = min(best, (time.perf_counter() - t0) / 10)
        costs[nbytes] = best
    grad_bytes = sum(p.numel() * 4 for p in model.parameters())
    if rank == 0:
        print("RESULT " + json.dumps({"world": world, "synced": synced, "local": local, "costs": costs,
                                      "grad_bytes": grad_bytes}), flush=True)


def launch(n):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    threads = str(max(1, (os.cpu_count() or 1) // n))
    env = {**os.environ, "PYTHONPATH": root, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
    out = subprocess.run([sys.executable, "-m", "eagerlab.distributed.run", "-n", str(n), os.path.abspath(__file__)],
                         env=env, capture_output=True, text=True, timeout=1200)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"the {n}-process run failed:\n{out.stdout}\n{out.stderr}")
    result = json.loads(line[len("RESULT "):])
    result["costs"] = {int(k): v for k, v in result["costs"].items()}
    return result


def fit_cost(costs):
    """t = alpha + beta * bytes: beta from the slope between the largest and the middle size (bandwidth), alpha
    from the smallest size (latency). A least-squares line lets one slow window of a loaded machine swing both."""
    sizes = sorted(costs)
    small, mid, large = sizes[0], sizes[len(sizes) // 2], sizes[-1]
    beta = max((costs[large] - costs[mid]) / (large - mid), 1e-15)
    return max(costs[small] - beta * small, 0.0), beta


def ring(p, nbytes, alpha2, beta2):
    """Ring all-reduce time on p processes, from the 2-process fit: 2(p-1) latency steps (alpha2 is two of
    them), each process sending 2(p-1)/p of the message (for p = 2 that is the whole message: beta2)."""
    return (p - 1) * alpha2 + 2 * (p - 1) / p * nbytes * beta2


def main():
    if os.environ.get("OMPI_COMM_WORLD_SIZE") or os.environ.get("PMI_SIZE"):
        return worker()
    one, two = launch(1), launch(2)
    rate1, rate2 = BATCH / one["synced"], 2 * BATCH / two["synced"]
    exposed = max(two["synced"] - two["local"], 0.0)
    alpha, beta = fit_cost(two["costs"])
    grad = two["grad_bytes"]
    allreduce_grad = alpha + beta * grad
    print(f"seed MLP 784-128-10, SGD, batch {BATCH} per process; {os.cpu_count()} cores; best of {WINDOWS}x{STEPS} "
          "steps (wall time; a machine shared with other jobs: contention only adds time)")
    print("| processes | step (ms) | samples/s | speed-up |")
    print("| --- | --- | --- | --- |")
    print(f"| 1 | {one['synced'] * 1e3:.2f} | {rate1:,.0f} | 1.00 |")
    print(f"| 2 | {two['synced'] * 1e3:.2f} | {rate2:,.0f} | {rate2 / rate1:.2f} |")
    print(f"2 processes: the step without communication (no_sync) {two['local'] * 1e3:.2f} ms; communication "
          f"exposed in a DDP step {exposed * 1e3:.2f} ms = {exposed / two['synced']:.1%} of the step; the "
          f"gradients' all-reduce alone ({grad / 1e3:.0f} kB) {allreduce_grad * 1e3:.3f} ms = "
          f"{allreduce_grad / two['synced']:.1%} of the step")
    print("all-reduce on 2 processes (shared memory), measured: " + ", ".join(
        f"{b / 2**20:g} MiB {t * 1e3:.3f} ms" for b, t in two["costs"].items())
        + f"; fit: {alpha * 1e6:.1f} us + {beta * 1e9:.3f} ns/byte ({1 / beta / 1e9:.2f} GB/s)")
    compute = two["local"]
    links = [("this machine's shared-memory link", alpha, beta), ("10 Gb/s Ethernet, 25 us latency", 2 * 25e-6,
                                                                  1 / 1.25e9)]
    print("paper estimate, weak scaling (batch 1024 per process, each process on its own cores, compute "
          f"{compute * 1e3:.2f} ms/step as measured, no overlap of communication with backward):")
    print("| link | processes | all-reduce (ms) | step (ms) | samples/s | efficiency |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, a, b in links:
        for p in (2, 8, 64):
            t = ring(p, grad, a, b)
            step = compute + t
            print(f"| {name} | {p} | {t * 1e3:.3f} | {step * 1e3:.2f} | {p * BATCH / step:,.0f} | "
                  f"{compute / step:.0%} |")


if __name__ == "__main__":
    main()
