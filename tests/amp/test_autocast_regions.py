"""autocast's regions: nesting, enabled=False inside, the decorator form, per-thread state, backward inside a
region (its ops are never cast), the other device type left alone, and PyTorch's warnings."""
import threading

import pytest

import eagerlab as el
import eagerlab.nn.functional as F


def _mm():
    return (el.ones(2, 3) @ el.ones(3, 2)).dtype


def test_nested_and_disabled_regions():
    assert _mm() is el.float32 and not el.is_autocast_enabled("cpu")
    with el.autocast("cpu"):
        assert _mm() is el.bfloat16 and el.get_autocast_dtype("cpu") is el.bfloat16
        with el.autocast("cpu", dtype=el.float16):
            assert _mm() is el.float16
            with el.autocast("cpu", enabled=False):
                assert _mm() is el.float32 and not el.is_autocast_enabled("cpu")
            assert _mm() is el.float16
        assert _mm() is el.bfloat16
    assert _mm() is el.float32


def test_the_same_object_reentered_and_as_a_decorator():
    ctx = el.autocast("cpu")
    with ctx:
        with ctx:
            assert _mm() is el.bfloat16
        assert _mm() is el.bfloat16
    assert _mm() is el.float32

    @el.autocast("cpu", dtype=el.float16)
    def forward():
        return _mm()

    assert forward() is el.float16 and _mm() is el.float32


def test_the_state_belongs_to_the_thread():
    seen = []
    with el.autocast("cpu"):
        worker = threading.Thread(target=lambda: seen.append(_mm()))
        worker.start()
        worker.join()
        assert _mm() is el.bfloat16
    assert seen == [el.float32]


def test_backward_inside_a_region_runs_in_the_forwards_dtypes():
    w = el.randn(4, 4, requires_grad=True)
    x = el.randn(3, 4)
    with el.autocast("cpu"):
        loss = F.mse_loss(F.relu(x @ w), el.zeros(3, 4))
        loss.backward()
    assert loss.dtype is el.float32 and w.grad.dtype is el.float32
    expected = w.grad.clone()
    w.grad = None
    with el.autocast("cpu"):
        loss = F.mse_loss(F.relu(x @ w), el.zeros(3, 4))
    loss.backward()  # the same gradient, outside the region
    assert (w.grad == expected).all()


def test_float64_and_other_device_types_are_left_alone():
    with el.autocast("cpu"):
        assert (el.ones(2, 2, dtype=el.float64) @ el.ones(2, 2, dtype=el.float64)).dtype is el.float64
    with pytest.warns(UserWarning, match="CUDA is not available"):
        ctx = el.autocast("cuda")
    if not el.cuda.is_available():
        with ctx:
            assert _mm() is el.float32


def test_arguments_are_checked_as_pytorch_does():
    with pytest.raises(ValueError, match="device_type must be 'cpu' or 'cuda'.*'cuda:0'"):
        el.autocast("cuda:0")
    with pytest.warns(UserWarning, match="target dtype float64 is not supported"):
        ctx = el.autocast("cpu", dtype=el.float64)
    with ctx:
        assert _mm() is el.float32
