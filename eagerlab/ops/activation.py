"""Activation functions. relu/sigmoid/tanh, leaky_relu/elu and exact gelu are primitives; the rest are composites
of them."""
import numpy as np

from .._tensor import Tensor
from ..backend import kernels, piecewise
from ..backend.dtypes import FLOAT
from ..backend.low_precision import in_float32, is_low_precision
from ..errors import DTypeError
from ._registry import Aval, Sample, apply_inplace, bind, method, op, primitive
from . import _shape_rules as shape_rules

relu_p = primitive("relu", shape_rules.same, save_outputs=(0,))(
    in_float32(kernels.relu, arity=1, on_bits=kernels.relu_16bit))


# g * (out > 0) as one primitive: the composite's three ops (compare, cast the mask, multiply) each widened and
# rounded 16-bit operands under autocast (~1.5 ms of a float16 LeNet step); this kernel works on their bits
relu_grad_p = primitive("relu_grad", lambda g, out: Aval(g.shape, g.dtype, g.device), save_inputs=(1,),
                        save_when={0: (0,)})(in_float32(kernels.relu_grad, arity=2, on_bits=kernels.relu_grad_16bit))


@relu_p.defvjp
def _(ctx, g):
    (out,) = ctx.saved
    # out enters detached: relu_grad is linear in g and flat in out almost everywhere (the composite's comparison
    # passed no gradient either), so with create_graph=True the graph gets no edge that would carry none
    return bind(relu_grad_p, g, out.detach()),


@relu_grad_p.defvjp
def _(ctx, gg):
    (out,) = ctx.saved
    return bind(relu_grad_p, gg, out), None


def _away_from_zero(rng):
    def draw(shape):
        x = rng.standard_normal(shape)
        return x + np.sign(x) * 0.1  # keep finite differences off the kink at 0

    return [Sample(draw((3, 4))), Sample(draw(())), Sample(draw((4, 3)).T, note="non-contiguous"),
            Sample(draw((0, 2)), note="empty")]


@op(methods=("relu",), samples=_away_from_zero, torch="relu", ref=lambda x: np.maximum(x, 0))
def relu(input):
    return bind(relu_p, input)


method("relu_")(lambda self: apply_inplace(relu_p, self))

# e^min(x, 0) / (1 + e^-|x|) is 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) below: neither exp can overflow,
# small results keep full relative precision, and it runs 3-10x faster than a logaddexp form.
sigmoid_p = primitive("sigmoid", shape_rules.same, save_outputs=(0,))(
    in_float32(lambda xp, x: xp.exp(xp.minimum(x, 0)) / (1 + xp.exp(-xp.abs(x))), arity=1))


@sigmoid_p.defvjp
def _(ctx, g):
    (out,) = ctx.saved
    return g * out * (1 - out),


@op(methods=("sigmoid",), samples=_away_from_zero, torch="sigmoid", ref=lambda x: 1 / (1 + np.exp(-x)))
def sigmoid(input):
    return bind(sigmoid_p, shape_rules.to_float("sigmoid", input))


tanh_p = primitive("tanh", shape_rules.same, save_outputs=(0,))(in_float32(lambda xp, x: xp.tanh(x), arity=1))


@tanh_p.defvjp
def _(ctx, g):
    (out,) = ctx.saved
    return g * (1 - out * out),


@op(methods=("tanh",), samples=_away_from_zero, torch="tanh", ref=np.tanh)
def tanh(input):
    return bind(tanh_p, shape_rules.to_float("tanh", input))


# ---- leaky_relu and elu: one primitive each, and one for each backward. As composites leaky_relu took five ops
# forward and five backward (~7x PyTorch's time) and elu where/expm1/relu over the whole input (~8 ms on a float32
# (64, 32, 16, 16) forward and backward, PyTorch ~1.1 ms). Their kernels (backend/piecewise.py) choose between the
# two sides by arithmetic, not by np.where, which mispredicts a branch per element. The forward saves its input, as
# PyTorch's out-of-place forms do (changing the input in place before backward is an error; changing the output
# is not); the in-place forms keep a copy of the input instead (apply_inplace), where PyTorch keeps the result.
def _floating_only(op, x):
    if not isinstance(x, (Tensor, Aval)):
        raise DTypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.dtype.category != FLOAT:
        raise DTypeError(f"{op}: expected a floating-point input, got {x.dtype.name} (PyTorch's {op} is not "
                         "implemented for integer or bool tensors either); convert it first, e.g. x.float()")


def _like_floating_input(op):
    def infer(x, **attrs):
        _floating_only(op, x)
        return Aval(x.shape, x.dtype, x.device)

    return infer


def _like_grad(g, x, **attrs):
    return Aval(g.shape, g.dtype, g.device)


def _attr_kernel(kernel, name):
    """kernel(xp, *arrays, value) as an impl taking the value by keyword `name` (the primitive's attribute)."""
    def impl(xp, *arrays, **attrs):
        return kernel(xp, *arrays, attrs[name])

    impl.__name__, impl.__doc__ = kernel.__name__, kernel.__doc__
    return impl


def _in_place(kernel, name):
    """impl_inplace of a piecewise kernel: straight into the target, through float32 for 16-bit numpy arrays."""
    wide = in_float32(_attr_kernel(kernel, name))

    def into(xp, x, **attrs):
        if xp is np and is_low_precision(x.dtype):
            x[...] = wide(xp, x, **attrs)
        else:
            kernel(xp, x, attrs[name], out=x)

    return into


leaky_relu_p = primitive("leaky_relu", _like_floating_input("leaky_relu"), save_inputs=(0,),
                         impl_inplace=_in_place(piecewise.leaky_relu, "negative_slope"))(
    in_float32(_attr_kernel(piecewise.leaky_relu, "negative_slope")))
leaky_relu_backward_p = primitive("leaky_relu_backward", _like_grad, save_inputs=(1,), save_when={0: (0,)})(
    in_float32(_attr_kernel(piecewise.leaky_relu_backward, "negative_slope")))


@leaky_relu_p.defvjp
def _(ctx, g):
    (x,) = ctx.saved
    # x enters detached: the backward is linear in g and flat in x away from 0, so with create_graph=True the graph
    # gets no edge that would carry no gradient (PyTorch's second derivative there is zeros too)
    return bind(leaky_relu_backward_p, g, x.detach(), **ctx.attrs),


@leaky_relu_backward_p.defvjp
def _(ctx, gg):
    (x,) = ctx.saved
    return bind(leaky_relu_backward_p, gg, x, **ctx.attrs), None


_SPECIALS = (np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-310, -1e-310, 2.5, -2.5, 1e300, -1e300)


def _piecewise_samples(attr, values):
    """Samples away from the kink at 0 with each value of `attr` (they take different kernel paths), and with NaN,
    infinities, signed zeros and denormals (forward only: no finite differences there)."""
    def samples(rng):
        x = rng.standard_normal((3, 4))
        x += np.sign(x) * 0.1
        return _away_from_zero(rng) + [Sample(x, **{attr: v}, note=f"{attr}={v}") for v in values] + [
            Sample(np.array(_SPECIALS), **{attr: v}, grad=False, note=f"NaN, inf, -0.0; {attr}={v}") for v in values]

    return samples


@op(samples=_piecewise_samples("negative_slope", (0.2, 0.0, 1.0, 1.5, -0.3, 1e-50)),
    torch=lambda torch, x, negative_slope=0.01: torch.nn.functional.leaky_relu(x, negative_slope),
    ref=lambda x, negative_slope=0.01: np.where(x > 0, x, x * negative_slope))
def leaky_relu(input, negative_slope=0.01):
    """input where it is > 0, else input * negative_slope."""
    _floating_only("leaky_relu", input)
    return bind(leaky_relu_p, input, negative_slope=float(negative_slope))


def leaky_relu_(input, negative_slope=0.01):
    """leaky_relu written into input (nn.functional.leaky_relu_; PyTorch has no Tensor method of it)."""
    _floating_only("leaky_relu_", input)
    return apply_inplace(leaky_relu_p, input, negative_slope=float(negative_slope))


elu_p = primitive("elu", _like_floating_input("elu"), save_inputs=(0,),
                  impl_inplace=_in_place(piecewise.elu, "alpha"))(
    in_float32(_attr_kernel(piecewise.elu, "alpha")))
elu_backward_p = primitive("elu_backward", _like_grad, save_inputs=(0, 1), save_when={0: (1,)})(
    in_float32(_attr_kernel(piecewise.elu_backward, "alpha")))


@elu_p.defvjp
def _(ctx, g):
    (x,) = ctx.saved
    return bind(elu_backward_p, g, x, **ctx.attrs),


@elu_backward_p.defvjp
def _(ctx, gg):
    """d/dg is the same backward applied to gg; d/dx is gg g alpha e^x below 0 (the derivative's derivative)."""
    from .elementwise import exp

    g, x = ctx.saved
    ga = bind(elu_backward_p, gg, x, **ctx.attrs) if ctx.needs[0] else None
    gx = gg * g * exp(x.clamp(max=0.0)) * ctx.attrs["alpha"] * (x <= 0) if ctx.needs[1] else None
    return ga, gx


@op(samples=_piecewise_samples("alpha", (0.5, 2.0, -0.5)), torch=lambda torch, x, alpha=1.0: torch.nn.functional.elu(
    x, alpha), ref=lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))))
def elu(input, alpha=1.0):
    """input where it is > 0, else alpha * (exp(input) - 1)."""
    _floating_only("elu", input)
    return bind(elu_p, input, alpha=float(alpha))


def elu_(input, alpha=1.0):
    """elu written into input (nn.functional.elu_; PyTorch has no Tensor method of it)."""
    _floating_only("elu_", input)
    return apply_inplace(elu_p, input, alpha=float(alpha))


@op(samples=_away_from_zero, torch=lambda torch, x: torch.nn.functional.silu(x), ref=lambda x: x / (1 + np.exp(-x)))
def silu(input):
    """x * sigmoid(x)."""
    return input * sigmoid(input)


def _np_softplus(x, beta=1.0, threshold=20.0):
    return np.where(x * beta > threshold, x, np.log1p(np.exp(beta * x)) / beta)


@op(samples=_away_from_zero, torch=lambda torch, x, **kw: torch.nn.functional.softplus(x, **kw), ref=_np_softplus)
def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, linear above `threshold` (stable for large inputs)."""
    from .elementwise import exp, log1p
    from .index import where

    z = input * beta
    # log1p(exp(-|z|)) + relu(z) never overflows
    stable = (log1p(exp(-z.abs())) + relu(z)) / beta
    return where(z > threshold, input, stable)


def _np_gelu(x, approximate="none"):
    from math import erf, sqrt

    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + np.vectorize(erf, otypes=[float])(x / sqrt(2)))


def _gelu_samples(rng):
    return _away_from_zero(rng) + [Sample(rng.standard_normal((3, 4)), approximate="tanh"),
                                   Sample(rng.standard_normal((2, 5)) * 4, note="tails")]


# ---- exact gelu: one primitive (its composite was ~9 array passes forward and ~12 backward, a third of them erf's)
_SQRT_HALF, _INV_SQRT_2PI = 0.7071067811865476, 0.3989422804014327


def _gelu_impl(xp, x):
    """(x Phi(x), Phi(x)) with Phi the standard normal CDF 0.5 (1 + erf(x / sqrt 2)); Phi is kept for backward.
    float32 takes erf(x / sqrt 2) straight from its polynomial (the scale folded in) and writes x Phi into that
    one's scratch array: two new arrays in all."""
    from ._erf import _ERF32_OF_X_OVER_SQRT2, erf_impl, tanh_of_odd_polynomial

    if x.dtype == np.float32:
        cdf, out = tanh_of_odd_polynomial(xp, x, _ERF32_OF_X_OVER_SQRT2)
    else:
        cdf, out = erf_impl(xp, x * _SQRT_HALF), None  # (a new array: the steps below work in it)
    cdf += 1
    cdf *= 0.5
    return xp.multiply(x, cdf, out=out), cdf


def _gelu_backward_impl(xp, g, x, cdf):
    """g * (Phi(x) + x phi(x)), phi the standard normal density."""
    d = xp.multiply(x, x, out=xp.empty_like(x))  # an array even when x is 0-d: the steps below work in place
    d *= -0.5
    xp.exp(d, out=d)
    d *= x
    d *= _INV_SQRT_2PI
    d += cdf
    d *= g
    return d


gelu_p = primitive("gelu", lambda x: (x, x), save_inputs=(0,), save_outputs=(1,), n_out=2, nondiff_outputs=(1,))(
    in_float32(_gelu_impl))
gelu_backward_p = primitive("gelu_backward", lambda g, x, cdf: g, save_inputs=(0, 1, 2))(
    in_float32(_gelu_backward_impl))


@gelu_p.defvjp
def _(ctx, g, _cdf):
    x, cdf = ctx.saved
    return bind(gelu_backward_p, g, x, cdf),


@gelu_backward_p.defvjp
def _(ctx, a):
    """d/dg is the same product with a; d/dx of Phi + x phi is phi (2 - x^2) (phi' = -x phi). cdf is Phi(x),
    a constant here: its dependence on x is in that derivative."""
    from .elementwise import exp

    g, x, cdf = ctx.saved
    ga = bind(gelu_backward_p, a, x, cdf) if ctx.needs[0] else None
    gx = a * g * exp(x * x * -0.5) * _INV_SQRT_2PI * (2 - x * x) if ctx.needs[1] else None
    return ga, gx, None


@op(samples=_gelu_samples, torch=lambda torch, x, **kw: torch.nn.functional.gelu(x, **kw), ref=_np_gelu)
def gelu(input, approximate="none"):
    """x * Phi(x) (exact, through erf), or PyTorch's tanh approximation with approximate='tanh'."""
    if approximate == "tanh":
        return 0.5 * input * (1 + tanh((input + 0.044715 * input * input * input) * 0.7978845608028654))
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return bind(gelu_p, shape_rules.to_float("gelu", input))[0]
