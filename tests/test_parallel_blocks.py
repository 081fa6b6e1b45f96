"""Batch-parallel CPU kernels (eagerlab/backend/parallel.py): blocks run on eagerlab's own threads with every GEMM
held to one BLAS thread, results come back in block order, and the thread count never changes a result's bits."""
import multiprocessing
import os
import threading
import time

import numpy as np
import pytest

import eagerlab as el
from eagerlab.backend import blas, parallel

threadpoolctl = pytest.importorskip("threadpoolctl")

BIG = parallel.PARALLEL_MACS


@pytest.fixture
def threads():
    before = el.get_num_threads()
    yield
    el.set_num_threads(before)


def _record(lo, hi):
    return lo, hi, threading.current_thread().name, blas._pinned


def _slow_record(lo, hi):
    time.sleep(0.01)  # long enough that every thread takes some of the blocks
    return _record(lo, hi)


def test_blocks_run_on_the_caller_and_worker_threads_in_order_with_blas_held_to_one_thread(threads):
    el.set_num_threads(2)
    blocks = [(i, i + 1) for i in range(6)]
    out = parallel.map_blocks(_slow_record, blocks, BIG)
    assert [(lo, hi) for lo, hi, _, _ in out] == blocks
    names = {name for _, _, name, _ in out}
    assert threading.current_thread().name in names and any(n.startswith("eagerlab-cpu") for n in names)
    assert all(pinned for _, _, _, pinned in out)
    assert blas._pinned == 0  # released after the region


@pytest.mark.parametrize("n_threads,blocks,macs", [(1, [(0, 1), (1, 2)], BIG), (2, [(0, 2)], BIG),
                                                   (2, [(0, 1), (1, 2)], BIG - 1)])
def test_one_thread_one_block_or_little_work_runs_on_the_calling_thread(threads, n_threads, blocks, macs):
    el.set_num_threads(n_threads)
    out = parallel.map_blocks(_record, blocks, macs)
    assert {name for _, _, name, _ in out} == {threading.current_thread().name}


def test_a_kernel_that_maps_blocks_from_a_worker_runs_them_there(threads):
    el.set_num_threads(2)
    inner = parallel.map_blocks(lambda lo, hi: parallel.map_blocks(_slow_record, [(0, 1), (1, 2)], BIG),
                                [(0, 1), (1, 2)], BIG)
    for records in inner:
        assert len({name for _, _, name, _ in records}) == 1


def test_an_error_in_a_block_reaches_the_caller_and_releases_blas(threads):
    el.set_num_threads(2)

    def kernel(lo, hi):
        if lo == 3:
            raise ValueError("block 3 failed")
        return lo

    with pytest.raises(ValueError, match="block 3 failed"):
        parallel.map_blocks(kernel, [(i, i + 1) for i in range(5)], BIG)
    assert blas._pinned == 0


@pytest.mark.parametrize("transposed", [False, True])
def test_convolutions_give_the_same_bits_on_one_thread_and_on_two(threads, transposed):
    rng = np.random.default_rng(0)
    x = el.tensor(rng.standard_normal((10, 16, 20, 20)).astype(np.float32), requires_grad=True)
    layer = el.nn.ConvTranspose2d(16, 8, 3, stride=2) if transposed else el.nn.Conv2d(16, 32, 3)
    results = []
    for n in (1, 2):
        el.set_num_threads(n)
        x.grad = None
        layer.zero_grad()
        out = layer(x)
        (out * out).sum().backward()
        results.append([t.detach().numpy().tobytes() for t in (out, x.grad, layer.weight.grad, layer.bias.grad)])
    assert results[0] == results[1]


@pytest.mark.parametrize("layer_type", ["LSTM", "GRU", "RNN"])
def test_recurrent_layers_give_the_same_bits_on_one_thread_and_on_two(threads, layer_type):
    """The backward's weight and input gradients are products large enough to be cut into pieces on two threads."""
    rng = np.random.default_rng(0)
    x = el.tensor(rng.standard_normal((35, 20, 32)).astype(np.float32), requires_grad=True)
    el.manual_seed(0)
    layer = getattr(el.nn, layer_type)(32, 128, bidirectional=True)
    results = []
    for n in (1, 2):
        el.set_num_threads(n)
        x.grad = None
        layer.zero_grad()
        out, _ = layer(x)
        (out * out).sum().backward()
        results.append([t.detach().numpy().tobytes() for t in [out, x.grad] + [p.grad for p in layer.parameters()]])
    assert results[0] == results[1]


def _child_products(queue):
    a, x = el.randn(512, 512), el.randn(8, 16, 20, 20)
    queue.put([float((a @ a).sum()), tuple(el.nn.Conv2d(16, 32, 3)(x).shape)])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="does not apply: this platform has no fork")
def test_a_forked_child_runs_parallel_work_on_a_pool_of_its_own(threads):
    """A forked child inherits the parent's pool object without its threads: a task handed to it would never run
    (DataLoader workers and multiprocessing's fork)."""
    el.set_num_threads(2)
    el.randn(512, 512) @ el.randn(512, 512)  # the parent's pool exists
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_products, args=(queue,))
    child.start()
    try:
        total, shape = queue.get(timeout=60)
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
    assert np.isfinite(total) and shape == (8, 32, 18, 18) and child.exitcode == 0


def test_a_run_using_part_of_the_pool_keeps_the_pool(threads):
    el.set_num_threads(3)
    parallel.map_blocks(_record, [(0, 1), (1, 2), (2, 3)], BIG)
    pool = parallel._pool
    el.randn(200, 120) @ el.randn(120, 200)  # 4.8M multiply-adds: a cut in two pieces, not three
    parallel.map_blocks(_record, [(0, 1), (1, 2)], BIG)
    assert parallel._pool is pool and parallel._pool_threads == 3


def test_the_caller_does_not_wait_for_a_pool_thread_that_has_not_started(threads):
    """On a loaded machine a pool thread may start late: the caller takes every job itself and returns."""
    el.set_num_threads(2)
    pool, release = parallel._executor(2), threading.Event()
    busy = [pool.submit(release.wait, 10) for _ in range(2)]  # every pool thread occupied
    try:
        start = time.perf_counter()
        out = parallel._share(lambda job: (job, threading.current_thread().name), [0, 1, 2], 2)
        assert time.perf_counter() - start < 5
        assert out == [(job, threading.current_thread().name) for job in range(3)]
    finally:
        release.set()
        for f in busy:
            f.result()


def test_worker_tasks_run_once_report_errors_and_cancel_only_before_they_start():
    from eagerlab.backend.workers import Pool

    pool = Pool(1, "test-pool", lambda: None)
    try:
        gate, started = threading.Event(), threading.Event()

        def blocker():
            started.set()
            gate.wait(10)
            return "done"

        running = pool.submit(blocker)
        queued = pool.submit(lambda: pytest.fail("a cancelled task ran"))
        started.wait(10)
        assert not running.cancel()  # already started
        assert queued.cancel() and queued.exception() is None  # not started: it never will
        gate.set()
        assert running.result() == "done"
        failing = pool.submit(lambda: 1 / 0)
        assert isinstance(failing.exception(), ZeroDivisionError)
        with pytest.raises(ZeroDivisionError):
            failing.result()
        assert pool.submit(threading.current_thread).result().name.startswith("test-pool_")
    finally:
        pool.shutdown()
    # a caller still holding the pool after set_num_threads replaced it: the task runs, on the calling thread
    assert pool.submit(threading.current_thread).result() is threading.current_thread()


@pytest.mark.parametrize("mode", [True, False])
def test_work_handed_to_the_pool_runs_in_the_callers_denormal_mode(threads, monkeypatch, mode):
    """eagerlab.set_flush_denormal is per thread: the pool's pieces follow the thread that hands them over."""
    from eagerlab.backend import denormals

    if not el.set_flush_denormal(mode):
        pytest.skip("this platform has no flush-to-zero mode")
    try:
        el.set_flush_denormal(not mode)  # the pool's threads start in the other mode ...
        parallel._share(lambda job: denormals.set_flush_denormal(not mode), [0, 1], 2)
        el.set_flush_denormal(mode)  # ... and the caller's is the one that counts
        el.set_num_threads(2)
        monkeypatch.setattr(parallel, "ELEMENTWISE_MIN", 64)
        a = np.full(4096, 1e-38, np.float32)
        parallel.elementwise(lambda piece: piece.__imul__(np.float32(0.25)), a)  # 2.5e-39: a denormal
        assert ((a == 0) if mode else (a > 0)).all()
    finally:
        el.set_flush_denormal(False)
