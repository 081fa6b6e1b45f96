"""The BLAS thread policy: small GEMMs on one thread, large ones on get_num_threads(), and set/get_num_threads as in
PyTorch. The thread count never changes a product's bits (OpenBLAS splits the output, not the inner sum)."""
import numpy as np
import pytest

import eagerlab as el

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads():
    return [info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"]


@pytest.fixture
def threads():
    before = el.get_num_threads()
    yield
    el.set_num_threads(before)


def _randn(*shape):
    return el.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32))


def test_small_gemms_run_on_one_thread_and_large_ones_on_the_limit(threads):
    el.set_num_threads(2)
    el.matmul(_randn(20, 128), _randn(128, 512))  # an LSTM step's GEMM: 2.6 MFLOP
    assert set(_blas_threads()) == {1}
    el.nn.functional.linear(_randn(256, 256), _randn(256, 256))  # 33.5 MFLOP
    assert set(_blas_threads()) == {2}
    el.set_num_threads(1)
    assert el.get_num_threads() == 1
    el.matmul(_randn(256, 256), _randn(256, 256))
    assert set(_blas_threads()) == {1}


def test_convolutions_follow_the_policy(threads):
    el.set_num_threads(2)
    conv = el.nn.Conv2d(32, 64, 3)  # per sample (64, 288) @ (288, 576): 21 MFLOP
    conv(_randn(1, 32, 26, 26))  # one sample is one block: its GEMM uses the BLAS threads
    assert set(_blas_threads()) == {2}
    # two samples are two blocks, run on two threads of eagerlab's own, each GEMM on one BLAS thread
    conv(_randn(2, 32, 26, 26)).sum().backward()
    assert set(_blas_threads()) == {1}
    el.nn.Conv2d(1, 4, 3)(_randn(2, 1, 8, 8))  # (4, 9) @ (9, 36)
    assert set(_blas_threads()) == {1}


def test_compiled_products_follow_the_policy(threads):
    el.set_num_threads(2)
    step = el.function(lambda a, b: (a @ b) * 2)
    small, large = (_randn(8, 8), _randn(8, 8)), (_randn(256, 256), _randn(256, 256))
    step(*large)
    assert set(_blas_threads()) == {2}
    step(*small)
    assert set(_blas_threads()) == {1}


def test_the_thread_count_does_not_change_the_bits(threads):
    a, b = _randn(300, 200), _randn(200, 250)
    el.set_num_threads(1)
    one = (a @ b).numpy()
    el.set_num_threads(2)
    two = (a @ b).numpy()
    assert one.tobytes() == two.tobytes()


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_num_threads_rejects_what_is_not_a_positive_integer(bad, threads):
    with pytest.raises(ValueError, match="set_num_threads: expected a positive integer"):
        el.set_num_threads(bad)

