"""Array-level helpers shared by the update rules: scalar operands, the step counter, gradient preprocessing,
ATen's lerp. Everything here works on raw numpy/cupy arrays, in place where it can."""
import numpy as np

from .._tensor import Tensor
from ..backend import CPU
from ..errors import UnsupportedError


def _scalar(x):
    """A Python number from a float or a one-element Tensor (PyTorch accepts Tensor lr and betas)."""
    return x.item() if isinstance(x, Tensor) else x


def _new_step(value=0):
    """A step counter as PyTorch keeps it: a 0-d float32 tensor on the CPU, whatever the parameter's device."""
    return Tensor._make(np.array(value, np.float32), CPU)


def _zeros_state(p):
    """A state buffer (moments, accumulators) of zeros shaped, typed and placed like parameter p."""
    return Tensor._make(p._device.xp.zeros_like(p._data), p._device)


def _tick(state):
    """Advance state["step"] (a 0-d float32 CPU tensor, as in PyTorch) and return it as a Python float.
    fill() rounds like float32 `+= 1` and costs a tenth of a 0-d in-place add."""
    s = state["step"]._data
    s.fill(float(s) + 1)
    return float(s)


def _like(pa, *arrays):
    """State arrays viewed with the shape _grads gave the parameter array (they differ for 0-d parameters only)."""
    return arrays if arrays[0].ndim else tuple(a.reshape(pa.shape) for a in arrays)


def _operands(cache, a, key, make):
    """The scalar operands of the update ufuncs on array `a`, built by make() once per (array type, dtype, key)
    and kept in `cache` (one per group and step). numpy runs a ufunc with a 0-d array operand of `a`'s dtype about
    twice as fast as with a Python float, with the same result (the float is rounded to that dtype either way);
    cupy takes the floats themselves."""
    ck = (type(a), a.dtype, key)
    ops = cache.get(ck)
    if ops is None:
        values = make()
        ops = cache[ck] = tuple(np.array(v, a.dtype) for v in values) if isinstance(a, np.ndarray) else values
    return ops


def _check_unsupported(differentiable, capturable=False):
    if differentiable:
        raise UnsupportedError("differentiable=True is not supported: eagerlab optimizers update the parameter "
                               "arrays in place, outside autograd")
    if capturable:
        raise UnsupportedError("capturable=True (CUDA-graph capture of step) is not supported; leave it False")


def _grad_for_update(xp, g, p, weight_decay, maximize):
    """The gradient the update uses: negated when maximizing, plus weight_decay * param (L2 penalty).
    Returns `g` itself when neither applies: callers never write into the result."""
    if weight_decay:
        out = xp.multiply(p, weight_decay)
        return xp.subtract(out, g, out=out) if maximize else xp.add(out, g, out=out)
    return xp.negative(g) if maximize else g


def _lerp_coeff(weight, dtype):
    """The multiplier _lerp_ uses: ATen's lerp computes a + w*(b-a) for |w| < 0.5, else b - (b-a)*(1-w) with
    1 - w in the tensor's precision (more accurate near w = 1)."""
    if abs(weight) < 0.5:
        return weight
    return dtype.type(1) - dtype.type(weight)


def _lerp_(xp, a, b, weight, coeff, out=None):
    """a.lerp_(b, weight) in ATen's form; `coeff` is _lerp_coeff(weight) as an operand. Returns the scratch array
    (b - a, scaled; written into `out` when given), free for the caller to reuse."""
    tmp = xp.subtract(b, a, out=out)
    tmp *= coeff
    if abs(weight) < 0.5:
        a += tmp
    else:
        xp.subtract(b, tmp, out=a)
    return tmp


def _square_average_(xp, avg, d, decay, weight, out=None):
    """avg.mul_(decay).addcmul_(d, d, value=weight) in ATen's order, (weight * d) * d; returns the scratch array
    (written into `out` when given), free for the caller to reuse."""
    avg *= decay
    tmp = xp.multiply(d, weight, out=out)
    tmp *= d
    avg += tmp
    return tmp


def _scratch(pool, xp, a, slot):
    """Scratch array number `slot` shaped like `a`, for an update's `out=`: None eagerly (pool None: the ufunc
    allocates, as PyTorch does), else kept in `pool` across calls (a compiled step reuses it on every run)."""
    if pool is None:
        return None
    key = (type(a), a.shape, a.dtype, slot)
    buf = pool.get(key)
    if buf is None:
        buf = pool[key] = xp.empty_like(a)
    return buf
