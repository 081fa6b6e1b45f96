"""eagerlab's own CPU threads: a pool of `get_num_threads()` threads, and three ways of using it.

numpy releases the GIL inside its copies, ufunc loops and BLAS calls, so Python threads that each take a large
enough piece of work keep several cores busy:
- map_blocks: a convolution's batch blocks (an im2col copy, a GEMM, a col2im add each), every GEMM held to one
  BLAS thread meanwhile (blas.one_thread), so the cores are not oversubscribed;
- cut_matmul: a large product cut into pieces (blas.matmul, which keeps OpenBLAS itself on one thread);
- elementwise: a run of in-place ufuncs over large arrays (an optimizer's update of a large parameter), each
  thread taking a flat piece of every array.
The jobs of a run are shared between the calling thread and the pool's threads, which block (never spin) when
idle.

Results never depend on the thread count: the pieces are fixed by the shapes, each writes its own part of the
output, and a caller that reduces over them adds the per-piece results in order.
"""
import itertools
import os
import threading

import numpy as np

from . import blas
from .workers import Pool

# below this many multiply-adds in all the blocks together, handing blocks to threads costs more than it saves
# (a task hand-off is ~20-50 us; measured on a 2-core AMD EPYC, docs/performance.md)
PARALLEL_MACS = 4_000_000

_pool = None
_pool_threads = 0
_pool_lock = threading.Lock()
_in_worker = threading.local()


def _executor(threads):
    global _pool, _pool_threads
    with _pool_lock:
        if _pool_threads != threads:
            if _pool is not None:
                _pool.shutdown()
            _pool = Pool(threads, "eagerlab-cpu", _mark_worker)
            _pool_threads = threads
        return _pool


def _mark_worker():
    _in_worker.active = True


def _forget_the_pool_after_fork():
    """In a forked child (DataLoader workers, multiprocessing's fork) the parent's pool object survives without its
    threads, and a task handed to it would wait forever: the child starts a pool of its own when it needs one."""
    global _pool, _pool_threads, _pool_lock
    _pool, _pool_threads, _pool_lock = None, 0, threading.Lock()
    _in_worker.active = False


os.register_at_fork(after_in_child=_forget_the_pool_after_fork)


def _share(fn, jobs, threads):
    """[fn(job) for job in jobs], the jobs taken in turn by the calling thread and up to threads - 1 threads of the
    pool (one hand-off per thread, not per job; a thread that finishes early takes the next job). Inside, the
    calling thread counts as a worker: what the jobs call runs on one thread."""
    results = [None] * len(jobs)
    take = itertools.count()  # next() on it is atomic under the GIL

    def work():
        for i in take:
            if i >= len(jobs):
                return
            results[i] = fn(jobs[i])

    pool = _executor(blas.get_num_threads())  # sized by the setting, whatever share of it this run uses
    helpers = [pool.submit(work) for _ in range(min(threads, len(jobs)) - 1)]
    _in_worker.active = True
    try:
        work()
    finally:
        _in_worker.active = False
        # a helper not started yet is cancelled (the caller took its jobs: on a loaded machine it need not wait for
        # a thread to be scheduled); the others are waited for before anything is raised, as they may still be
        # using the caller's arrays
        started = [helper for helper in helpers if not helper.cancel()]
        for helper in started:
            helper.exception()
    for helper in started:
        helper.result()  # a helper's error
    return results


def map_blocks(kernel, blocks, macs):
    """[kernel(lo, hi) for (lo, hi) in blocks], on several threads when there is more than one block, more than one
    thread (eagerlab.set_num_threads) and at least PARALLEL_MACS of work; in order either way. Without threadpoolctl
    the BLAS threads cannot be held to one, so the blocks run on the calling thread."""
    threads = blas.get_num_threads()
    if (len(blocks) < 2 or threads < 2 or macs < PARALLEL_MACS or getattr(_in_worker, "active", False)
            or not blas.controls_threads()):
        return [kernel(lo, hi) for lo, hi in blocks]
    with blas.one_thread():
        return _share(lambda block: kernel(*block), blocks, threads)


# elementwise: fewest elements for which the work is split, and the alignment of the cuts (a cache line of float32,
# so no two threads write one line). Adam's update on two threads, quiet 2-core AMD EPYC: 65K elements 102 -> 135 us
# (slower), 100K 153 -> 147, 131K 194 -> 169, 262K 371 -> 257, 1.2M 2.24 -> 1.18 ms.
ELEMENTWISE_MIN = 1 << 17
_ALIGN = 16


def elementwise(fn, *arrays):
    """fn(*arrays), where fn does elementwise work on arrays of one size (ufuncs with out=, in-place updates; None
    entries pass through as None): on several threads when the arrays are large C-contiguous numpy arrays, each
    thread calling fn on a flat piece of every array; else once, on the arrays themselves. Elementwise work on a
    piece gives the bits it gives on the whole."""
    present = [a for a in arrays if a is not None]
    size = present[0].size
    threads = blas.get_num_threads()
    if (threads < 2 or size < ELEMENTWISE_MIN or getattr(_in_worker, "active", False)
            or not all(isinstance(a, np.ndarray) and a.flags.c_contiguous and a.size == size for a in present)):
        fn(*arrays)
        return
    flats = [None if a is None else a.reshape(-1) for a in arrays]
    cuts = [size * i // threads // _ALIGN * _ALIGN for i in range(threads)] + [size]
    _share(lambda i: fn(*(None if f is None else f[cuts[i]:cuts[i + 1]] for f in flats)), range(threads), threads)


def cut_matmul(a, b, out, pieces):
    """a @ b as `pieces` products run on the pool, one OpenBLAS thread each (backend/blas.py): the rows of the left
    operand cut into equal runs (a 2-D or C-contiguous left operand times a matrix), else the batch (both operands
    batched alike), else the right operand's columns. None when no cut applies (operand kinds, dtypes, a
    non-contiguous `out`, too few rows or columns): the caller multiplies in one call."""
    if getattr(_in_worker, "active", False) or a.dtype != b.dtype or a.dtype.kind != "f" or a.ndim < 2:
        return None
    if out is not None and (out.dtype != a.dtype or not out.flags.c_contiguous):
        return None
    if b.ndim == 2:
        if a.ndim > 2 and not a.flags.c_contiguous:
            return None
        k, n = b.shape
        result = np.empty(a.shape[:-1] + (n,), a.dtype) if out is None else out
        left, dest = a.reshape(-1, k), result.reshape(-1, n)
        rows = left.shape[0]
        if rows >= 64 * pieces:
            cuts = [slice(rows * i // pieces, rows * (i + 1) // pieces) for i in range(pieces)]
            jobs = [(left[c], b, dest[c]) for c in cuts]
        elif n >= 64 * pieces:
            cuts = [slice(n * i // pieces, n * (i + 1) // pieces) for i in range(pieces)]
            jobs = [(left, b[:, c], dest[:, c]) for c in cuts]
        else:
            return None
    elif a.shape[:-2] == b.shape[:-2] and a.shape[0] >= pieces:
        result = np.empty(a.shape[:-1] + (b.shape[-1],), a.dtype) if out is None else out
        cuts = [slice(a.shape[0] * i // pieces, a.shape[0] * (i + 1) // pieces) for i in range(pieces)]
        jobs = [(a[c], b[c], result[c]) for c in cuts]
    else:
        return None
    _share(lambda job: np.matmul(*job[:2], out=job[2]), jobs, pieces)
    return result
