"""16-bit float kernels on CPU that accumulate: computed in float32 and rounded to the operands' type.

numpy has no fast float16 or bfloat16 matrix product (a float16 matmul is ~10x slower than float32; ml_dtypes'
bfloat16 has no BLAS at all, and einsum refuses it), so GEMM-class kernels (matmul, linear, convolutions, einsum)
and the kernels that sum many terms (sum, softmax, normalization, losses) widen 16-bit operands to float32, run
the float32 kernel and round the result once: the numbers a low-precision kernel with a float32 accumulator gives,
which is what PyTorch's CPU bfloat16/float16 kernels and the GPU's tensor cores compute. On cupy, float16 runs
natively (cuBLAS uses the tensor cores), so the widening applies to numpy only.
"""
import numpy as np

_FLOAT32 = np.dtype(np.float32)


def is_low_precision(np_dtype):
    """float16 or bfloat16 (as numpy dtypes)."""
    return np_dtype.itemsize == 2 and (np_dtype.kind == "f" or np_dtype.name == "bfloat16")


def _is_low(a):
    dt = getattr(a, "dtype", None)
    return dt is not None and is_low_precision(dt)


def in_float32(impl):
    """Wrap a kernel `impl(xp, *arrays, **attrs)` whose first operand is an array so that on numpy its 16-bit
    float operands are widened to float32 and its float32 results are rounded back to the first operand's type
    (other results, such as indices, are left alone). Other dtypes cost one attribute test."""

    def kernel(xp, *arrays, **attrs):
        first = arrays[0]
        if first.dtype.itemsize != 2 or xp is not np or not _is_low(first):
            return impl(xp, *arrays, **attrs)
        low = first.dtype
        out = impl(xp, *[a.astype(_FLOAT32) if _is_low(a) else a for a in arrays], **attrs)
        if isinstance(out, tuple):
            return tuple(o.astype(low) if o.dtype == _FLOAT32 else o for o in out)
        return out.astype(low) if out.dtype == _FLOAT32 else out

    kernel.__name__ = getattr(impl, "__name__", "kernel")
    kernel.__doc__ = impl.__doc__
    return kernel
