"""Reductions beyond the generic harness: gradients at zeros (prod, cumprod, norm), PyTorch agreement on
options, and errors."""
import math

import numpy as np
import pytest

import eagerlab
from eagerlab.errors import DTypeError, UnsupportedError
from eagerlab.ops import reduce_prod


def _grad(fn, x):
    t = eagerlab.tensor(x, dtype=eagerlab.float64, requires_grad=True)
    fn(t).sum().backward()
    return t.grad.numpy()


def _cumprod_grad_reference(x):
    """d/dx_i sum_k cumprod(x)_k, by brute force."""
    n = len(x)
    return np.array([sum(np.prod([x[j] for j in range(k + 1) if j != i]) for k in range(i, n)) for i in range(n)])


@pytest.mark.parametrize("zeros", [(), (0,), (5,), (3, 7), (2, 3)])
def test_cumprod_gradient_with_zeros_on_both_paths(zeros, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 1.5, 9)
    x[list(zeros)] = 0.0
    want = _cumprod_grad_reference(x)
    np.testing.assert_allclose(_grad(lambda t: t.cumprod(0), x), want, rtol=1e-12, atol=1e-12)
    monkeypatch.setattr(reduce_prod, "_QUADRATIC_CUMPROD_GRAD", 4)  # force the O(n) path on a short row
    np.testing.assert_allclose(_grad(lambda t: t.cumprod(0), x), want, rtol=1e-12, atol=1e-12)


def test_prod_gradient_with_zeros():
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.0, 2.0, 4.0]])
    np.testing.assert_allclose(_grad(lambda t: t.prod(1), x), [[0, 6, 0], [0, 0, 0], [8, 4, 2]])
    np.testing.assert_allclose(_grad(lambda t: t.prod(), x[:1]), [[0, 6, 0]])


def test_norm_gradient_is_zero_at_zero():
    x = np.array([[0.0, 0.0], [3.0, 4.0]])
    for p in (2, 3, 0.5):
        g = _grad(lambda t: t.norm(p, 1), x)
        assert np.all(np.isfinite(g)) and np.all(g[0] == 0)
    np.testing.assert_allclose(_grad(lambda t: t.norm(2, 1), x)[1], [0.6, 0.8])


@pytest.mark.parametrize("p", ["fro", 1, 2, 3, 0.5, 0, math.inf, -math.inf])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), ((0, 2), True), (-1, True)])
def test_norm_matches_torch(p, dim, keepdim):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((3, 4, 5)).astype(np.float32)
    x[0, 0, 0] = 0.0
    t = eagerlab.tensor(x, requires_grad=True)
    out = t.norm(p, dim, keepdim)
    out.sum().backward()
    tt = torch.tensor(x, requires_grad=True)
    want = torch.norm(tt, p, dim, keepdim)
    want.sum().backward()
    assert out.dtype is eagerlab.float32
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-5, atol=1e-6)
    want_grad = tt.grad.numpy() if tt.grad is not None else np.zeros_like(x)  # torch: p=0 has no grad_fn
    np.testing.assert_allclose(t.grad.numpy(), want_grad, rtol=1e-4, atol=1e-6)


def test_prod_cumprod_match_torch_on_integers_and_dtype():
    torch = pytest.importorskip("torch")
    x = np.array([[1, 2, 3], [4, 0, 6]], dtype=np.int32)
    assert eagerlab.tensor(x).prod(1).dtype is eagerlab.int64
    np.testing.assert_array_equal(eagerlab.tensor(x).prod(1).numpy(), torch.tensor(x).prod(1).numpy())
    np.testing.assert_array_equal(eagerlab.tensor(x).cumprod(1).numpy(), torch.tensor(x).cumprod(1).numpy())
    np.testing.assert_array_equal(eagerlab.tensor(x).count_nonzero(0).numpy(),
                                  torch.count_nonzero(torch.tensor(x), 0).numpy())


def test_errors_name_the_op():
    with pytest.raises(DTypeError, match="norm: .*int64"):
        eagerlab.tensor([1, 2]).norm()
    with pytest.raises(UnsupportedError, match="norm: p='nuc'"):
        eagerlab.ones(2, 2).norm("nuc")
    with pytest.raises(IndexError, match="cumprod"):
        eagerlab.ones(2, 2).cumprod(2)
    with pytest.raises(DTypeError, match="lerp: .*float32 and float64"):
        eagerlab.lerp(eagerlab.ones(2), eagerlab.ones(2, dtype=eagerlab.float64), 0.5)
