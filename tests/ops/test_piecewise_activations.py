"""leaky_relu and elu: their primitives give PyTorch's values and gradients (leaky_relu bit for bit, NaN, infinities
and -0.0 included, in every float type; elu within its exp/expm1 ulps), their in-place forms keep PyTorch's autograd
rules, and compiled, fused and double-backward uses agree with eager ones. (The generic OpInfo tests add gradcheck,
gradgradcheck and the reference and PyTorch checks of their samples.)"""
import numpy as np
import pytest

import eagerlab as el
import eagerlab.nn.functional as F
from eagerlab.backend import piecewise
from eagerlab.errors import AutogradError, DTypeError

SPECIALS = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-40, -1e-40, 1e-310, -1e-310, 3e38, -3e38, 2.5, -2.5]
SLOPES = [0.2, 0.01, 0.0, 1.0, 1.5, 100.0, -0.3, 1e-50]


def _inputs(dtype, n=300, seed=0):
    """Special values, then normal and tiny random ones (x), and a gradient with its own specials (g)."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([SPECIALS, rng.standard_normal(n) * 10, rng.standard_normal(n) * 1e-38])
    g = np.concatenate([SPECIALS[::-1], rng.standard_normal(2 * n)])
    return x.astype(dtype), g.astype(dtype)


def _same_bits(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes(), np.flatnonzero(got.view(np.uint8) != want.view(np.uint8))[:10]


def _torch_pair(torch, fn, x, g, **kw):
    t = torch.tensor(x, requires_grad=True)
    y = fn(t, **kw)
    y.backward(torch.tensor(g))
    return y.detach().numpy(), t.grad.numpy()


def _ours(fn, x, g, **kw):
    t = el.tensor(x, requires_grad=True)
    y = fn(t, **kw)
    y.backward(el.tensor(g))
    return y.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("slope", SLOPES)
def test_leaky_relu_forward_backward_and_in_place_are_pytorchs_bits(dtype, slope):
    torch = pytest.importorskip("torch")
    x, g = _inputs(dtype)
    want_y, want_g = _torch_pair(torch, torch.nn.functional.leaky_relu, x, g, negative_slope=slope)
    got_y, got_g = _ours(F.leaky_relu, x, g, negative_slope=slope)
    _same_bits(got_y, want_y)
    _same_bits(got_g, want_g)
    h = el.tensor(x)
    assert F.leaky_relu(h, slope, inplace=True) is h
    _same_bits(h.numpy(), want_y)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("slope", [0.2, 0.0, 1.5, -0.3])
def test_leaky_relu_in_16_bits_is_pytorchs_float32_rounded_once(dtype, slope):
    """PyTorch computes 16-bit leaky_relu and its backward in float32 and rounds once; so does the op (its NaNs
    may differ in sign bit only: float32 -> bfloat16 rounding keeps a NaN's sign, PyTorch's does not)."""
    torch = pytest.importorskip("torch")
    x, g = _inputs(np.float32, n=200)
    tx, tg = (torch.tensor(a).to(getattr(torch, dtype)) for a in (x, g))
    t = tx.clone().requires_grad_()
    torch.nn.functional.leaky_relu(t, slope).backward(tg)
    want = [w.float().numpy() for w in (torch.nn.functional.leaky_relu(tx, slope), t.grad)]
    ours = el.tensor(tx.float().numpy()).to(getattr(el, dtype)).requires_grad_()
    y = F.leaky_relu(ours, slope)
    y.backward(el.tensor(tg.float().numpy()).to(getattr(el, dtype)))
    assert y.dtype == ours.grad.dtype == getattr(el, dtype)
    for got, w in zip((y.float().detach().numpy(), ours.grad.float().numpy()), want):
        assert np.array_equal(np.isnan(got), np.isnan(w))
        _same_bits(np.where(np.isnan(got), 0, got), np.where(np.isnan(w), 0, w))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.0, -0.5])
def test_elu_matches_pytorch_and_keeps_special_values(dtype, alpha):
    torch = pytest.importorskip("torch")
    x, g = _inputs(dtype)
    want_y, want_g = _torch_pair(torch, torch.nn.functional.elu, x, g, alpha=alpha)
    got_y, got_g = _ours(F.elu, x, g, alpha=alpha)
    tol = dict(rtol=4e-7, atol=0) if dtype == np.float32 else dict(rtol=1e-15, atol=0)
    for got, want in ((got_y, want_y), (got_g, want_g)):
        assert got.dtype == want.dtype and np.array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got, want, **tol)
    positive = x > 0  # no exp there: exact, as are the -0.0 and the saturated values
    _same_bits(got_y[positive], want_y[positive])
    _same_bits(got_g[positive], want_g[positive])
    if alpha > 0:
        assert np.signbit(got_y[list(x[:len(SPECIALS)]).index(0.0) + 1])  # elu(-0.0) is -0.0
    assert got_y[3] == -alpha  # elu(-inf)
    if dtype == np.float64 and alpha > 0:  # numpy's and PyTorch's float64 expm1 agree here: the bits too
        _same_bits(got_y, want_y)


def test_kernels_on_zero_d_non_contiguous_and_into_their_input():
    x = np.random.default_rng(1).standard_normal((6, 8)).astype(np.float32)
    g = np.random.default_rng(2).standard_normal((8, 6)).astype(np.float32)
    for slope in (0.2, 1.5, -0.3):
        want = np.where(x.T > 0, x.T, x.T * np.float32(slope))
        _same_bits(piecewise.leaky_relu(np, x.T, slope), want)
        _same_bits(piecewise.leaky_relu_backward(np, g, x.T, slope), np.where(x.T > 0, g, g * np.float32(slope)))
        zero_d = piecewise.leaky_relu(np, np.array(-2.0), slope)
        assert zero_d.shape == () and zero_d == -2.0 * slope
        into = x.copy()
        assert piecewise.leaky_relu(np, into, slope, out=into) is into
        _same_bits(into, np.where(x > 0, x, x * np.float32(slope)))
        for alpha in (1.0, slope):
            want = np.where(x > 0, x, np.float32(alpha) * np.expm1(np.minimum(x, 0)))
            into = x.copy()
            assert piecewise.elu(np, into, alpha, out=into) is into
            _same_bits(into, want)
            assert piecewise.elu_backward(np, np.array(3.0), np.array(-1.0), alpha).shape == ()
    assert piecewise.choose(np, np.array([True, False]), 1, 0.2, np.dtype(np.float64)).tolist() == [1.0, 0.2]


def test_double_backward_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = np.array([-2.0, -0.5, 0.7, 3.0])
    for ours_fn, torch_fn, kw in ((F.leaky_relu, torch.nn.functional.leaky_relu, {"negative_slope": 0.2}),
                                  (F.elu, torch.nn.functional.elu, {"alpha": 0.7})):
        grads = []
        for lib, fn in ((el, ours_fn), (torch, torch_fn)):
            t = lib.tensor(x, requires_grad=True)
            (gx,) = lib.autograd.grad((fn(t, **kw) ** 2).sum(), t, create_graph=True)
            (ggx,) = lib.autograd.grad((gx * gx).sum(), t)
            grads.append((gx.detach().numpy(), ggx.numpy()))
        for got, want in zip(*grads):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_in_place_forms_follow_pytorchs_autograd_rules():
    x = el.tensor([-1.0, 2.0, -3.0], requires_grad=True)
    with pytest.raises(AutogradError, match="leaky_relu_: a leaf Variable that requires grad"):
        F.leaky_relu(x, 0.2, inplace=True)
    with pytest.raises(AutogradError, match="elu_: a leaf Variable"):
        F.elu_(x)
    for fn, below_zero in ((lambda h: F.leaky_relu(h, 0.2, inplace=True), lambda v: 0.2),
                           (lambda h: F.leaky_relu_(h, -0.5), lambda v: -0.5),  # (PyTorch refuses this backward)
                           (lambda h: F.elu(h, 0.5, inplace=True), lambda v: 0.5 * np.exp(v))):
        h = x * 1
        version = h._version
        assert fn(h) is h and h._version == version + 1
        assert h.grad_fn.name() in ("LeakyReluBackward0", "EluBackward0")
        h.sum().backward()
        want = [1.0 if v > 0 else below_zero(v) for v in (-1, 2, -3)]
        np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-6)
        x.grad = None
    h = x * 1
    y = h * h  # saved h at its version before the in-place op
    F.leaky_relu(h, 0.2, inplace=True)
    with pytest.raises(AutogradError, match="modified by an inplace operation"):
        y.sum().backward()
    h = x * 1
    y = F.leaky_relu(h, 0.2)  # the out-of-place form saves its input: changing it breaks backward, as in PyTorch
    h.mul_(2)
    with pytest.raises(AutogradError, match="LeakyReluBackward0"):
        y.sum().backward()
    y = F.elu(x * 1)
    y.mul_(2)  # changing the output does not
    y.sum().backward()
    with el.no_grad():  # nothing recorded: straight into the tensor's memory, 16-bit ones through float32
        for dtype in (el.float32, el.bfloat16):
            t = el.tensor([-1.0, 2.0]).to(dtype)
            data = t._data
            assert F.leaky_relu(t, 0.5, inplace=True) is t and t._data is data
            assert t.float().tolist() == [-0.5, 2.0]


def test_integer_inputs_are_refused_as_in_pytorch():
    for fn in (F.leaky_relu, F.elu, F.leaky_relu_, F.elu_):
        with pytest.raises(DTypeError, match=r"(leaky_relu|elu)_?: expected a floating-point input, got int64"):
            fn(el.tensor([1, -2]))
    with pytest.raises(DTypeError, match="expected a Tensor, got float"):
        F.leaky_relu(1.5)


def test_compiled_forward_and_backward_fuse_and_give_eager_bits():
    rng = np.random.default_rng(3)
    x = el.tensor(rng.standard_normal((8, 16)).astype(np.float32))
    w = el.tensor(np.linspace(-1, 1, 16, dtype=np.float32), requires_grad=True)  # captured, as a parameter is

    def step(x):
        h = F.leaky_relu(x * w, 0.2)
        y = F.elu(h - 1.0, 0.5)
        loss = (y * y).sum()
        loss.backward()
        return loss

    def step_in_place(x):
        h = x * w
        F.leaky_relu(h, 0.2, inplace=True)
        F.elu_(h, 0.5)
        loss = (h * h).sum()
        loss.backward()
        return loss

    for fn in (step, step_in_place):
        results = []
        for run in (fn, el.function(fn)):
            w.grad = None
            results.append((run(x).detach().numpy(), w.grad.numpy().copy()))
        for got, want in zip(results[1], results[0]):
            _same_bits(got, want)
    compiled = el.function(lambda x: F.elu(F.leaky_relu(x * 2.0, 0.1) + 1.0))
    _same_bits(compiled(x).numpy(), F.elu(F.leaky_relu(x * 2.0, 0.1) + 1.0).numpy())
    lowered = [n.name for n in compiled._last.compiled.graph.nodes()]
    assert lowered == ["fused[mul,leaky_relu,add,elu]"], lowered
