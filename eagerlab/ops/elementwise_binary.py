"""Binary elementwise math beyond arithmetic: maximum/minimum, atan2, lerp."""
import numpy as np

from .._tensor import Tensor
from ..backend import get_default_dtype
from ..errors import DTypeError
from . import _shape_rules as shape_rules
from ._registry import Sample, bind, method, op, primitive
from .reduce import sum_to


def _float_pair(op_name, *operands):
    """Promote the operands; integer results compute in the default float dtype (atan2, lerp are float ops)."""
    from .elementwise import cast

    dt, operands = shape_rules.promote(op_name, *operands)
    if not dt.is_floating_point:
        dt = get_default_dtype()
        operands = tuple(cast(x, dt) if isinstance(x, Tensor) else x for x in operands)
    return operands


# ---- maximum / minimum ---------------------------------------------------------------------------------------
def _extremum_vjp(ctx, g):
    """Each operand gets the gradient where it wins; ties split it evenly (as PyTorch)."""
    a, b = ctx.saved
    win_a = (a > b).to(g.dtype) + (a == b).to(g.dtype) * 0.5 if ctx.attrs["larger"] else \
        (a < b).to(g.dtype) + (a == b).to(g.dtype) * 0.5
    return (g * win_a if ctx.needs[0] else None), (g * (1 - win_a) if ctx.needs[1] else None)


maximum_p = primitive("maximum", shape_rules.elementwise, save_inputs=(0, 1))(lambda xp, a, b, larger: xp.maximum(a, b))
minimum_p = primitive("minimum", shape_rules.elementwise, save_inputs=(0, 1))(lambda xp, a, b, larger: xp.minimum(a, b))
maximum_p.defvjp(_extremum_vjp)
minimum_p.defvjp(_extremum_vjp)


def _pair_samples(rng):
    r = rng.standard_normal
    return [Sample(r((3, 4)), r((3, 4))), Sample(r((2, 3)), r((3,)), note="broadcast")]


@op(methods=("maximum",), samples=_pair_samples, torch="maximum", ref=np.maximum)
def maximum(input, other):
    """Elementwise larger of two tensors (NaN propagates)."""
    from .arith import _operands

    return bind(maximum_p, *_operands("maximum", input, other), larger=True)


@op(methods=("minimum",), samples=_pair_samples, torch="minimum", ref=np.minimum)
def minimum(input, other):
    """Elementwise smaller of two tensors (NaN propagates)."""
    from .arith import _operands

    return bind(minimum_p, *_operands("minimum", input, other), larger=False)


# ---- atan2 ---------------------------------------------------------------------------------------------------
atan2_p = primitive("atan2", shape_rules.elementwise, save_inputs=(0, 1))(lambda xp, y, x: xp.arctan2(y, x))


@atan2_p.defvjp
def _(ctx, g):
    y, x = ctx.saved
    scale = g / (x * x + y * y)  # d atan2(y, x) = (x dy - y dx) / (x^2 + y^2)
    return (scale * x if ctx.needs[0] else None), (-scale * y if ctx.needs[1] else None)


def _atan2_samples(rng):
    r = rng.standard_normal
    return [Sample(r((3, 4)), r((3, 4))), Sample(r((2, 3)), r((3,)), note="broadcast"),
            Sample(r((2, 2)), np.array([-1.0, 1.0]), note="both half-planes"), Sample(r(()), r(()), note="0-d")]


@op(methods=("atan2", "arctan2"), aliases=("arctan2",), samples=_atan2_samples, torch="atan2", ref=np.arctan2)
def atan2(input, other):
    """The angle of the point (other, input): arctan(input / other) in the correct quadrant, in (-pi, pi]."""
    return bind(atan2_p, *_float_pair("atan2", input, other))


method("atan2_", "arctan2_")(lambda self, other: self.copy_(atan2(self, other)))


# ---- lerp ----------------------------------------------------------------------------------------------------
def _lerp_impl(xp, start, end, weight):
    # PyTorch's two-sided formula: exact at weight 0 and 1, and no cancellation for weights near 1
    diff = end - start
    low = xp.abs(weight) < 0.5
    out = xp.where(low, start + weight * diff, end - diff * (1 - weight))
    return out.astype(start.dtype, copy=False)


lerp_p = primitive("lerp", shape_rules.elementwise, save_inputs=(0, 1, 2))(_lerp_impl)


@lerp_p.defvjp
def _(ctx, g):
    start, end, weight = ctx.saved
    shapes = ctx.shapes
    return (sum_to(g * (1 - weight), shapes[0]) if ctx.needs[0] else None,
            sum_to(g * weight, shapes[1]) if ctx.needs[1] else None,
            sum_to(g * (end - start), shapes[2]) if ctx.needs[2] else None)


def _lerp_samples(rng):
    r = rng.standard_normal
    return [Sample(r((3, 4)), r((3, 4)), 0.3), Sample(r((3, 4)), r((3, 4)), 0.8, note="weight >= 0.5"),
            Sample(r((2, 3)), r((3,)), rng.uniform(size=(2, 1)), note="tensor weight, broadcast"),
            Sample(r(()), r(()), 1.0, note="0-d, weight 1")]


@op(methods=("lerp",), samples=_lerp_samples, torch="lerp", ref=lambda a, b, w: a + w * (b - a))
def lerp(input, end, weight):
    """input + weight * (end - input); `weight` a number or a tensor (all broadcast together)."""
    if not isinstance(input, Tensor) or not isinstance(end, Tensor):
        raise DTypeError(f"lerp: input and end must be tensors, got {type(input).__name__} and {type(end).__name__}")
    if not (input.dtype.is_floating_point and end.dtype.is_floating_point) or input.dtype is not end.dtype:
        raise DTypeError(f"lerp: expected floating-point input and end of one dtype, got {input.dtype.name} and "
                         f"{end.dtype.name}")
    if isinstance(weight, Tensor) and weight.dtype is not input.dtype:
        raise DTypeError(f"lerp: expected weight of dtype {input.dtype.name} (like input), got {weight.dtype.name}")
    if not isinstance(weight, Tensor):
        weight = float(weight)
    return bind(lerp_p, input, end, weight)


method("lerp_")(lambda self, end, weight: self.copy_(lerp(self, end, weight)))
