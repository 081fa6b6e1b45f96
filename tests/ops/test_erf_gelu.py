"""erf in float32 (its own algorithm, not the float64 one) and the fused exact-gelu primitive: accuracy on a dense
grid, special values, low precision, and agreement with PyTorch's float32 gelu forward and backward."""
import math

import numpy as np
import pytest

import eagerlab as el
from eagerlab.ops._erf import erf_float32, erf_impl


def _grid():
    """Every region of float32 erf: a dense grid over [-6, 6], tiny magnitudes (where erf(x) ~ 2x/sqrt(pi) and
    the error is relative), and huge ones (where x^2 overflows inside the polynomial)."""
    tiny = np.float32(10) ** np.arange(-38, -1, 0.05, dtype=np.float32)
    huge = np.float32(10) ** np.arange(0.8, 38.5, 0.05, dtype=np.float32)
    x = np.concatenate([np.linspace(-6, 6, 240_001, dtype=np.float32), tiny, -tiny, huge, -huge])
    return x[np.isfinite(x)]


def _ulps(a, b):
    """Distance in float32 units in the last place (a and b of the same sign, as erf's results and references)."""
    return np.abs(a.view(np.int32).astype(np.int64) - b.view(np.int32).astype(np.int64))


def test_erf_float32_within_3_ulp_of_the_correctly_rounded_erf():
    x = _grid()
    got = erf_float32(np, x)
    assert got.dtype == np.float32
    want = np.array([math.erf(v) for v in x.tolist()]).astype(np.float32)
    same_sign = np.sign(got) == np.sign(want)
    assert same_sign.all(), x[~same_sign][:5]
    assert _ulps(got, want).max() <= 3


def test_erf_float32_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 4.5, 100.0, -1e30], np.float32)
    got = erf_float32(np, x)
    assert np.array_equal(got[:4], [0.0, -0.0, 1.0, -1.0])
    assert np.signbit(got[1]) and np.isnan(got[4])
    assert got[5] == np.float32(1e-45 * 2 / math.sqrt(math.pi))
    assert got[6] == got[7] == 1 and got[8] == -1  # float32 erf rounds to 1 from 3.92 on
    assert erf_float32(np, np.float32(0.5)).shape == ()  # a numpy scalar from compiled code: a 0-d array back


def test_erf_16_bit_floats_go_through_float32_and_round_once():
    x = np.linspace(-4, 4, 801).astype(np.float16)
    got = erf_impl(np, x)
    assert got.dtype == np.float16
    assert np.array_equal(got, erf_float32(np, x.astype(np.float32)).astype(np.float16))


def test_erf_float64_keeps_its_own_algorithm():
    x = np.linspace(-5, 5, 1001)
    want = np.array([math.erf(v) for v in x])
    assert np.abs(erf_impl(np, x) - want).max() <= 1e-14  # (float32 erf: ~1e-7)
    assert np.abs(el.erf(el.tensor(x)).numpy() - want).max() <= 1e-14  # (float32 erf: ~1e-7)


def _gelu64(x):
    return x * 0.5 * np.array([math.erfc(-v / math.sqrt(2)) for v in x.tolist()])


def test_gelu_float32_forward_and_backward_against_float64():
    x = np.linspace(-8, 8, 20_001).astype(np.float32)
    t = el.tensor(x, requires_grad=True)
    y = el.nn.functional.gelu(t)
    assert y.dtype == el.float32
    ref = _gelu64(x.astype(np.float64))
    # Phi is 0.5 (1 + erf): absolute error of float32's rounding near 1, times |x|
    assert np.abs(y.detach().numpy() - ref).max() <= 2e-7 * 8
    y.backward(el.ones_like(y))
    xd = x.astype(np.float64)
    dref = 0.5 * (1 + np.array([math.erf(v / math.sqrt(2)) for v in xd.tolist()])) + xd * np.exp(-xd * xd / 2) / \
        math.sqrt(2 * math.pi)
    assert np.abs(t.grad.numpy() - dref).max() <= 4e-7


def test_gelu_matches_torch_float32_forward_backward_double_backward():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((6, 50)).astype(np.float32) * 3
    g = np.random.default_rng(1).standard_normal((6, 50)).astype(np.float32)
    a, b = el.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ya, yb = el.nn.functional.gelu(a), torch.nn.functional.gelu(b)
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=1e-6, atol=1e-6)
    (ga,) = el.autograd.grad(ya, a, el.tensor(g), create_graph=True)
    (gb,) = torch.autograd.grad(yb, b, torch.tensor(g), create_graph=True)
    np.testing.assert_allclose(ga.detach().numpy(), gb.detach().numpy(), rtol=1e-6, atol=1e-6)
    (gga,), (ggb,) = el.autograd.grad(ga.sum(), a), torch.autograd.grad(gb.sum(), b)
    np.testing.assert_allclose(gga.detach().numpy(), ggb.numpy(), rtol=1e-5, atol=1e-6)


def test_gelu_is_one_primitive_and_computes_integers_in_float():
    x = el.tensor(np.linspace(-2, 2, 12, dtype=np.float32), requires_grad=True)
    y = el.nn.functional.gelu(x)
    assert y.grad_fn is not None and "gelu" in type(y.grad_fn).__name__.lower() + repr(y.grad_fn).lower()
    assert el.nn.functional.gelu(el.tensor([-1, 0, 2])).dtype == el.float32  # integers compute in float


def test_gelu_rejects_an_unknown_approximation():
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got 'fast'"):
        el.nn.functional.gelu(el.tensor([1.0]), approximate="fast")


def test_gelu_float32_normal_cdf_within_1e7_and_positive_side_within_2_ulp():
    """float32 gelu evaluates erf(x / sqrt 2) with the scale folded into the polynomial's coefficients."""
    from eagerlab.ops.activation import _gelu_impl

    x = np.linspace(-10, 10, 100_001).astype(np.float32)
    out, cdf = _gelu_impl(np, x)
    phi = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x.astype(np.float64).tolist()])
    assert out.dtype == cdf.dtype == np.float32
    assert np.abs(cdf - phi).max() <= 1.5e-7
    pos = x > 0.01
    ref = x[pos].astype(np.float64) * phi[pos]
    assert (np.abs(out[pos] - ref) / ref).max() <= 2.5e-7
