"""Unary elementwise math (exp, log, sqrt, trig, rounding, ...) and dtype casts."""
import numpy as np

from .._tensor import Tensor
from ..backend import as_dtype
from ..backend.device import check_dtype_on_device
from ..backend.low_precision import convert
from . import _shape_rules as shape_rules
from ._erf import erf_impl
from ._registry import Aval, Sample, apply_inplace, bind, method, op, primitive


# ---- cast ----------------------------------------------------------------------------------------------
def _cast_infer(x, dtype, src):
    if x.device.type != "cpu":
        check_dtype_on_device(dtype.name, x.device)  # bfloat16 on a cupy without it: a clear error
    return Aval(x.shape, dtype, x.device)


cast_p = primitive("cast", _cast_infer)(lambda xp, x, dtype, src: convert(xp, x, dtype.np))


@cast_p.defvjp
def _(ctx, g):
    src = ctx.attrs["src"]
    return (cast(g, src) if src.is_floating_point else None),


def cast(x, dtype):
    """x converted to `dtype` (differentiable between floating types). `Tensor.to(dtype)` calls this."""
    dtype = as_dtype(dtype)
    if x.dtype is dtype:
        return x
    return bind(cast_p, x, dtype=dtype, src=x.dtype)


def _unary_samples(domain="real"):
    """Samples for unary ops; domain 'positive' keeps inputs > 0 (log, sqrt), 'unit' inside (-1, 1)."""

    def draw(rng, shape):
        x = rng.standard_normal(shape)
        if domain == "positive":
            return np.abs(x) + 0.1
        if domain == "unit":
            return (rng.random(shape) * 1.8 - 0.9)
        if domain == "away_from_int":  # rounding ops: gradients are zero, keep finite differences off the jumps
            return x.round(0) + 0.25 + 0.5 * rng.random(shape)
        return x

    def samples(rng):
        return [Sample(draw(rng, (3, 4))), Sample(draw(rng, ())), Sample(draw(rng, (0, 2)), note="empty"),
                Sample(draw(rng, (4, 3)).T, note="non-contiguous"), Sample(draw(rng, (2, 3, 2)))]

    return samples


def _unary(name, impl, vjp, *, save="in", domain="real", ref=None, torch=None, methods=None, float_only=True,
           inplace=True):
    """Define a unary primitive and its public op. save='in'/'out' says what the vjp reads as ctx.saved[0]."""
    prim = primitive(name, shape_rules.same, save_inputs=(0,) if save == "in" else (),
                     save_outputs=(0,) if save == "out" else ())(impl)
    if vjp is not None:
        prim.defvjp(lambda ctx, g: (vjp(g, ctx.saved[0] if ctx.saved else None),))

    def public(input):
        if float_only:
            input = shape_rules.to_float(name, input)
        return bind(prim, input)

    public.__name__ = name
    public.__doc__ = f"Elementwise {name}."
    fn = op(name, methods=methods if methods is not None else (name,), samples=_unary_samples(domain), ref=ref,
            torch=torch or name, grad=vjp is not None)(public)
    if inplace:
        method(name + "_")(lambda self: apply_inplace(prim, self))
    return fn


neg = _unary("neg", lambda xp, x: -x, lambda g, x: -g, save=None, ref=lambda x: -x,
             methods=("neg", "negative", "__neg__"), float_only=False)
negative = neg
exp = _unary("exp", lambda xp, x: xp.exp(x), lambda g, out: g * out, save="out",
             ref=lambda x: __import__("numpy").exp(x))
log = _unary("log", lambda xp, x: xp.log(x), lambda g, x: g / x, domain="positive",
             ref=lambda x: __import__("numpy").log(x))

sqrt = _unary("sqrt", lambda xp, x: xp.sqrt(x), lambda g, out: g / (2 * out), save="out", domain="positive",
              ref=lambda x: __import__("numpy").sqrt(x))
sin = _unary("sin", lambda xp, x: xp.sin(x), lambda g, x: g * cos(x), ref=lambda x: __import__("numpy").sin(x))
cos = _unary("cos", lambda xp, x: xp.cos(x), lambda g, x: -g * sin(x), ref=lambda x: __import__("numpy").cos(x))


def _sign_impl(xp, x):
    out = xp.sign(x)
    # PyTorch's sign(nan) is 0 (numpy's is nan)
    if x.dtype.kind != "f":
        return out
    return xp.nan_to_num(out, copy=not isinstance(out, xp.ndarray), nan=0.0)  # 0-d inputs give a scalar


sign = _unary("sign", _sign_impl, lambda g, x: g * 0, save=None, float_only=False,
              ref=lambda x: np.nan_to_num(np.sign(x), nan=0.0))
absolute = _unary("abs", lambda xp, x: xp.abs(x), lambda g, x: g * sign(x), float_only=False, domain="away_from_int",
             ref=lambda x: __import__("numpy").abs(x), methods=("abs", "__abs__", "absolute"))
# Rounding is piecewise constant: its gradient is zero almost everywhere (as in PyTorch).
floor = _unary("floor", lambda xp, x: xp.floor(x), lambda g, x: g * 0, save=None, domain="away_from_int",
               float_only=False, ref=lambda x: __import__("numpy").floor(x))
ceil = _unary("ceil", lambda xp, x: xp.ceil(x), lambda g, x: g * 0, save=None, domain="away_from_int",
              float_only=False, ref=lambda x: __import__("numpy").ceil(x))
trunc = _unary("trunc", lambda xp, x: xp.trunc(x), lambda g, x: g * 0, save=None, domain="away_from_int",
               float_only=False, ref=lambda x: __import__("numpy").trunc(x))



def _round_impl(xp, x, decimals):
    # half to even, as torch.round; with decimals, round(x * 10**d) / 10**d as PyTorch computes it
    return xp.round(x, decimals)


round_p = primitive("round", lambda x, decimals: Aval(x.shape, x.dtype, x.device))(_round_impl)
round_p.defvjp(lambda ctx, g: (g * 0,))


def _round_samples(rng):
    x = _unary_samples("away_from_int")(rng)
    return x + [Sample(rng.standard_normal((3, 4)) * 100, decimals=1), Sample(rng.standard_normal((2, 3)),
                                                                               decimals=-1)]


@op(methods=("round",), samples=_round_samples, ref=lambda x, decimals=0: np.round(x, decimals), torch="round")
def round(input, *, decimals=0):
    """Elementwise rounding to `decimals` places, halves to even (as torch.round)."""
    return bind(round_p, input, decimals=int(decimals))


method("round_")(lambda self, *, decimals=0: apply_inplace(round_p, self, decimals=int(decimals)))

exp2 = _unary("exp2", lambda xp, x: xp.exp2(x), lambda g, out: g * out * 0.6931471805599453, save="out",
              ref=lambda x: np.exp2(x))
expm1 = _unary("expm1", lambda xp, x: xp.expm1(x), lambda g, x: g * exp(x), ref=lambda x: np.expm1(x))
log2 = _unary("log2", lambda xp, x: xp.log2(x), lambda g, x: g / (x * 0.6931471805599453), domain="positive",
              ref=lambda x: np.log2(x))
log1p = _unary("log1p", lambda xp, x: xp.log1p(x), lambda g, x: g / (x + 1), domain="positive",
               ref=lambda x: np.log1p(x))
rsqrt = _unary("rsqrt", lambda xp, x: 1 / xp.sqrt(x), lambda g, out: g * -0.5 * out * out * out, save="out",
               domain="positive", ref=lambda x: 1 / np.sqrt(x))
square = _unary("square", lambda xp, x: x * x, lambda g, x: g * 2 * x, float_only=False, ref=lambda x: x * x)
reciprocal = _unary("reciprocal", lambda xp, x: 1 / x, lambda g, out: -g * out * out, save="out",
                    domain="positive", ref=lambda x: 1 / x)
tan = _unary("tan", lambda xp, x: xp.tan(x), lambda g, out: g * (1 + out * out), save="out", domain="unit",
             ref=lambda x: np.tan(x))



erf = _unary("erf", erf_impl, lambda g, x: g * 1.1283791670955126 * exp(-x * x),
             ref=lambda x: np.vectorize(__import__("math").erf, otypes=[float])(x))

# ---- copies --------------------------------------------------------------------------------------------
clone_p = primitive("clone", shape_rules.same)(lambda xp, x: xp.array(x, copy=True, order="C"))
clone_p.defvjp(lambda ctx, g: (g,))


@op(methods=("clone",), samples=_unary_samples(), ref=lambda x: x.copy(), torch="clone")
def clone(input):
    """A copy with its own memory; gradients flow through."""
    return bind(clone_p, input)


def _contiguous(self):
    return self if self._data.flags.c_contiguous else clone(self)


def _copy_(self, src, non_blocking=False):
    """Copy `src` (broadcast, cast, moved across devices) into this tensor's memory."""
    if isinstance(src, Tensor) and src.device is not self.device:
        src = src.to(self.device)
    self[...] = src
    return self


def _fill_(self, value):
    """Set every element to `value` (a number or a 0-d tensor, whose gradient flows)."""
    if isinstance(value, Tensor) and value.ndim:
        from ..errors import ShapeError, fmt_shape

        raise ShapeError(f"fill_: only supports a 0-dimension value tensor, got one of shape {fmt_shape(value.shape)}")
    self[...] = value
    return self


method("contiguous")(_contiguous)
method("copy_")(_copy_)
method("fill_")(_fill_)
method("zero_")(lambda self: _fill_(self, 0))


# ---- predicates and clamping -----------------------------------------------------------------------------------
def _predicate_unary(name, fn, ref):
    prim = primitive(name, shape_rules.predicate)(fn)

    def public(input):
        return bind(prim, input)

    public.__name__ = name
    public.__doc__ = f"Elementwise {name}; a bool tensor."

    def samples(rng):
        x = rng.standard_normal((3, 4))
        x[0, 0], x[1, 1], x[2, 2] = np.nan, np.inf, -np.inf
        return [Sample(x, grad=False), Sample(rng.integers(0, 3, (4,)), grad=False)]

    return op(name, methods=(name,), samples=samples, grad=False, ref=ref, torch=name)(public)


isnan = _predicate_unary("isnan", lambda xp, x: xp.isnan(x), np.isnan)
isinf = _predicate_unary("isinf", lambda xp, x: xp.isinf(x), np.isinf)
isfinite = _predicate_unary("isfinite", lambda xp, x: xp.isfinite(x), np.isfinite)


def _clamp_samples(rng):
    x = rng.standard_normal((3, 4))
    x[abs(x - 0.5) < 0.05] += 0.2  # keep finite differences off the clamp points
    x[abs(x + 0.5) < 0.05] += 0.2
    return [Sample(x, -0.5, 0.5), Sample(x, min=-0.5), Sample(x, max=0.5),
            Sample(x, np.full((4,), -0.5), np.full((3, 1), 0.5), note="tensor bounds")]


@op(methods=("clamp", "clip"), aliases=("clip",), samples=_clamp_samples, torch="clamp",
    ref=lambda x, min=None, max=None: np.minimum(np.maximum(x, -np.inf if min is None else min),
                                                 np.inf if max is None else max))
def clamp(input, min=None, max=None):
    """Limit values to [min, max] (either may be None; scalars or tensors). min > max gives max, as in PyTorch."""
    from .index import where

    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must not be None")
    out = input
    if min is not None:
        out = where(out < min, min if not isinstance(min, Tensor) else min.to(out.dtype), out)
    if max is not None:
        out = where(out > max, max if not isinstance(max, Tensor) else max.to(out.dtype), out)
    return out


method("clamp_", "clip_")(lambda self, min=None, max=None: self.copy_(clamp(self, min, max)))
