"""leaky_relu and elu kernels, forward and backward, with PyTorch's formulas (x > 0 ? x : x * slope and
x > 0 ? x : alpha * expm1(x); gradients g there, and g times the negative side's derivative elsewhere), and no branch
per element.

numpy's where, copyto(where=) and masked writes pick each element behind a branch that a random sign pattern makes
the CPU mispredict: np.where(x > 0, g, g * 0.2) takes ~2 ms on a float32 (64, 32, 16, 16), against ~45 us for one
multiply. So every choice here is arithmetic that gives the chosen value's bits:
- x > 0 ? x : x * s is max(x, x * s) when 0 < s <= 1 (x * s lies between x and 0, on x's side) and min(x, x * s) when
  s > 1; NaN propagates, and a zero keeps its sign (x * s of +-0.0 is +-0.0, and both operands are equal then);
- otherwise (s <= 0, or NaN), and in the backward, x (or g) times a factor of 1 or s: the comparison's 0/1 bytes
  widened to the float's width and mapped onto the two bit patterns by an integer multiply-add. Multiplying by 1.0
  leaves a value's bits as they are, so the result is PyTorch's bit for bit.
The slope is rounded to the input's type first, as PyTorch's kernels do.
"""
import functools

import numpy as np

from .kernels import _zeros

_UINTS = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def _arrays_not_scalars(kernel):
    """Run a kernel of (xp, *arrays, attr, out=None) on one-element views of 0-d operands: numpy gives scalars, not
    0-d arrays, from comparisons and ufuncs of 0-d arrays, and the kernels view and update their results in place."""

    @functools.wraps(kernel)
    def run(xp, *args, out=None):
        if args[0].ndim:
            return kernel(xp, *args, out=out)
        *arrays, attr = args
        result = kernel(xp, *[a.reshape(1) for a in arrays], attr, out=None if out is None else out.reshape(1))
        return result.reshape(()) if out is None else out

    return run


def choose(xp, mask, if_true, if_false, dtype):
    """mask ? if_true : if_false (two numbers, taken as `dtype`) as a `dtype` array, without a branch per element."""
    uint = _UINTS[dtype.itemsize]
    a, b = (int(dtype.type(v).view(uint)) for v in (if_true, if_false))
    bits = mask.view(np.uint8).astype(uint)
    bits *= uint((a - b) % (1 << 8 * dtype.itemsize))  # b + mask * (a - b), modulo 2**bits: a where mask, else b
    bits += uint(b)
    return bits.view(dtype)


def _zero(xp, x):
    """0 to compare x with: a zero array like x on numpy (with a scalar operand, minimum and maximum take a loop
    ~2.5x slower)."""
    return _zeros(x.dtype, x.shape, x.size) if xp is np else 0


@_arrays_not_scalars
def leaky_relu(xp, x, negative_slope, out=None):
    """x > 0 ? x : x * negative_slope, into `out` when given (which may be x itself)."""
    s = x.dtype.type(negative_slope)
    if s > 0:
        scaled = xp.multiply(x, s)
        return (xp.maximum if s <= 1 else xp.minimum)(x, scaled, out=scaled if out is None else out)
    return xp.multiply(x, choose(xp, x > 0, 1, s, x.dtype), out=out)


@_arrays_not_scalars
def leaky_relu_backward(xp, g, x, negative_slope, out=None):
    """x > 0 ? g : g * negative_slope (PyTorch's leaky_relu_backward), into `out` when given."""
    factor = choose(xp, x > 0, 1, negative_slope, g.dtype)
    if out is None and factor.shape == g.shape:
        out = factor
    return xp.multiply(g, factor, out=out)


# (numpy's minimum and maximum return their second operand of two equal ones: min(0, x) keeps x's -0.0)
@_arrays_not_scalars
def elu(xp, x, alpha, out=None):
    """x > 0 ? x : alpha * expm1(x), into `out` when given. expm1 runs on min(x, 0), so it cannot overflow (and
    gives 0 where x > 0); the sides are put together by max(x, .) when 0 < alpha <= 1, where alpha * expm1(x) >= x
    below 0 (one pass fewer than adding relu(x)), else by adding relu(x)."""
    neg = xp.minimum(_zero(xp, x), x)
    xp.expm1(neg, out=neg)
    if alpha != 1:
        neg *= x.dtype.type(alpha)
    if 0 < alpha <= 1:
        return xp.maximum(x, neg, out=neg if out is None else out)
    return xp.add(xp.maximum(_zero(xp, x), x), neg, out=neg if out is None else out)


@_arrays_not_scalars
def elu_backward(xp, g, x, alpha, out=None):
    """x > 0 ? g : g * alpha * exp(x), multiplied in PyTorch's order (a NaN x gives NaN, as PyTorch's vectorized
    kernel does), into `out` when given. exp(min(x, 0)) is 1.0 exactly where x > 0, so only alpha needs choosing."""
    e = xp.minimum(_zero(xp, x), x)
    xp.exp(e, out=e)
    if alpha != 1:
        g = xp.multiply(g, choose(xp, x > 0, 1, alpha, e.dtype))
    return xp.multiply(g, e, out=e if out is None and e.shape == g.shape else out)
