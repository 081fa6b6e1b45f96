"""16-bit float kernels on CPU that accumulate: computed in float32 and rounded to the operands' type.

numpy has no fast float16 or bfloat16 matrix product (a float16 matmul is ~10x slower than float32; ml_dtypes'
bfloat16 has no BLAS at all, and einsum refuses it), so GEMM-class kernels (matmul, linear, convolutions, einsum)
and the kernels that sum many terms (sum, softmax, normalization, losses) widen 16-bit operands to float32, run
the float32 kernel and round the result once: the numbers a low-precision kernel with a float32 accumulator gives,
which is what PyTorch's CPU bfloat16/float16 kernels and the GPU's tensor cores compute. On cupy, float16 runs
natively (cuBLAS uses the tensor cores), so the widening applies to numpy only.
"""
import numpy as np

_FLOAT32, _FLOAT16 = np.dtype(np.float32), np.dtype(np.float16)
_UINT16, _UINT32, _INT16, _INT32 = np.dtype(np.uint16), np.dtype(np.uint32), np.dtype(np.int16), np.dtype(np.int32)
_NDARRAY = np.ndarray
_F16_TO_F32 = []  # the 65536 float16 values as float32, made on first use (for threads that read denormals as 0)
# dtype.char: "e" float16, "E" ml_dtypes' bfloat16, "f" float32 (a char test costs ~0.1 us; dtype.name ~1 us)
_LOW_CHARS = ("e", "E")
_SMALL = 8192  # below this many elements astype is faster (measured: the crossover lies at 4k-16k elements)


def convert(xp, x, np_dtype):
    """x.astype(np_dtype), with fast paths on numpy for the conversions mixed precision makes all the time:
    float32 -> bfloat16 (round to nearest even on the bits: ~1.8x ml_dtypes' astype), bfloat16 -> float32 (a
    shift: ~3x), float32 -> float16 (rebias and round on the bits: ~2x numpy's astype), float16 -> float32 (a
    shift and a multiply: ~5x; numpy converts float16 one element at a time), and bool or 8/16-bit integers to
    either (numpy's bool -> float16 takes ~6 ns an element). The results are bit-identical to astype's, NaNs
    included (tests/amp/test_conversions.py checks every float16 and bfloat16 value)."""
    src = x.dtype
    # (numpy's ops on 0-d arrays give scalars; on small arrays the dozen ufunc calls below cost more than astype)
    if xp is not np or src == np_dtype or x.size < _SMALL:
        return x.astype(np_dtype)
    src_char, to_char = src.char, np_dtype.char
    if to_char in _LOW_CHARS:
        if src_char == "f":
            return _round_to_float16(x) if to_char == "e" else _round_to_bfloat16(x, np_dtype)
        if src_char == "?":  # a mask (ReLU's backward multiplies by one): 0 or 1.0's bits (astype: ~6 ns/element)
            bits = x.view(np.uint8).astype(_UINT16)
            bits *= np.ones((), np_dtype).view(_UINT16)
            return bits.view(np_dtype)
        if src.kind in "iu" and src.itemsize <= 2:  # exact in float32, so rounding once from there is astype's
            return convert(xp, x.astype(_FLOAT32), np_dtype)
    elif to_char == "f":
        if src_char == "E":
            wide = x.view(_UINT16).astype(_UINT32)
            wide <<= 16
            return wide.view(_FLOAT32)
        if src_char == "e":
            return _widen_float16(x)
    return x.astype(np_dtype)


_TWO_POW_112 = np.float32(2.0 ** 112)
_DENORMAL = np.array([2.0 ** -140], _FLOAT32)  # probes whether this thread reads denormals as zero (DAZ)


def _widen_float16(x):
    """float16 -> float32 on the bits: the sign-extended half shifted into float32's fields, masked, then multiplied
    by 2^112 to rebias the exponent (a subnormal half, a float32 denormal there, comes out normal); infinities and
    NaNs (which the multiply leaves at 2^16 and above) get float32's all-ones exponent, keeping their payload."""
    if (_DENORMAL * _TWO_POW_112)[0] == 0:  # set_flush_denormal(True) (DAZ) would read subnormal halves as 0:
        # look them up instead
        if not _F16_TO_F32:
            _F16_TO_F32.append(np.arange(1 << 16, dtype=_UINT16).view(_FLOAT16).astype(_FLOAT32))
        return _F16_TO_F32[0].take(x.view(_UINT16))
    u = x.view(_INT16).astype(_INT32)  # a negative half has ones from bit 15 up
    u <<= 13
    u &= np.int32(-0x70000001)  # 0x8FFFFFFF: the sign at bit 31, exponent and mantissa at bits 13..27
    f = u.view(_FLOAT32)
    f *= _TWO_POW_112
    if f.size and not max(f.max(), -f.min()) < 65536.0:  # (max |finite half| is 65504)
        u[np.abs(f) >= 65536.0] |= np.int32(0x7F800000)
    return f


_F16_MAGIC = ((127 - 15) + (23 - 10) + 1) << 23  # adding 2^-24 * 2^23 as a float rounds a subnormal's bits in place
_F16_SMALL = 113 << 23  # float16's smallest normal (2^-14) as float32 bits
_F16_BIG = (127 + 16) << 23  # 2^16 as float32 bits: rounds to inf, or is inf or NaN


def _round_to_float16(x):
    """float32 -> float16 on the bits (F. Giesen's branch-free method, vectorized): rebias the exponent and round
    to nearest even; values below float16's normal range through a float addition that rounds them; overflow to
    inf; NaN as numpy's."""
    bits = x.view(_UINT32)
    f = bits & np.uint32(0x7FFFFFFF)
    out = f >> 13
    out &= np.uint32(1)  # ties go to the even neighbour
    out += f
    out += np.uint32((0xFFF + ((15 - 127) << 23)) & 0xFFFFFFFF)
    out >>= 13
    big = False
    if f.size:
        if f.min() < _F16_SMALL:
            _round_small_to_float16(f, out)
        big = f.max() >= _F16_BIG
        if big:
            over = f >= np.uint32(_F16_BIG)
            out[over] = np.where(f[over] > np.uint32(255 << 23), np.uint32(0x7E00), np.uint32(0x7C00))
    half = out.astype(_UINT16)
    sign = (bits >> 16).astype(_UINT16)
    sign &= np.uint16(0x8000)
    half |= sign
    half = half.view(_FLOAT16)
    if big:
        nan = np.isnan(x)
        half[nan] = x[nan].astype(_FLOAT16)  # NaN payloads as numpy converts them
    return half


def _round_small_to_float16(f, out):
    """out (the normal-range formula's bits) corrected where f (|x|'s bits) is below float16's normal range: a
    float addition rounds those to float16's subnormal grid. A few such values (as in most activations) are fixed
    by index; many (a ReLU's zeros) by a branch-free blend: a masked or fancy-indexed write over a random mask runs
    ~50x slower, one mispredicted branch per element."""
    small = f < np.uint32(_F16_SMALL)
    n = np.count_nonzero(small)
    magic = np.uint32(_F16_MAGIC)
    if n * 32 < small.size:
        where = np.flatnonzero(small)
        tiny = f.take(where).view(_FLOAT32) + magic.view(_FLOAT32)
        out.put(where, tiny.view(_UINT32) - magic)
        return
    with np.errstate(all="ignore"):  # (also computed, and discarded, for the others: inf and NaN among them)
        sub = f.view(_FLOAT32) + magic.view(_FLOAT32)
    sub = sub.view(_UINT32)
    sub -= magic
    keep_sub = f.view(_INT32) - np.int32(_F16_SMALL)
    keep_sub >>= 31  # all ones where small (f and _F16_SMALL are both below 2^31: no overflow)
    sub ^= out
    sub &= keep_sub.view(_UINT32)
    out ^= sub  # out where not small, sub where small


def _round_to_bfloat16(x, bf16):
    bits = x.view(_UINT32)
    r = bits >> 16
    r &= np.uint32(1)  # ties go to the even neighbour
    r += bits
    r += np.uint32(0x7FFF)
    r >>= 16
    out = r.astype(_UINT16)
    if x.size and np.isnan(x.max()):  # (max propagates NaN: one reduction, no mask) a NaN's rounding could carry
        nan = np.isnan(x)  # into the exponent: ml_dtypes' quiet NaN, with the sign
        out[nan] = ((bits[nan] >> 16) & np.uint32(0x8000)).astype(_UINT16) | np.uint16(0x7FC0)
    return out.view(bf16)


def is_low_precision(np_dtype):
    """float16 or bfloat16 (as numpy dtypes)."""
    return np_dtype.char in _LOW_CHARS


def _is_low(a):
    dt = getattr(a, "dtype", None)
    return dt is not None and is_low_precision(dt)


def in_float32(impl, arity=None, on_bits=None):
    """Wrap a kernel `impl(xp, *arrays, **attrs)` so that when its first operand is a 16-bit float numpy array, its
    16-bit float operands are widened to float32 and its float32 results rounded back to that type (other results,
    such as indices, are left alone). Other operands cost one type test and one attribute test. `arity` (1 or 2)
    declares a kernel of that many operands and no attributes (the elementwise ops, on every eager call): its
    wrapper then takes exactly those, without packing arguments. `on_bits(*arrays)` (arity 1 or 2): an exact kernel
    on the 16-bit arrays themselves, tried first; it returns None to leave them to the float32 kernel."""

    def widened(xp, *arrays, **attrs):
        low = arrays[0].dtype
        out = impl(xp, *[convert(xp, a, _FLOAT32) if _is_low(a) else a for a in arrays], **attrs)
        if isinstance(out, tuple):
            return tuple(convert(xp, o, low) if o.dtype == _FLOAT32 else o for o in out)
        return convert(xp, out, low) if out.dtype == _FLOAT32 else out

    if arity == 1:
        def kernel(xp, x):
            if type(x) is _NDARRAY and x.dtype.char in _LOW_CHARS:
                out = None if on_bits is None else on_bits(x)
                return widened(xp, x) if out is None else out
            return impl(xp, x)
    elif arity == 2:
        def kernel(xp, a, b):
            if type(a) is _NDARRAY and a.dtype.char in _LOW_CHARS:
                out = None if on_bits is None else on_bits(a, b)
                return widened(xp, a, b) if out is None else out
            return impl(xp, a, b)
    else:
        def kernel(xp, *arrays, **attrs):
            first = arrays[0]  # a cupy array (float16 is native there) or a Python scalar runs as is
            if type(first) is _NDARRAY and first.dtype.char in _LOW_CHARS:
                return widened(xp, *arrays, **attrs)
            return impl(xp, *arrays, **attrs)

    kernel.__name__ = getattr(impl, "__name__", "kernel")
    kernel.__doc__ = impl.__doc__
    return kernel
