"""Speed-motivated rewrites give the bits the plain form gives: relu against a zeros buffer instead of a scalar,
and the tape's save fast path (same gradients, same stale-tensor errors)."""
import numpy as np
import pytest

import eagerlab as el
from eagerlab.backend import kernels
from eagerlab.errors import AutogradError

SPECIALS = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-40, -1e-40, 3.0, -3.0]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(37, 5), (), (0, 3), (2, 3, 4)])
def test_relu_kernel_gives_maximum_with_zeros_bits(dtype, shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    if x.size >= len(SPECIALS):
        x.reshape(-1)[:len(SPECIALS)] = SPECIALS
    want = np.maximum(x, 0)
    assert kernels.relu(np, x).tobytes() == want.tobytes()
    if dtype == np.float16:  # the op computes 16-bit floats in float32 and rounds (numpy's own float16 maximum keeps
        want = np.maximum(x.astype(np.float32), 0).astype(np.float16)  # -0.0 where float32's gives 0.0)
    for got in (el.relu(el.tensor(x)).numpy(), el.function(el.relu)(el.tensor(x)).numpy()):
        assert got.dtype == want.dtype and got.shape == want.shape and got.tobytes() == want.tobytes()


def test_relu_kernel_on_non_contiguous_integer_and_into_out():
    x = np.random.default_rng(1).standard_normal((6, 8)).astype(np.float32)
    assert kernels.relu(np, x.T).tobytes() == np.maximum(x.T, 0).tobytes()
    ints = np.arange(-3, 4)
    assert kernels.relu(np, ints).tolist() == [0, 0, 0, 0, 1, 2, 3]
    out = np.empty_like(x)
    assert kernels.relu(np, x, out) is out and out.tobytes() == np.maximum(x, 0).tobytes()
    small = kernels.relu(np, x[:2])  # a smaller input after a larger one reuses the buffer's head
    assert small.tobytes() == np.maximum(x[:2], 0).tobytes()


def test_relu_gradient_and_stale_output_error_unchanged():
    x = el.tensor([[-1.0, 2.0], [3.0, -4.0]], requires_grad=True)
    y = el.relu(x)
    y.backward(el.ones(2, 2))
    assert x.grad.tolist() == [[0.0, 1.0], [1.0, 0.0]]
    x.grad = None
    y = el.relu(x)
    with el.no_grad():
        y.add_(1)  # the saved output is now stale
    with pytest.raises(AutogradError, match="modified by an inplace operation"):
        y.backward(el.ones(2, 2))


def test_ops_saving_inputs_and_outputs_keep_their_versions():
    x = el.tensor([1.0, 2.0], requires_grad=True)
    y = x * x  # saves both inputs
    z = y.exp()  # saves its output
    z.sum().backward()
    assert np.allclose(x.grad.numpy(), 2 * x.detach().numpy() * np.exp(x.detach().numpy() ** 2))
