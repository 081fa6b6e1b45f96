"""The kernels under small-model attention: softmax shifted by the array's maximum (with its per-row fallback),
the fused softmax backward, stacks of small transposed matmul operands, and causal scaled_dot_product_attention."""
import numpy as np
import pytest

import eagerlab as el
from eagerlab.ops.softmax import _softmax_impl, _sums


def _softmax64(x, dim=-1):
    x = x.astype(np.float64)
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def _per_row(x, dim=-1):
    """The per-row-shift softmax in float32 (what rows that fail the global shift's check get)."""
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / _sums(np, e, dim % x.ndim)


@pytest.mark.parametrize("dim", [-1, 1])
def test_softmax_global_shift_is_float32_accurate(dim):
    x = (np.random.default_rng(0).standard_normal((6, 5, 64)) * 3).astype(np.float32)
    x[..., ::2, 40:] = -np.inf  # masked entries, as causal attention has
    got = _softmax_impl(np, x, dim % 3)
    np.testing.assert_allclose(got, _softmax64(x, dim), rtol=2e-6, atol=1e-30)
    assert got.dtype == np.float32


def test_softmax_rows_far_below_the_maximum_take_the_per_row_shift():
    x = np.random.default_rng(1).standard_normal((4, 8)).astype(np.float32)
    x[2] -= 200  # its exponentials would all underflow against the array's maximum
    got = _softmax_impl(np, x, 1)
    assert np.array_equal(got, _per_row(x))
    np.testing.assert_allclose(got[2].sum(), 1, rtol=1e-6)


def test_softmax_all_masked_row_is_nan_and_inf_nan_propagate_as_before():
    x = np.zeros((3, 4), np.float32)
    x[0] = -np.inf
    x[1, 2] = np.nan
    x[2, 1] = np.inf
    with np.errstate(invalid="ignore"):
        got, want = _softmax_impl(np, x, 1), _per_row(x)
    assert np.array_equal(got, want, equal_nan=True)
    assert np.isnan(got[0]).all() and np.isnan(got[1]).all()


def test_softmax_backward_matches_torch_including_double_backward():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal((3, 4, 7)).astype(np.float32)
    g = np.random.default_rng(3).standard_normal((3, 4, 7)).astype(np.float32)
    outs = []
    for lib in (el, torch):
        t = lib.tensor(x, requires_grad=True)
        y = lib.softmax(t, -1)
        (gx,) = lib.autograd.grad(y, t, lib.tensor(g), create_graph=True)
        (ggx,) = lib.autograd.grad((gx * gx).sum(), t)
        outs.append([v.detach().numpy() for v in (y, gx, ggx)])
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [((12, 4, 64, 32), (12, 4, 64, 64)), ((2, 3, 8, 5), (2, 3, 8, 8)),
                                   ((2, 200, 70), (2, 90, 70))])
def test_matmul_with_a_transposed_stack_as_right_operand(shape):
    """Small stacks are copied row-major before the GEMM, large ones not: both equal numpy's product."""
    (sa, sb), rng = shape, np.random.default_rng(4)
    a = rng.standard_normal(sa).astype(np.float32)
    b = rng.standard_normal(sb[:-2] + (sb[-1], sa[-1])).astype(np.float32)
    bt = np.swapaxes(b, -1, -2)  # a view: (..., k, n) with unit stride along k
    ta, tb = el.tensor(a, requires_grad=True), el.tensor(b, requires_grad=True)
    out = ta @ tb.transpose(-1, -2)
    np.testing.assert_allclose(out.detach().numpy(), a @ bt, rtol=1e-5, atol=1e-5)
    out.backward(el.ones_like(out))
    np.testing.assert_allclose(ta.grad.numpy(), np.ones(out.shape, np.float32) @ b, rtol=1e-5, atol=1e-4)
    assert tb.detach().transpose(-1, -2).numpy().strides == bt.strides  # the operand itself is left as it was


@pytest.mark.parametrize("L, S", [(6, 6), (7, 4), (1, 1)])
def test_causal_attention_matches_torch(L, S):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    q, k, v = (rng.standard_normal(s).astype(np.float32) for s in ((2, 3, L, 8), (2, 3, S, 8), (2, 3, S, 4)))
    outs = []
    for lib in (el, torch):
        ts = [lib.tensor(a, requires_grad=True) for a in (q, k, v)]
        y = lib.nn.functional.scaled_dot_product_attention(*ts, is_causal=True)
        y.backward(lib.ones_like(y))
        outs.append([y.detach().numpy()] + [t.grad.numpy() for t in ts])
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
