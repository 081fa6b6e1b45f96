"""Matrix products on the CPU: OpenBLAS on one thread, large products cut into pieces that eagerlab's own threads
run (backend/parallel.py), and eagerlab.set_num_threads.

OpenBLAS splits every GEMM above a small fixed size over all its threads, and afterwards its worker threads spin
for a while waiting for more work. For the small GEMMs of small-batch training (an LSTM step's (20, 128) @
(128, 512)) waking and joining the second thread costs more than it saves, and on a shared machine, where that
thread may wait for a core, a 30 us GEMM can take milliseconds. The spinning workers also take a core from
anything else eagerlab runs in parallel (a convolution's batch blocks): a MNIST CNN step took 72 ms with OpenBLAS
threads beside eagerlab's against 56 ms without. So OpenBLAS always runs on one thread, and a product of at least
SMALL_GEMM_FLOPS is cut into `get_num_threads()` pieces (rows of the left operand, else the batch, else columns)
run on eagerlab's threads, which block rather than spin when idle. The pieces are large enough for OpenBLAS's
regular kernels, so a product has the same bits whether cut or not (its small-matrix kernels round differently;
a test checks the bits). docs/performance.md has the measurements.

The count is switched through threadpoolctl (the maintained library for it, the optional extra `threads`;
imported on the first CPU GEMM, so `import eagerlab` does not pay for it; without it GEMMs keep OpenBLAS's own
threading and nothing is cut) by calling the BLAS controllers' `set_num_threads` once, and again only if something
else changed it through eagerlab (threadpoolctl's `limit()` context manager costs ~10 us per use). The count is
process-wide, as OpenBLAS keeps it; the policy assumes nothing else changes it behind eagerlab's back.
"""
import contextlib
import math
import os
import threading
import warnings

import numpy as np

from . import parallel

# 2*m*n*k below which a product runs in one piece: on a 2-core AMD EPYC, 20x128x512 (2.6 MFLOP) and 128x32x784
# (6.4 MFLOP) are 1.1-1.9x faster on one thread, 160x200x200 (12.8 MFLOP) breaks even, 64x288x576 (21 MFLOP) is
# 1.4x faster on two.
SMALL_GEMM_FLOPS = 8_000_000
_SMALL_MACS = SMALL_GEMM_FLOPS // 2
# the fewest multiply-adds in one piece of a cut product: OpenBLAS takes its small-matrix kernels, whose sums round
# differently, below about 1M
PIECE_MACS = 2_000_000

_libs = None  # threadpoolctl controllers of the loaded BLAS libraries; () without threadpoolctl
_limit = None  # the count for large GEMMs: set_num_threads's, else the BLAS's own at first use
_current = -1  # the count last set on the BLAS (-1: unknown, set on the next GEMM)
_pinned = 0  # > 0 while batch-parallel kernels run their own threads: every GEMM then stays on one BLAS thread
_pin_lock = threading.Lock()


def _after_fork_in_child():
    """A fork taken while another thread was inside a parallel region leaves that region's pin (and maybe its lock)
    behind in the child, where no thread will release them."""
    global _pinned, _pin_lock
    _pinned, _pin_lock = 0, threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


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
    """xp.matmul(a, b, out=out); on numpy with OpenBLAS on one thread, a large product cut into pieces run on
    eagerlab's threads (parallel.cut_matmul)."""
    if xp is np:
        if _libs is None:
            _load()
        if _libs:
            if _current != 1:
                _use(1)
            if _limit > 1 and not _pinned:
                macs = _macs(a.shape, b.shape)
                if macs >= _SMALL_MACS:  # (so at least two pieces of PIECE_MACS)
                    done = parallel.cut_matmul(a, b, out, min(_limit, macs // PIECE_MACS))
                    if done is not None:
                        return done
    return xp.matmul(a, b, out=out)


def _macs(shape_a, shape_b):
    """Multiply-adds of a matmul of these shapes, the batch included."""
    batch = np.broadcast_shapes(shape_a[:-2], shape_b[:-2]) if len(shape_a) > 2 or len(shape_b) > 2 else ()
    rows = shape_a[-2] if len(shape_a) > 1 else 1
    cols = shape_b[-1] if len(shape_b) > 1 else 1
    return math.prod(batch) * rows * shape_a[-1] * cols


def single_thread():
    """Before a product computed by a numpy call other than this module's matmul (einsum, tensordot, a one-step
    recurrent cell's small GEMMs): OpenBLAS on one thread, as for every product (such calls are not cut)."""
    if _libs is None:
        _load()
    if _libs and _current != 1:
        _use(1)


def controls_threads():
    """Whether eagerlab can set the BLAS thread count (threadpoolctl is installed and found a BLAS)."""
    if _libs is None:
        _load()
    return bool(_libs)


@contextlib.contextmanager
def one_thread():
    """Every product inside runs whole on one BLAS thread, none is cut into pieces: for callers that already run
    work on several threads of their own (eagerlab.backend.parallel), where more threads would oversubscribe the
    cores."""
    global _pinned
    if _libs is None:
        _load()
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
    """The number of threads eagerlab uses on the CPU, as torch.set_num_threads: the pieces of large products
    (small ones run whole), a convolution's batch blocks and the pieces of a large parameter's optimizer update
    (backend/parallel.py). Other CPU work (numpy ufuncs) runs on the calling thread."""
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
    """The number of threads eagerlab uses on the CPU (torch.get_num_threads)."""
    if _libs is None:
        _load()
    return _limit
