"""Linear layers and matmuls with a 2-D right operand on (B, T, C) inputs run as single 2-D GEMMs over the B*T
rows, forward and backward (no batched matmul, no broadcast copy of the weight)."""
import numpy as np
import pytest

import eagerlab as el
import eagerlab.ops.linalg as linalg


@pytest.fixture
def gemms(monkeypatch):
    calls = []
    real = linalg.gemm

    def spy(xp, a, b, out=None):
        calls.append((a.shape, b.shape))
        return real(xp, a, b, out)

    monkeypatch.setattr(linalg, "gemm", spy)
    return calls


def _data(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_linear_on_3d_input_is_one_gemm_each_way(gemms):
    x, w = el.tensor(_data(3, 5, 4), requires_grad=True), el.tensor(_data(6, 4, seed=1), requires_grad=True)
    y = el.nn.functional.linear(x, w)
    assert gemms == [((15, 4), (4, 6))]
    y.backward(el.tensor(_data(3, 5, 6, seed=2)))
    assert sorted(gemms[1:]) == sorted([((15, 6), (6, 4)), ((6, 15), (15, 4))])
    g = _data(3, 5, 6, seed=2).reshape(15, 6)
    np.testing.assert_allclose(w.grad.numpy(), g.T @ x.detach().numpy().reshape(15, 4), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), (g @ w.detach().numpy()).reshape(3, 5, 4), rtol=1e-5, atol=1e-5)


def test_matmul_with_a_2d_right_operand_is_one_gemm_each_way(gemms):
    a, b = el.tensor(_data(2, 3, 5, 4), requires_grad=True), el.tensor(_data(4, 6, seed=1), requires_grad=True)
    out = a @ b
    assert gemms == [((30, 4), (4, 6))]
    out.backward(el.ones_like(out))
    assert sorted(gemms[1:]) == sorted([((30, 6), (6, 4)), ((4, 30), (30, 6))])
    np.testing.assert_allclose(b.grad.numpy(), a.detach().numpy().reshape(30, 4).T @ np.ones((30, 6), np.float32),
                               rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(a.grad.numpy(), np.ones((2, 3, 5, 6), np.float32) @ b.detach().numpy().T, rtol=1e-5)


def test_weight_gradient_double_backward_matches_torch():
    torch = pytest.importorskip("torch")
    x, w = _data(2, 3, 4).astype(np.float64), _data(5, 4, seed=1).astype(np.float64)
    res = []
    for lib in (el, torch):
        tx, tw = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        y = lib.nn.functional.linear(tx, tw)
        (gw,) = lib.autograd.grad((y * y).sum(), tw, create_graph=True)
        gx, gw2 = lib.autograd.grad((gw * gw).sum(), (tx, tw))
        res.append([v.detach().numpy() for v in (gw, gx, gw2)])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-10)
