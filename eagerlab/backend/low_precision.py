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
_UINT16, _UINT32 = np.dtype(np.uint16), np.dtype(np.uint32)
_NDARRAY = np.ndarray
_F16_TO_F32 = []  # the 65536 float16 values as float32, made on first use (a lookup beats numpy's scalar loop)


def convert(xp, x, np_dtype):
    """x.astype(np_dtype), with fast paths on numpy for the conversions mixed precision makes all the time:
    float32 -> bfloat16 (round to nearest even on the bits: ~4x ml_dtypes' astype), bfloat16 -> float32 (a
    shift: ~3x) and float16 -> float32 (a table lookup: numpy converts float16 one element at a time). The results
    are bit-identical to astype's."""
    src = x.dtype
    if xp is not np or src == np_dtype or x.ndim == 0:  # (numpy's ops on 0-d arrays give scalars: astype it)
        return x.astype(np_dtype)
    if src == _FLOAT32 and np_dtype.itemsize == 2:
        if np_dtype == _FLOAT16:
            return _round_to_float16(x)
        if np_dtype.name == "bfloat16":
            return _round_to_bfloat16(x, np_dtype)
    if np_dtype == _FLOAT32 and src.itemsize == 2:
        if src.name == "bfloat16":
            wide = x.view(_UINT16).astype(_UINT32)
            wide <<= 16
            return wide.view(_FLOAT32)
        if src.kind == "f":
            if not _F16_TO_F32:
                _F16_TO_F32.append(np.arange(1 << 16, dtype=_UINT16).view(np.float16).astype(_FLOAT32))
            return _F16_TO_F32[0].take(x.view(_UINT16))
    return x.astype(np_dtype)


_F16_MAGIC = ((127 - 15) + (23 - 10) + 1) << 23  # adding 2^-24 * 2^23 as a float rounds a subnormal's bits in place


def _round_to_float16(x):
    """float32 -> float16 on the bits (F. Giesen's branch-free method, vectorized): rebias the exponent and round
    to nearest even; subnormals through a float addition that rounds them; overflow to inf; NaN as numpy's."""
    bits = x.view(_UINT32)
    sign = (bits >> 16) & np.uint32(0x8000)
    f = bits & np.uint32(0x7FFFFFFF)
    out = (f >> 13) & np.uint32(1)
    out += np.uint32((0xFFF + ((15 - 127) << 23)) & 0xFFFFFFFF)
    out += f
    out >>= 13
    small = f < np.uint32(113 << 23)  # below float16's smallest normal
    if small.any():
        out[small] = (f[small].view(_FLOAT32) + np.uint32(_F16_MAGIC).view(_FLOAT32)).view(_UINT32) - \
            np.uint32(_F16_MAGIC)
    big = f >= np.uint32((127 + 16) << 23)  # rounds to inf, or is inf or NaN
    if big.any():
        out[big] = np.where(f[big] > np.uint32(255 << 23), np.uint32(0x7E00), np.uint32(0x7C00))
    out |= sign
    half = out.astype(_UINT16).view(_FLOAT16)
    if big.any():
        nan = np.isnan(x)
        half[nan] = x[nan].astype(_FLOAT16)  # NaN payloads as numpy converts them
    return half


def _round_to_bfloat16(x, bf16):
    bits = x.view(_UINT32)
    r = (bits >> 16) & np.uint32(1)  # ties go to the even neighbour
    r += np.uint32(0x7FFF)
    r += bits
    r >>= 16
    out = r.astype(_UINT16)
    nan = np.isnan(x)
    if nan.any():  # a NaN's rounding could carry into the exponent: keep its sign and payload, quiet
        out[nan] = (bits[nan] >> 16).astype(_UINT16) | np.uint16(0x0040)
    return out.view(bf16)


def is_low_precision(np_dtype):
    """float16 or bfloat16 (as numpy dtypes)."""
    return np_dtype.itemsize == 2 and (np_dtype.kind == "f" or np_dtype.name == "bfloat16")


def _is_low(a):
    dt = getattr(a, "dtype", None)
    return dt is not None and is_low_precision(dt)


def in_float32(impl, arity=None):
    """Wrap a kernel `impl(xp, *arrays, **attrs)` so that when its first operand is a 16-bit float numpy array, its
    16-bit float operands are widened to float32 and its float32 results rounded back to that type (other results,
    such as indices, are left alone). Other operands cost one type test and one attribute test. `arity` (1 or 2)
    declares a kernel of that many operands and no attributes (the elementwise ops, on every eager call): its
    wrapper then takes exactly those, without packing arguments."""

    def widened(xp, *arrays, **attrs):
        low = arrays[0].dtype
        out = impl(xp, *[convert(xp, a, _FLOAT32) if _is_low(a) else a for a in arrays], **attrs)
        if isinstance(out, tuple):
            return tuple(convert(xp, o, low) if o.dtype == _FLOAT32 else o for o in out)
        return convert(xp, out, low) if out.dtype == _FLOAT32 else out

    if arity == 1:
        def kernel(xp, x):
            if type(x) is _NDARRAY and x.dtype.itemsize == 2 and is_low_precision(x.dtype):
                return widened(xp, x)
            return impl(xp, x)
    elif arity == 2:
        def kernel(xp, a, b):
            if type(a) is _NDARRAY and a.dtype.itemsize == 2 and is_low_precision(a.dtype):
                return widened(xp, a, b)
            return impl(xp, a, b)
    else:
        def kernel(xp, *arrays, **attrs):
            first = arrays[0]  # a cupy array (float16 is native there) or a Python scalar runs as is
            if type(first) is _NDARRAY and first.dtype.itemsize == 2 and is_low_precision(first.dtype):
                return widened(xp, *arrays, **attrs)
            return impl(xp, *arrays, **attrs)

    kernel.__name__ = getattr(impl, "__name__", "kernel")
    kernel.__doc__ = impl.__doc__
    return kernel
