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
    grid = x.reshape(256, 256)[:, ::3]  # a non-contiguous operand
    np.testing.assert_array_equal(_bits(convert(np, grid, F32)), _bits(grid.astype(F32)))


@pytest.mark.parametrize("low", [F16, BF16], ids=["float16", "bfloat16"])
def test_rounding_float32_as_astype(low, denormal_mode):
    x = _float32_cases().view(F32)
    with np.errstate(all="ignore"):
        want = x.astype(low)
        assert np.isnan(x).sum() > 1000 and np.isinf(want.astype(F32)).sum() > 10
        np.testing.assert_array_equal(_bits(convert(np, x, low)), _bits(want))
        for part in (x[:7], x.reshape(-1, 16)[:, ::5], x[:0], x[:6000].reshape(2, 3, 1000)):
            np.testing.assert_array_equal(_bits(convert(np, part, low)), _bits(part.astype(low)))


def test_float16_rounding_of_values_below_its_normal_range_few_and_many():
    """A few tiny values are fixed by index, many (a ReLU's zeros, tiny activations) by a branch-free blend."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal(10_000).astype(np.float32)
    relu = np.maximum(x, 0)
    tiny = (x * 1e-5).astype(np.float32)  # mostly float16 subnormals
    few = x.copy()
    few[::997] = 3e-6
    for case in (relu, -relu, tiny, few, np.zeros(5, np.float32), -np.zeros(5, np.float32)):
        np.testing.assert_array_equal(_bits(convert(np, case, F16)), _bits(case.astype(F16)))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_tensor_casts_use_them(dtype):
    x = el.tensor([[1.0, -2.5, 65520.0], [1e-6, float("nan"), -0.0]])
    low = x.to(getattr(el, dtype))
    with np.errstate(over="ignore"):
        want = x.numpy().astype(F16 if dtype == "float16" else BF16)
    assert low.numpy().tobytes() == want.tobytes()
    assert low.float().numpy().tobytes() == want.astype(F32).tobytes()
