"""The CPU thread policy for products: OpenBLAS always on one thread, products of at least 8 MFLOP cut into
get_num_threads() pieces run on eagerlab's threads (backend/parallel.py), set/get_num_threads as in PyTorch. A cut
never changes a product's bits (the pieces stay above OpenBLAS's small-matrix kernels)."""
import numpy as np
import pytest

import eagerlab as el
from eagerlab.backend import blas, parallel

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads():
    return [info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"]


@pytest.fixture
def threads():
    before = el.get_num_threads()
    yield
    el.set_num_threads(before)


@pytest.fixture
def cuts(monkeypatch):
    """The number of jobs of every parallel run (_share), in order."""
    seen = []
    share = parallel._share

    def spy(fn, jobs, n):
        seen.append(len(jobs))
        return share(fn, jobs, n)

    monkeypatch.setattr(parallel, "_share", spy)
    return seen


def _randn(*shape, order="C"):
    a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    return el.tensor(np.asfortranarray(a) if order == "F" else a)


def test_openblas_stays_on_one_thread_and_large_products_are_cut(threads, cuts):
    el.set_num_threads(2)
    el.matmul(_randn(20, 128), _randn(128, 512))  # an LSTM step's GEMM: 2.6 MFLOP, whole
    assert cuts == [] and set(_blas_threads()) == {1}
    el.nn.functional.linear(_randn(256, 256), _randn(256, 256))  # 33.5 MFLOP: two pieces
    assert cuts == [2] and set(_blas_threads()) == {1}
    el.set_num_threads(1)
    assert el.get_num_threads() == 1
    el.matmul(_randn(256, 256), _randn(256, 256))
    assert cuts == [2]


@pytest.mark.parametrize("a_shape,b_shape,order", [
    ((300, 200), (200, 250), "C"),  # rows
    ((200, 300), (200, 250), "F"),  # rows of a transposed operand (a weight gradient's x^T @ g)
    ((8, 40, 200), (200, 250), "C"),  # (batch, time, features) @ W: the rows of all batches at once
    ((12, 4, 64, 32), (12, 4, 32, 64), "C"),  # attention's stacks: the batch
    ((40, 500), (500, 900), "C"),  # too few rows for two pieces: columns
])
def test_a_cut_product_has_the_bits_of_a_whole_one(threads, cuts, a_shape, b_shape, order):
    a, b = _randn(*a_shape, order=order), _randn(*b_shape)
    if order == "F":
        a = a.T
    el.set_num_threads(1)
    whole = (a @ b).numpy()
    el.set_num_threads(2)
    cut = (a @ b).numpy()
    assert cuts == [2] and whole.tobytes() == cut.tobytes()


def test_convolutions_run_their_blocks_on_eagerlab_threads(threads, cuts):
    el.set_num_threads(2)
    conv = el.nn.Conv2d(32, 64, 3)  # per sample (64, 288) @ (288, 576): 21 MFLOP
    conv(_randn(2, 32, 26, 26).requires_grad_()).sum().backward()  # two samples: two blocks in each of 3 kernels
    assert cuts == [2, 2, 2] and set(_blas_threads()) == {1}
    el.nn.Conv2d(1, 4, 3)(_randn(2, 1, 8, 8))  # (4, 9) @ (9, 36): little work, on the calling thread
    assert cuts == [2, 2, 2]


def test_compiled_products_follow_the_policy(threads, cuts):
    el.set_num_threads(2)
    step = el.function(lambda a, b: (a @ b) * 2)
    step(_randn(8, 8), _randn(8, 8))
    assert cuts == []
    step(_randn(256, 256), _randn(256, 256))
    assert cuts == [2]


def test_a_product_into_a_non_contiguous_output_or_of_mixed_dtypes_runs_whole(threads, cuts):
    el.set_num_threads(2)
    a, b = np.ones((300, 200), np.float32), np.ones((200, 250), np.float32)
    out = np.empty((250, 300), np.float32).T
    np.testing.assert_array_equal(blas.matmul(np, a, b, out=out), a @ b)
    np.testing.assert_array_equal(blas.matmul(np, a, b.astype(np.float64)), a @ b)
    assert cuts == []


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_num_threads_rejects_what_is_not_a_positive_integer(bad, threads):
    with pytest.raises(ValueError, match="set_num_threads: expected a positive integer"):
        el.set_num_threads(bad)



def test_one_thread_works_before_any_product():
    """blas.one_thread as the process's first BLAS use (a parallel region entered before any GEMM) finds the BLAS
    libraries itself."""
    import subprocess
    import sys

    code = ("from eagerlab.backend import blas\n"
            "with blas.one_thread():\n"
            "    assert blas._pinned == 1\n"
            "assert blas._pinned == 0\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)



@pytest.mark.parametrize("layer", ["nn.LSTM(4, 8)", "nn.GRU(4, 8)", "nn.LSTMCell(4, 8)"])
def test_recurrent_layers_run_their_step_products_on_one_openblas_thread(layer):
    """A recurrent layer's step GEMMs are numpy calls of their own (small: OpenBLAS's threads would cost more than
    they save, and their time would escape a thread's CPU clock): when a recurrent layer's products are the
    process's first, OpenBLAS still ends on one thread, as after any other product."""
    import os
    import subprocess
    import sys

    code = f"""
import eagerlab as el, threadpoolctl
from eagerlab import nn

def blas_threads():
    return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]

if blas_threads() and blas_threads()[0] > 1:  # (a one-core machine has nothing to check)
    layer = {layer}
    x = el.randn(3, 4) if "Cell" in type(layer).__name__ else el.randn(5, 3, 4)
    layer(x)
    assert blas_threads() == [1], blas_threads()
"""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, env=env)
