"""Matrix products on the CPU with the BLAS thread count chosen per GEMM, and eagerlab.set_num_threads.

OpenBLAS splits every GEMM above a small fixed size over all its threads. For the small GEMMs of small-batch
training (an LSTM step's (20, 128) @ (128, 512), an MLP's (128, 32) @ (32, 784) weight gradient) waking and
joining the second thread costs more than it saves, and on a shared machine, where that thread may wait for a
core, a 30 us GEMM can take milliseconds. So a GEMM below SMALL_GEMM_FLOPS runs on one thread and a larger one on
`get_num_threads()` (docs/performance.md has the measurements behind the threshold).

The count is switched through threadpoolctl (the maintained library for it, the optional extra `threads`;
imported on the first CPU GEMM, so `import eagerlab` does not pay for it; without it GEMMs keep OpenBLAS's own
threading) by calling the BLAS controllers' `set_num_threads` only when the wanted
count differs from the one last set: a run of small GEMMs costs one comparison each, a switch about 1 us
(threadpoolctl's `limit()` context manager costs ~10 us per use, as much as a small GEMM's whole gain).
The count is process-wide, as OpenBLAS keeps it; the policy assumes nothing else changes it behind eagerlab's back
(use eagerlab.set_num_threads rather than threadpoolctl's limits around eagerlab code).
"""
import contextlib
import threading
import warnings

import numpy as np

# 2*m*n*k below which a GEMM runs on one thread: on a 2-core AMD EPYC, 20x128x512 (2.6 MFLOP) and 128x32x784
# (6.4 MFLOP) are 1.1-1.9x faster on one thread, 160x200x200 (12.8 MFLOP) breaks even, 64x288x576 (21 MFLOP) is
# 1.4x faster on two.
SMALL_GEMM_FLOPS = 8_000_000
_SMALL_MACS = SMALL_GEMM_FLOPS // 2

_libs = None  # threadpoolctl controllers of the loaded BLAS libraries; () without threadpoolctl
_limit = None  # the count for large GEMMs: set_num_threads's, else the BLAS's own at first use
_current = -1  # the count last set on the BLAS (-1: unknown, set on the next GEMM)
_pinned = 0  # > 0 while batch-parallel kernels run their own threads: every GEMM then stays on one BLAS thread
_pin_lock = threading.Lock()


def _load():
    global _libs, _limit
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # the optional extra: without it GEMMs keep the BLAS's own threading
        _libs = ()
    else:
        _libs = tuple(ThreadpoolController().select(user_api="blas").lib_controllers)
    if _limit is None:
        _limit = max((lib.num_threads for lib in _libs), default=1)


def _use(n):
    global _current
    for lib in _libs:
        lib.set_num_threads(n)
    _current = n


def matmul(xp, a, b, out=None):
    """xp.matmul(a, b, out=out), on numpy with the BLAS thread count for this GEMM's size (each 2-D product of a
    batched matmul is one GEMM call to BLAS, so its size is what decides)."""
    if xp is np:
        if _libs is None:
            _load()
        shape_a, shape_b = a.shape, b.shape
        macs = shape_a[-1] * (shape_a[-2] if len(shape_a) > 1 else 1) * (shape_b[-1] if len(shape_b) > 1 else 1)
        want = 1 if macs < _SMALL_MACS or _pinned else _limit
        if want != _current:
            _use(want)
    return xp.matmul(a, b, out=out)


def for_macs(macs):
    """Set the thread count for a product of `macs` multiply-adds computed by a numpy call other than matmul
    (einsum, tensordot)."""
    if _libs is None:
        _load()
    want = 1 if macs < _SMALL_MACS or _pinned else _limit
    if want != _current:
        _use(want)


def controls_threads():
    """Whether eagerlab can set the BLAS thread count (threadpoolctl is installed and found a BLAS)."""
    if _libs is None:
        _load()
    return bool(_libs)


@contextlib.contextmanager
def one_thread():
    """Every GEMM inside runs on one BLAS thread, whatever its size: for callers that run GEMMs on several threads
    of their own (eagerlab.backend.parallel), where BLAS threads on top would oversubscribe the cores."""
    global _pinned
    with _pin_lock:
        _pinned += 1
        if _current != 1:
            _use(1)
    try:
        yield
    finally:
        with _pin_lock:
            _pinned -= 1


def set_num_threads(n):
    """The number of threads eagerlab uses on the CPU, as torch.set_num_threads: for large GEMMs (small ones always
    use one), a convolution's batch blocks and a recurrent backward's overlapped gradients (backend/parallel.py).
    Other CPU work (numpy ufuncs) runs on the calling thread."""
    global _limit, _current
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive integer, got {n!r}")
    if _libs is None:
        _load()
    if not _libs:
        warnings.warn("set_num_threads: the BLAS thread count cannot be set without threadpoolctl; install it with "
                      "`pip install eagerlab[threads]`", RuntimeWarning, stacklevel=2)
    _limit, _current = int(n), -1


def get_num_threads():
    """The number of threads large CPU GEMMs use (torch.get_num_threads)."""
    if _libs is None:
        _load()
    return _limit
