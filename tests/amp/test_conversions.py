"""The fast float32 <-> float16 / bfloat16 conversions of eagerlab/backend/low_precision.py give astype's bits:
every 16-bit value widened; rounding checked over every float32 exponent and sign with mantissas at and around
each rounding tie, plus random bits; NaN payloads, infinities, subnormals; with denormals read as zero too."""
import numpy as np
import pytest

import eagerlab as el
from eagerlab.backend.low_precision import convert

ml_dtypes = pytest.importorskip("ml_dtypes")
BF16, F16, F32 = np.dtype(ml_dtypes.bfloat16), np.dtype(np.float16), np.dtype(np.float32)
ALL_16_BITS = np.arange(1 << 16, dtype=np.uint16)


def _float32_cases():
    """Every exponent and sign, with the mantissas where float16 (13 dropped bits) and bfloat16 (16 dropped bits)
    round: exact ties with an even and an odd kept bit, one below and above each, the largest; and random bits."""
    rng = np.random.default_rng(0)
    kept = rng.integers(0, 1 << 10, 64, dtype=np.uint32)
    mant = np.concatenate([
        (kept << 13) | 0x1000, (kept << 13) | 0x0FFF, (kept << 13) | 0x1001, (kept[:16] >> 3 << 16) | 0x8000,
        (kept[:16] >> 3 << 16) | 0x7FFF, np.uint32([0, 1, 0x7FFFFF, 0x7FE000, 0x7FF000, 0x7FEFFF, 0x400000]),
        rng.integers(0, 1 << 23, 200, dtype=np.uint32)])
    bits = ((np.arange(256, dtype=np.uint32)[:, None] << 23) | mant).reshape(-1)
    return np.concatenate([bits, bits | np.uint32(1 << 31), rng.integers(0, 1 << 32, 100_000, dtype=np.uint32)])


def _bits(a):
    return a.view(np.uint16 if a.itemsize == 2 else np.uint32)


@pytest.fixture(params=[False, True], ids=["default", "flush_denormal"])
def denormal_mode(request):
    if request.param and not el.set_flush_denormal(True):
        pytest.skip("no flush-denormal mode on this CPU")
    yield request.param
    el.set_flush_denormal(False)


@pytest.mark.parametrize("low", [F16, BF16], ids=["float16", "bfloat16"])
def test_widening_every_16_bit_value(low, denormal_mode):
    x = ALL_16_BITS.view(low)
    want = x.astype(F32)
    if denormal_mode and low == F16:  # numpy converts on the bits: subnormal halves survive the mode
        assert want[1] != 0
    np.testing.assert_array_equal(_bits(convert(np, x, F32)), _bits(want))
    grid = x.reshape(256, 256)[:, ::3]  # a non-contiguous operand (of more elements than astype is used for)
    np.testing.assert_array_equal(_bits(convert(np, grid, F32)), _bits(grid.astype(F32)))


@pytest.mark.parametrize("low", [F16, BF16], ids=["float16", "bfloat16"])
def test_rounding_float32_as_astype(low, denormal_mode):
    x = _float32_cases().view(F32)
    with np.errstate(all="ignore"):
        want = x.astype(low)
        assert np.isnan(x).sum() > 1000 and np.isinf(want.astype(F32)).sum() > 10
        np.testing.assert_array_equal(_bits(convert(np, x, low)), _bits(want))
        for part in (x[:7], x.reshape(-1, 16)[:, ::5], x[:0], x[:60000].reshape(2, 3, 10000)):
            np.testing.assert_array_equal(_bits(convert(np, part, low)), _bits(part.astype(low)))


def test_float16_rounding_of_values_below_its_normal_range_few_and_many():
    """A few tiny values are fixed by index, many (a ReLU's zeros, tiny activations) by a branch-free blend."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal(10_000).astype(np.float32)
    relu = np.maximum(x, 0)
    tiny = (x * 1e-5).astype(np.float32)  # mostly float16 subnormals
    few = x.copy()
    few[::997] = 3e-6
    for case in (relu, -relu, tiny, few, np.zeros(9000, np.float32), -np.zeros(9000, np.float32)):
        np.testing.assert_array_equal(_bits(convert(np, case, F16)), _bits(case.astype(F16)))


@pytest.mark.parametrize("low", [F16, BF16], ids=["float16", "bfloat16"])
def test_masks_and_small_integers_as_astype(low):
    rng = np.random.default_rng(2)
    ints = rng.integers(-(1 << 15), 1 << 15, 20_000)
    for src in (rng.random(20_000) < 0.5, ints.astype(np.int8), ints.astype(np.uint8), ints.astype(np.int16),
                np.arange(1 << 16, dtype=np.uint16), (rng.random((100, 300)) < 0.5)[:, ::2]):
        with np.errstate(over="ignore"):
            np.testing.assert_array_equal(_bits(convert(np, src, low)), _bits(src.astype(low)))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_tensor_casts_use_them(dtype):
    x = el.tensor(np.tile(np.float32([[1.0, -2.5, 65520.0], [1e-6, np.nan, -0.0]]), (1, 5000)))
    low = x.to(getattr(el, dtype))
    with np.errstate(over="ignore"):
        want = x.numpy().astype(F16 if dtype == "float16" else BF16)
    assert low.numpy().tobytes() == want.tobytes()
    assert low.float().numpy().tobytes() == want.astype(F32).tobytes()


@pytest.mark.parametrize("low", [F16, BF16], ids=["float16", "bfloat16"])
def test_relu_on_the_bits_equals_the_float32_kernel(low):
    """ReLU of 16-bit floats runs on their bits; the float32 kernel's bits (rounded back) are the reference, -0.0
    and infinities included; with a NaN present the float32 kernel runs."""
    from eagerlab.backend.kernels import relu_16bit

    every = ALL_16_BITS.view(low)
    finite = every[~np.isnan(every.astype(F32))]
    for x in (finite, finite.reshape(-1, 2)[:, ::2], every):
        with np.errstate(invalid="ignore"):
            want = np.maximum(x.astype(F32), 0).astype(low)
        got = el.relu(el.tensor(x)).numpy()
        np.testing.assert_array_equal(_bits(got), _bits(want))
    assert relu_16bit(every) is None and relu_16bit(finite) is not None


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_compiled_16_bit_elementwise_chains_give_the_eager_bits(dtype):
    """The graph's elementwise lowering leaves 16-bit nodes to their impls (numpy's float16 maximum kept -0.0)."""
    x = el.tensor(np.float32([-0.0, 1.0, -2.0, 3.5, 1e-6, 7e4]).repeat(2000)).to(getattr(el, dtype))

    for f in (lambda x: el.relu(x) * 2, lambda x: (el.relu(x) * 2 + 1) * (x > 0)):
        np.testing.assert_array_equal(_bits(el.function(f)(x).numpy()), _bits(f(x).numpy()))


@pytest.mark.parametrize("low", [F16, BF16], ids=["float16", "bfloat16"])
def test_relu_backward_on_the_bits_equals_the_float32_kernel(low):
    """g * (out > 0) on 16-bit bits: g's every value against outputs that are positive, +0.0, -0.0, infinite; with
    an infinite or NaN g, or a NaN output, the float32 kernel runs (and gives its bits)."""
    from eagerlab.backend.kernels import relu_grad_16bit
    from eagerlab.ops.activation import relu_grad_p

    every = ALL_16_BITS.view(low)
    finite = every[np.isfinite(every.astype(F32))]
    rng = np.random.default_rng(3)
    outs = np.float32([0.0, -0.0, 1.5, np.inf, 3e-8])
    for g in (finite, every):
        out = outs[rng.integers(0, len(outs), g.size)].astype(low)
        with np.errstate(invalid="ignore"):
            want = (g.astype(F32) * (out.astype(F32) > 0)).astype(low)
        got = relu_grad_p.impl(np, g, out)
        np.testing.assert_array_equal(_bits(got), _bits(want))
    nan_out = np.full(10_000, np.nan, np.float32).astype(low)
    assert relu_grad_16bit(every, every) is None and relu_grad_16bit(finite[:10_000], nan_out) is None


def test_relu_backward_through_autograd_and_a_compiled_step():
    x = el.tensor(np.tile(np.float32([-1.0, 0.0, 2.0, -0.0, 3.0]), 3000), requires_grad=True)
    for dtype in (el.float32, el.float16, el.bfloat16):
        x.grad = None
        y = el.relu(x.to(dtype))
        y.backward(el.full(y.shape, -0.5, dtype=dtype))
        assert x.grad.dtype is el.float32 and x.grad[:5].tolist() == [0.0, 0.0, -0.5, 0.0, -0.5]
        compiled = el.function(lambda t: el.autograd.grad(el.relu(t).sum(), t)[0])
        assert (compiled(x.to(dtype)) == el.autograd.grad(el.relu(x.to(dtype)).sum(), x)[0].to(dtype)).all()
