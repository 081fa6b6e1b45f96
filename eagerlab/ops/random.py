"""Random draws: rand, randn, randint, randperm, normal, bernoulli, multinomial, and the in-place fills.

Every draw is a primitive with no tensor inputs whose attrs are (shape, dtype, device, generator) plus its
parameters, so a captured graph draws afresh on every run; `generator=` defaults to the device's default
generator. Draws have no gradient (dropout, in dropout.py, multiplies by a drawn mask).
Samples use a generator that restarts at every draw, so a sample call repeats exactly (gradcheck, eager == traced).
"""
import operator

import numpy as np

from .._tensor import Tensor
from ..backend import CPU, Device, Generator, as_dtype, default_generator, get_default_dtype, result_type
from ..backend.dtypes import bool_, int64
from ..errors import DeviceError, DTypeError, ShapeError, fmt_shape
from . import _shape_rules as shape_rules
from ._registry import Aval, Sample, bind, export, method, op, primitive
from .creation import _size


# ---- primitives ----------------------------------------------------------------------------------------------
def _draw_infer(*, shape, dtype, device, generator, **params):
    return Aval(shape, dtype, device)


uniform_p = primitive("uniform", _draw_infer)(
    lambda xp, *, shape, dtype, device, generator: generator.uniform(shape, dtype.np))
normal_p = primitive("normal", _draw_infer)(
    lambda xp, *, shape, dtype, device, generator: generator.normal(shape, dtype.np))
randint_p = primitive("randint", _draw_infer)(
    lambda xp, *, shape, dtype, device, generator, low, high:
    generator.integers(low, high, shape).astype(dtype.np, copy=False))
randperm_p = primitive("randperm", _draw_infer)(
    lambda xp, *, shape, dtype, device, generator: generator.permutation(shape[0]).astype(dtype.np, copy=False))


def _multinomial_infer(probs, *, num_samples, replacement, generator):
    return Aval(probs.shape[:-1] + (num_samples,), int64, probs.device)


def _multinomial_impl(xp, probs, *, num_samples, replacement, generator):
    n = probs.shape[-1]
    rows = probs.reshape(-1, n).astype("float64")
    if not bool(xp.isfinite(rows).all()) or bool((rows < 0).any()):
        raise ValueError("probability tensor contains either `inf`, `nan` or element < 0")
    if bool((rows.sum(axis=1) <= 0).any()):
        raise ValueError("invalid multinomial distribution (sum of probabilities <= 0)")
    b = rows.shape[0]
    if replacement:  # inverse CDF; row r's CDF is shifted to [r, r + 1] so one searchsorted serves every row
        cdf = xp.cumsum(rows, axis=1)
        cdf /= cdf[:, -1:]
        shift = xp.arange(b, dtype="float64")[:, None]
        u = generator.uniform((b, num_samples), "float64") + shift
        idx = xp.searchsorted((cdf + shift).reshape(-1), u.reshape(-1), side="right").reshape(b, num_samples)
        idx = xp.clip(idx - xp.arange(b)[:, None] * n, 0, n - 1)
    else:  # exponential races (Gumbel top-k): the k smallest E_i / p_i are a draw without replacement, in order
        keys = generator.exponential((b, n), "float64") / rows
        if num_samples < n:
            part = xp.argpartition(keys, num_samples - 1, axis=1)[:, :num_samples]
            order = xp.argsort(xp.take_along_axis(keys, part, axis=1), axis=1)
            idx = xp.take_along_axis(part, order, axis=1)
        else:
            idx = xp.argsort(keys, axis=1)
    return idx.astype("int64", copy=False).reshape(probs.shape[:-1] + (num_samples,))


multinomial_p = primitive("multinomial", _multinomial_infer)(_multinomial_impl)


# ---- argument handling ---------------------------------------------------------------------------------------
class _Replay(Generator):
    """A CPU generator whose stream restarts at every draw: the same call draws the same numbers every time."""

    def __init__(self, seed=0):
        super().__init__("cpu")
        self.manual_seed(seed)

    @property
    def rng(self):
        return np.random.Generator(np.random.PCG64(self._seed))


def _source(op, generator, device):
    """(generator, device): the generator's device unless `device` is given, and then they must agree."""
    if generator is None:
        dev = Device(device) if device is not None else CPU
        return default_generator(dev), dev
    if not isinstance(generator, Generator):
        raise TypeError(f"{op}: generator must be an eagerlab.Generator, got {type(generator).__name__}")
    dev = generator.device if device is None else Device(device)
    if dev is not generator.device:
        raise DeviceError(f"{op}: the generator is on {generator.device} but the draw is for device {dev}")
    return generator, dev


def _float_dtype(op, dtype):
    dt = as_dtype(dtype) if dtype is not None else get_default_dtype()
    if not dt.is_floating_point:
        raise DTypeError(f"{op}: expected a floating-point dtype, got {dt.name}")
    return dt


def _grad(t, requires_grad):
    return t.requires_grad_(True) if requires_grad else t


def _draw(prim, op, shape, dtype, generator, device, requires_grad=False, **params):
    gen, dev = _source(op, generator, device)
    return _grad(bind(prim, shape=shape, dtype=dtype, device=dev, generator=gen, **params), requires_grad)


def _int(op, name, x):
    try:
        return operator.index(x)
    except TypeError:
        raise DTypeError(f"{op}: {name} must be an int, got {x!r}") from None


# ---- public draws --------------------------------------------------------------------------------------------
def _size_samples(rng):
    return [Sample(2, 3, generator=_Replay(), grad=False), Sample((), generator=_Replay(), grad=False),
            Sample((0, 3), generator=_Replay(), grad=False, note="empty"),
            Sample([4], dtype="float16", generator=_Replay(), grad=False),
            Sample(5, dtype="float64", generator=_Replay(), grad=False)]


@op(samples=_size_samples, grad=False)
def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1): rand(2, 3) or rand((2, 3)) (default float dtype)."""
    return _draw(uniform_p, "rand", _size("rand", size), _float_dtype("rand", dtype), generator, device,
                 requires_grad)


@op(samples=_size_samples, grad=False)
def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples: randn(2, 3) or randn((2, 3)) (default float dtype)."""
    return _draw(normal_p, "randn", _size("randn", size), _float_dtype("randn", dtype), generator, device,
                 requires_grad)


def _randint_samples(rng):
    return [Sample(0, 10, (3, 4), generator=_Replay(), grad=False), Sample(5, (2,), generator=_Replay(), grad=False),
            Sample(-3, 3, (5,), dtype="int8", generator=_Replay(), grad=False),
            Sample(0, 2, (), dtype="bool", generator=_Replay(), grad=False),
            Sample(1, 7, (2, 2), dtype="float32", generator=_Replay(), grad=False)]


@op(samples=_randint_samples, grad=False)
def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Integers uniform in [low, high) of the given size: randint(high, size) or randint(low, high, size); int64
    by default."""
    if size is None:  # randint(high, size)
        if high is None:
            raise TypeError("randint: missing the size argument (a tuple)")
        low, high, size = 0, low, high
    elif high is None:  # randint(high, size=...)
        low, high = 0, low
    dt = as_dtype(dtype) if dtype is not None else int64
    return _draw(randint_p, "randint", _size("randint", (size,)), dt, generator, device, requires_grad,
                 **_int_range("randint", low, high, dt))


def _int_range(op, low, high, dt):
    low, high = _int(op, "low", low.item() if isinstance(low, Tensor) else low), \
        _int(op, "high", high.item() if isinstance(high, Tensor) else high)
    if low >= high:
        raise ValueError(f"{op}: expects 'from' to be less than 'to', but got from={low} >= to={high}")
    if not dt.is_floating_point:
        info = np.iinfo(dt.np) if dt is not bool_ else np.iinfo(np.uint8)
        top = 2 if dt is bool_ else info.max + 1
        if low < info.min or high > top:
            raise ValueError(f"{op}: the range [{low}, {high}) does not fit dtype {dt.name}")
    return {"low": low, "high": high}


def _randperm_samples(rng):
    return [Sample(5, generator=_Replay(), grad=False), Sample(0, generator=_Replay(), grad=False, note="empty"),
            Sample(4, dtype="float32", generator=_Replay(), grad=False)]


@op(samples=_randperm_samples, grad=False)
def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0..n-1 (int64 by default)."""
    n = _int("randperm", "n", n)
    if n < 0:
        raise ShapeError(f"randperm: n must be non-negative, got {n}")
    dt = as_dtype(dtype) if dtype is not None else int64
    return _draw(randperm_p, "randperm", (n,), dt, generator, device, requires_grad)


def _like(fn):
    def like(input, *, generator=None, dtype=None, device=None, requires_grad=False):
        return fn(input.shape, generator=generator, dtype=dtype if dtype is not None else input.dtype,
                  device=device if device is not None else input.device, requires_grad=requires_grad)

    like.__name__ = like.__qualname__ = fn.__name__ + "_like"
    like.__doc__ = f"{fn.__name__}() with the shape (and by default dtype and device) of `input`."
    return export(like.__name__)(like)


rand_like, randn_like = _like(rand), _like(randn)


@export()
def randint_like(input, low=0, high=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """randint() with the shape (and by default dtype and device) of `input`: randint_like(x, high) or
    randint_like(x, low, high)."""
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, generator=generator, dtype=dtype if dtype is not None else input.dtype,
                   device=device if device is not None else input.device, requires_grad=requires_grad)


def _normal_samples(rng):
    mean, std = rng.standard_normal((3, 4)), rng.random((3, 4)) + 0.5
    return [Sample(mean, std, generator=_Replay(), grad=False), Sample(mean, 2.0, generator=_Replay(), grad=False),
            Sample(0.5, rng.random((4,)) + 0.1, generator=_Replay(), grad=False, note="float mean"),
            Sample(mean, rng.random((4,)) + 0.1, generator=_Replay(), grad=False, note="broadcast"),
            Sample(1.0, 3.0, (2, 3), generator=_Replay(), grad=False, note="sized")]


@op(samples=_normal_samples, grad=False)
def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Normal samples: elementwise for tensor mean and/or std (broadcast together), else of `size`.

    Not differentiable: mean and std are treated as constants (PyTorch's gradient through normal is zero)."""
    tensors = [x for x in (mean, std) if isinstance(x, Tensor)]
    if not isinstance(std, Tensor) and std < 0:
        raise ValueError(f"normal: expects std >= 0.0, but found std {std}")
    if tensors:
        if size is not None:
            raise TypeError("normal: size is only accepted when mean and std are numbers")
        dt = result_type(mean, std)
        if not dt.is_floating_point:
            raise DTypeError(f"normal: mean and std must be floating point, got {dt.name}")
        shape = shape_rules.broadcast_shapes("normal", *[t.shape for t in tensors])
        device = tensors[0].device
    else:
        if size is None:
            raise TypeError("normal: size is required when mean and std are numbers")
        dt, shape = _float_dtype("normal", dtype), _size("normal", (size,))
    out = _draw(normal_p, "normal", shape, dt, generator, device)
    if not (isinstance(std, (int, float)) and std == 1):
        out = out * (std.detach().to(dt) if isinstance(std, Tensor) else std)
    if not (isinstance(mean, (int, float)) and mean == 0):
        out = out + (mean.detach().to(dt) if isinstance(mean, Tensor) else mean)
    return _grad(out, requires_grad)


def _bernoulli_samples(rng):
    return [Sample(rng.random((3, 4)), generator=_Replay(), grad=False),
            Sample(rng.random(()), generator=_Replay(), grad=False, note="0-d"),
            Sample(rng.random((0, 2)), generator=_Replay(), grad=False, note="empty"),
            Sample(rng.random((4, 3)).T, 0.3, generator=_Replay(), grad=False, note="scalar p")]


def _bernoulli_draw(op, shape, p, dtype, generator, device):
    """A 0/1 tensor of `dtype`: one where a uniform draw falls below p (a number or a broadcastable tensor)."""
    udt = p.dtype if isinstance(p, Tensor) and p.dtype.is_floating_point else get_default_dtype()
    return (_draw(uniform_p, op, shape, udt, generator, device) < p).to(dtype)


def _check_prob(op, p):
    if not isinstance(p, Tensor) and not 0 <= p <= 1:
        raise ValueError(f"{op}: expects p to be in [0, 1], but got p={p}")


@op(methods=("bernoulli",), samples=_bernoulli_samples, grad=False)
def bernoulli(input, p=None, *, generator=None):
    """0/1 draws with probabilities `input` (or the number p, with input's shape), in input's dtype."""
    if not input.is_floating_point():
        raise DTypeError(f"bernoulli: expected a floating-point tensor of probabilities, got {input.dtype.name}")
    if p is not None:
        _check_prob("bernoulli", p)
    return _bernoulli_draw("bernoulli", input.shape, input if p is None else p, input.dtype, generator, input.device)


def _multinomial_samples(rng):
    p = rng.random((5,)) + 0.05
    q = rng.random((2, 6))
    q[0, 1] = q[1, 4] = 0  # a zero-probability category is never drawn with replacement
    return [Sample(p, 3, generator=_Replay(), grad=False), Sample(q, 4, True, generator=_Replay(), grad=False),
            Sample(q, 6, generator=_Replay(), grad=False, note="all categories"),
            Sample(p, 1, True, generator=_Replay(), grad=False)]


@op(methods=("multinomial",), samples=_multinomial_samples, grad=False)
def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Category indices (int64) drawn from each row of non-negative weights `input` (1-D or 2-D)."""
    if input.ndim not in (1, 2):
        raise ShapeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {fmt_shape(input.shape)}")
    if not input.is_floating_point():
        raise DTypeError(f"multinomial: only floating-point weights are supported, got {input.dtype.name}")
    num_samples = _int("multinomial", "num_samples", num_samples)
    if num_samples <= 0:
        raise ValueError(f"multinomial: cannot sample n_sample <= 0 samples (got {num_samples})")
    if not replacement and num_samples > input.shape[-1]:
        raise ValueError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) samples without replacement "
                         f"({num_samples} > {input.shape[-1]}, shape {fmt_shape(input.shape)})")
    gen, _ = _source("multinomial", generator, input.device)
    return bind(multinomial_p, input, num_samples=num_samples, replacement=bool(replacement), generator=gen)


@export()
def seed():
    """Seed the default CPU generator from OS entropy; returns the seed."""
    return default_generator(CPU).seed()


@export()
def initial_seed():
    """The seed of the default CPU generator."""
    return default_generator(CPU).initial_seed()


# ---- in-place fills (Tensor methods; recorded like any in-place write) ---------------------------------------
@method("uniform_")
def _uniform_(self, from_=0.0, to=1.0, *, generator=None):
    """Fill with uniform samples in [from_, to)."""
    u = rand(self.shape, generator=generator, dtype=_float_dtype("uniform_", self.dtype), device=self.device)
    return self.copy_(u if (from_, to) == (0, 1) else u * (to - from_) + from_)


@method("normal_")
def _normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fill with normal samples of the given mean and std."""
    return self.copy_(normal(mean, std, self.shape, generator=generator,
                             dtype=_float_dtype("normal_", self.dtype), device=self.device))


@method("exponential_")
def _exponential_(self, lambd=1.0, *, generator=None):
    """Fill with exponential samples of rate lambd."""
    from .elementwise import log1p

    if not lambd > 0:
        raise ValueError(f"exponential_: expects lambda > 0.0, but found lambda={lambd}")
    u = rand(self.shape, generator=generator, dtype=_float_dtype("exponential_", self.dtype), device=self.device)
    return self.copy_(log1p(-u) * (-1.0 / lambd))


@method("random_")
def _random_(self, from_=None, to=None, *, generator=None):
    """Fill with integers uniform in [from_, to): random_(to), random_(from_, to), or random_() for [0, 2**mantissa]
    (floats) / [0, max] (integers)."""
    if to is None:
        from_, to = (0, from_) if from_ is not None else (0, _random_top(self.dtype))
    return self.copy_(randint(from_, to, self.shape, generator=generator, dtype=self.dtype, device=self.device))


def _random_top(dt):
    if dt.is_floating_point:
        return 2 ** (np.finfo(dt.np).nmant + 1) + 1
    return 2 if dt is bool_ else int(np.iinfo(dt.np).max) + 1


@method("bernoulli_")
def _bernoulli_(self, p=0.5, *, generator=None):
    """Fill with 0/1 draws of probability p (a number or a tensor broadcastable to self)."""
    _check_prob("bernoulli_", p)
    return self.copy_(_bernoulli_draw("bernoulli_", self.shape, p, self.dtype, generator, self.device))
