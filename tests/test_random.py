"""Random draws and dropout: reproducibility (manual_seed, Generator), distributions, bounds, edge cases, errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import eagerlab as el
from eagerlab.errors import DeviceError, DTypeError, ShapeError


def draws(generator=None):
    """One call of every draw, as numpy arrays."""
    kw = {} if generator is None else {"generator": generator}
    probs = el.tensor([[0.1, 0.5, 0.4, 0.0], [0.3, 0.3, 0.2, 0.2]])
    return [t.numpy() for t in (
        el.rand(3, 2, **kw), el.randn(4, **kw), el.randint(0, 100, (5,), **kw), el.randperm(7, **kw),
        el.normal(1.0, 2.0, (3,), **kw), el.bernoulli(el.full((6,), 0.5), **kw),
        el.multinomial(probs, 2, **kw), el.multinomial(probs, 5, True, **kw),
        el.dropout(el.ones(8), 0.5, **kw), el.dropout2d(el.ones(2, 3, 2, 2), 0.5, **kw),
        el.empty(3).uniform_(-2, 2, **kw), el.empty(3).normal_(1, 3, **kw), el.empty(3).exponential_(**kw),
        el.empty(3, dtype=el.int64).random_(10, **kw), el.empty(4).bernoulli_(0.5, **kw),
    )]


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


# ---- reproducibility ------------------------------------------------------------------------------------------
def test_manual_seed_replays_every_draw():
    el.manual_seed(123)
    first = draws()
    el.manual_seed(123)
    assert_same(first, draws())
    el.manual_seed(124)
    assert not np.array_equal(first[0], draws()[0])


def test_generator_streams_are_reproducible_and_independent_of_the_default():
    g = el.Generator().manual_seed(7)
    first = draws(g)
    el.manual_seed(0)  # the default generator's state plays no part
    g.manual_seed(7)
    assert_same(first, draws(g))
    assert el.Generator().manual_seed(7).initial_seed() == 7
    assert el.Generator().manual_seed(5) is not None and isinstance(el.Generator().manual_seed(5), el.Generator)


def test_generator_state_round_trip_and_rng_state():
    g = el.Generator().manual_seed(3)
    state = g.get_state()
    a = el.rand(5, generator=g)
    g.set_state(state)
    np.testing.assert_array_equal(a.numpy(), el.rand(5, generator=g).numpy())
    s = el.get_rng_state()
    b = el.randn(4)
    el.set_rng_state(s)
    np.testing.assert_array_equal(b.numpy(), el.randn(4).numpy())


def test_seed_and_initial_seed():
    el.manual_seed(42)
    assert el.initial_seed() == 42
    s = el.seed()
    assert el.initial_seed() == s and s >= 0


def test_generator_device_must_match():
    with pytest.raises(DeviceError, match="rand"):
        el.rand(2, generator=el.Generator("cpu"), device="cuda")
    with pytest.raises(TypeError, match="generator"):
        el.rand(2, generator=np.random.default_rng(0))


@pytest.mark.skipif(el.cuda.is_available(), reason="checks the no-GPU error path")
def test_cuda_draws_without_gpu_raise_device_error():
    with pytest.raises(DeviceError, match="CUDA is not available"):
        el.rand(2, device="cuda")


@pytest.mark.gpu
def test_cuda_draws_land_on_the_gpu_and_replay():
    g = el.Generator("cuda").manual_seed(1)
    a = el.randn(3, 4, generator=g)
    assert a.device == el.device("cuda:0")
    g.manual_seed(1)
    np.testing.assert_array_equal(a.cpu().numpy(), el.randn(3, 4, generator=g).cpu().numpy())
    assert sorted(el.randperm(10, device="cuda").tolist()) == list(range(10))
    assert el.dropout(el.ones(100, device="cuda"), 0.5).device == el.device("cuda:0")
    assert el.multinomial(el.ones(2, 5, device="cuda"), 3).shape == (2, 3)


# ---- dtypes, sizes, requires_grad -------------------------------------------------------------------------------
def test_dtypes_and_sizes():
    assert el.rand(2, 3).dtype is el.float32 and el.rand((2, 3)).shape == (2, 3) and el.randn([4]).shape == (4,)
    assert el.rand(()).shape == () and el.randn(0, 3).shape == (0, 3)
    el.set_default_dtype(el.float64)
    assert el.rand(2).dtype is el.float64 and el.randn(2).dtype is el.float64
    el.set_default_dtype(el.float32)
    assert el.randint(5, (3,)).dtype is el.int64 and el.randperm(3).dtype is el.int64
    assert el.randint(0, 5, (3,), dtype=el.float32).dtype is el.float32
    assert el.rand_like(el.ones(2, dtype=el.float64)).dtype is el.float64
    assert el.randn_like(el.ones(2, 3)).shape == (2, 3)
    r = el.randint_like(el.ones(50), 3)
    assert r.dtype is el.float32 and set(r.tolist()) <= {0.0, 1.0, 2.0}
    assert set(el.randint_like(el.ones(50, dtype=el.int64), 5, 7).tolist()) <= {5, 6}
    with pytest.raises(DTypeError, match="rand: expected a floating-point dtype, got int64"):
        el.rand(2, dtype=el.int64)
    with pytest.raises(ShapeError, match="randn"):
        el.randn(-1)


def test_requires_grad():
    x = el.rand(3, requires_grad=True)
    assert x.requires_grad and x.is_leaf
    with pytest.raises(DTypeError, match="int64"):
        el.randint(0, 3, (2,), requires_grad=True)


def test_float16_uniform_stays_below_one():
    u = el.rand(100000, dtype=el.float16).numpy()
    assert u.dtype == np.float16 and u.min() >= 0 and u.max() < 1


# ---- distributions ---------------------------------------------------------------------------------------------
N = 200_000


def test_uniform_and_normal_moments():
    u = el.rand(N, dtype=el.float64).numpy()
    assert 0 <= u.min() and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 1 / 12) < 0.005
    z = el.randn(N).numpy()
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    n = el.normal(3.0, 2.0, (N,)).numpy()
    assert abs(n.mean() - 3) < 0.03 and abs(n.std() - 2) < 0.03
    w = el.empty(N).uniform_(-2, 4).numpy()
    assert -2 <= w.min() and w.max() < 4 and abs(w.mean() - 1) < 0.03
    e = el.empty(N).exponential_(2.0).numpy()
    assert e.min() >= 0 and abs(e.mean() - 0.5) < 0.01
    m = el.empty(N).normal_(-1, 0.5).numpy()
    assert abs(m.mean() + 1) < 0.01 and abs(m.std() - 0.5) < 0.01


def test_normal_with_tensor_arguments():
    mean = el.tensor([0.0, 100.0, -100.0]).reshape(3, 1).expand(3, N // 10)
    out = el.normal(mean, el.tensor([1.0, 2.0, 3.0]).reshape(3, 1))
    assert out.shape == (3, N // 10)
    np.testing.assert_allclose(out.numpy().mean(1), [0, 100, -100], atol=0.1)
    np.testing.assert_allclose(out.numpy().std(1), [1, 2, 3], rtol=0.03)
    assert el.normal(el.zeros(2, 3), 1.0).shape == (2, 3) and el.normal(0.0, el.ones(4)).shape == (4,)
    assert el.normal(el.zeros(2, dtype=el.float64), 1.0).dtype is el.float64
    m = el.zeros(3, requires_grad=True)
    assert not el.normal(m, 1.0).requires_grad  # mean is a constant (PyTorch's gradient here is zero)
    with pytest.raises(ValueError, match="std"):
        el.normal(0.0, -1.0, (2,))
    with pytest.raises(TypeError, match="size"):
        el.normal(0.0, 1.0)


def test_bernoulli():
    p = el.tensor([0.0, 0.2, 0.9, 1.0]).reshape(4, 1).expand(4, N // 10)
    out = el.bernoulli(p)
    assert out.dtype is el.float32 and set(np.unique(out.numpy())) <= {0.0, 1.0}
    np.testing.assert_allclose(out.numpy().mean(1), [0, 0.2, 0.9, 1], atol=0.01)
    assert abs(el.bernoulli(el.empty(N), 0.3).numpy().mean() - 0.3) < 0.01
    assert abs(el.empty(N, dtype=el.int64).bernoulli_(0.7).numpy().mean() - 0.7) < 0.01
    assert el.full((3,), 0.5).bernoulli().shape == (3,)
    with pytest.raises(ValueError, match="bernoulli"):
        el.bernoulli(el.ones(2), 1.5)
    with pytest.raises(DTypeError, match="bernoulli"):
        el.bernoulli(el.ones(2, dtype=el.int64))


def test_randint_bounds_and_coverage():
    r = el.randint(-3, 4, (10000,)).numpy()
    assert r.min() == -3 and r.max() == 3 and set(r.tolist()) == set(range(-3, 4))
    assert set(el.randint(2, (1000,)).tolist()) == {0, 1}
    assert set(el.randint(0, 2, (100,), dtype=el.bool).tolist()) == {False, True}
    with pytest.raises(ValueError, match="from=5 >= to=5"):
        el.randint(5, 5, (2,))
    with pytest.raises(ValueError, match="int8"):
        el.randint(0, 1000, (2,), dtype=el.int8)


def test_random_fill_ranges():
    assert set(el.empty(1000).random_(3).tolist()) == {0.0, 1.0, 2.0}
    assert set(el.empty(1000, dtype=el.int64).random_(2, 4).tolist()) == {2, 3}
    big = el.empty(1000).random_().numpy()
    assert big.min() >= 0 and big.max() <= 2 ** 24 and np.all(big == np.round(big))
    assert el.empty(10, dtype=el.int32).random_().numpy().min() >= 0


def test_randperm_is_a_permutation():
    for n in (0, 1, 5, 1000):
        p = el.randperm(n)
        assert p.dtype is el.int64 and sorted(p.tolist()) == list(range(n))
    assert el.randperm(4, dtype=el.float32).dtype is el.float32


def test_multinomial():
    probs = el.tensor([[0.1, 0.0, 0.6, 0.3], [1.0, 1.0, 1.0, 1.0]])
    for _ in range(20):
        s = el.multinomial(probs, 4)
        assert s.dtype is el.int64 and s.shape == (2, 4)
        assert all(sorted(row) == [0, 1, 2, 3] for row in s.tolist())  # without replacement: no duplicates
        assert el.multinomial(probs, 3)[0].tolist()[:3].count(1) == 0  # zero weight comes after all others
    w = el.multinomial(el.tensor([0.2, 0.0, 0.8]), N // 10, replacement=True).numpy()
    assert 1 not in w
    np.testing.assert_allclose(np.bincount(w, minlength=3) / w.size, [0.2, 0, 0.8], atol=0.01)
    first = el.multinomial(el.tensor([1.0, 3.0]).expand(N // 10, 2), 1).numpy()
    assert abs(first.mean() - 0.75) < 0.01  # the first draw follows the weights
    assert el.tensor([0.5, 0.5]).multinomial(1).shape == (1,)


@pytest.mark.parametrize("call,error,fragment", [
    (lambda: el.multinomial(el.tensor([0.5, -0.1]), 1), ValueError, "element < 0"),
    (lambda: el.multinomial(el.tensor([0.0, 0.0]), 1), ValueError, "sum of probabilities"),
    (lambda: el.multinomial(el.tensor([0.5, 0.5]), 3), ValueError, "without replacement"),
    (lambda: el.multinomial(el.ones(2, 2, 2), 1), ShapeError, "(2, 2, 2)"),
    (lambda: el.multinomial(el.ones(3), 0), ValueError, "n_sample <= 0"),
    (lambda: el.multinomial(el.ones(3, dtype=el.int64), 1), DTypeError, "int64"),
])
def test_multinomial_errors(call, error, fragment):
    with pytest.raises(error, match="multinomial") as info:
        call()
    assert fragment in str(info.value)


# ---- dropout -------------------------------------------------------------------------------------------------
def test_dropout_scales_kept_values_and_drops_about_p():
    x = el.rand(N) + 1
    y = el.dropout(x, 0.3)
    kept = y.numpy() != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01
    np.testing.assert_allclose(y.numpy()[kept], x.numpy()[kept] / 0.7, rtol=1e-6)
    assert abs(el.dropout(el.ones(N), 0.5).numpy().mean() - 1) < 0.01  # expectation is preserved


def test_dropout_edge_cases():
    x = el.randn(4, 5)
    assert el.dropout(x, 0.0) is x and el.dropout(x, 0.7, training=False) is x
    assert np.all(el.dropout(x, 1.0).numpy() == 0)
    assert el.dropout(el.randn(3, dtype=el.float64), 0.5).dtype is el.float64
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match=f"dropout.*p={p}"):
            el.dropout(x, p)
    with pytest.raises(DTypeError, match="dropout"):
        el.dropout(el.ones(3, dtype=el.int64), 0.5)


def test_dropout_inplace_and_gradient_through_the_mask():
    x = el.randn(10, dtype=el.float64)
    y = x.clone()
    assert el.dropout(y, 0.5, inplace=True) is y
    assert set((y.numpy() / x.numpy()).round(6).tolist()) <= {0.0, 2.0}
    w = el.randn(20, dtype=el.float64, requires_grad=True)
    out = el.dropout(w, 0.4)
    out.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), out.detach().numpy() / w.detach().numpy())
    with pytest.raises(RuntimeError, match="leaf"):
        el.dropout(el.ones(3, requires_grad=True), 0.5, inplace=True)


def test_dropout_same_generator_seed_same_mask_for_float32_and_float64():
    a = el.dropout(el.ones(50), 0.5, generator=el.Generator().manual_seed(9))
    b = el.dropout(el.ones(50, dtype=el.float64), 0.5, generator=el.Generator().manual_seed(9))
    np.testing.assert_array_equal(a.numpy() != 0, b.numpy() != 0)


def _channels_dropped_whole(y, lead):
    flat = y.numpy().reshape(*y.shape[:lead], -1)
    return np.all((flat == 0).all(-1) | (flat != 0).all(-1))


def test_feature_dropout_zeroes_whole_channels():
    y = el.dropout2d(el.ones(8, 16, 3, 3), 0.5)
    assert _channels_dropped_whole(y, 2) and set(np.unique(y.numpy())) == {0.0, 2.0}
    assert _channels_dropped_whole(el.dropout2d(el.ones(8, 16, 5), 0.5), 2)  # 3-D taken as (N, C, L)
    assert _channels_dropped_whole(el.dropout1d(el.ones(4, 16, 6), 0.5), 2)
    assert _channels_dropped_whole(el.dropout1d(el.ones(16, 6), 0.5), 1)  # unbatched (C, L)
    assert _channels_dropped_whole(el.dropout3d(el.ones(16, 2, 2, 2), 0.5), 1)  # unbatched (C, D, H, W)
    assert _channels_dropped_whole(el.dropout3d(el.ones(2, 8, 2, 2, 2), 0.5), 2)
    x = el.ones(2, 3, 4, 4)
    assert el.dropout2d(x, 0.5, training=False) is x
    with pytest.raises(ShapeError, match=r"dropout1d.*\(5,\)"):
        el.dropout1d(el.ones(5), 0.5)
    with pytest.raises(ValueError, match="dropout2d"):
        el.dropout2d(x, 2.0)


# ---- properties ------------------------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5), st.integers(0, 2**32),
       st.sampled_from(["float16", "float32", "float64"]))
def test_draws_have_the_asked_shape_dtype_and_range(shape, seed, dtype):
    g = el.Generator().manual_seed(seed)
    u = el.rand(shape, generator=g, dtype=dtype)
    assert u.shape == shape and u.dtype.name == dtype
    assert np.all((u.numpy() >= 0) & (u.numpy() < 1))
    assert el.randn(shape, generator=g, dtype=dtype).shape == shape
    r = el.randint(-2, 3, shape, generator=g).numpy()
    assert np.all((r >= -2) & (r < 3))
    mask = el.dropout(el.ones(shape, dtype=dtype), 0.25, generator=g).numpy()
    assert np.all((mask == 0) | np.isclose(mask, 1 / 0.75, rtol=1e-3))
