"""Shared timing helpers: best-of-N wall time per call, and optional PyTorch."""
import time


def per_call_us(fn, min_time=0.2, repeats=5, clock=time.perf_counter):
    """Best mean time of one call, in microseconds, over `repeats` runs of at least `min_time` seconds each.
    clock=time.thread_time counts only the calling thread's CPU time: on a loaded machine it leaves out the time
    spent waiting for a core, and is right for work that runs on the calling thread only (one BLAS thread);
    time.process_time counts the whole process's CPU time."""
    fn()
    n = 1
    while True:  # find a loop count that takes about min_time
        t0 = clock()
        for _ in range(n):
            fn()
        dt = clock() - t0
        if dt >= min_time:
            break
        n = max(n * 2, int(n * min_time / max(dt, 1e-9)))
    best = dt / n
    for _ in range(repeats - 1):
        t0 = clock()
        for _ in range(n):
            fn()
        best = min(best, (clock() - t0) / n)
    return best * 1e6


def try_torch():
    """PyTorch if installed (at its default thread settings), else None."""
    try:
        import torch
    except ImportError:
        return None
    return torch
