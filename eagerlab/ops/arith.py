"""Binary arithmetic (add, sub, mul, div, floor_divide, remainder, pow), with their operators and in-place forms;
the binary ops with no gradient (comparisons, logical and bitwise ops) are in arith_logical.py.

Operands are promoted with PyTorch's rules before `bind`, so each primitive sees one dtype; Python scalars
pass through as weak-typed constants (no Tensor is made for them).
"""
from .._tensor import Tensor
from ..backend import get_default_dtype, result_type
from ..backend.dtypes import FLOAT, bool_
from ..backend.low_precision import in_float32
from ..errors import DivisionByZeroError, DTypeError
from . import _shape_rules as shape_rules
from ._registry import Sample, apply_inplace, bind, method, op, primitive


def _operands(opname, a, b):
    """Promote (a, b) to one dtype; the fast path (two tensors of one dtype, or tensor + same-kind scalar)
    returns them untouched."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            if a._data.dtype == b._data.dtype:
                return a, b
        elif type(b) is float and a._data.dtype.kind == "f" or type(b) is int and a._data.dtype.kind == "f":
            return a, b
        elif type(b) is int and a._data.dtype.kind in "iu":
            return a, shape_rules.wrapped_int(b, a._data.dtype)
    elif not isinstance(b, Tensor):
        raise DTypeError(f"{opname}: expected at least one Tensor operand, got {type(a).__name__} and "
                         f"{type(b).__name__}")
    return shape_rules.promote(opname, a, b)[1]


def _binary(prim, a, b):
    if type(a) is Tensor and type(b) is Tensor and a._data.dtype == b._data.dtype:  # the hot case, inlined
        return bind(prim, a, b)
    a, b = _operands(prim.name, a, b)
    return bind(prim, a, b)


def _inplace_binary(prim, self, other):
    dt = result_type(self, other)
    if dt.category > self.dtype.category:
        raise DTypeError(f"{prim.name}_: result type {dt.name} can't be cast to the desired output type "
                         f"{self.dtype.name} (in-place on a {self.dtype.name} tensor)")
    if isinstance(other, Tensor) and other.dtype is not self.dtype:
        other = other.to(self.dtype)
    return apply_inplace(prim, self, other)


def _binary_samples(positive_b=False, nonzero=False):
    def samples(rng):
        def b(shape):
            x = rng.standard_normal(shape)
            if positive_b:
                x = abs(x) + 0.5
            elif nonzero:
                x = x + (abs(x) < 0.3) * 1.0
            return x

        return [
            Sample(rng.standard_normal((3, 4)), b((3, 4))),
            Sample(rng.standard_normal((2, 3, 4)), b((4,)), note="broadcast"),
            Sample(rng.standard_normal((3, 1)), b((1, 5)), note="outer broadcast"),
            Sample(rng.standard_normal(()), b(()), note="0-d"),
            Sample(rng.standard_normal((0, 3)), b((3,)), note="empty"),
            Sample(rng.standard_normal((4, 3)).T, b((4,)), note="non-contiguous"),
            Sample(rng.standard_normal((2, 3)), 1.5, note="python scalar"),
        ]

    return samples


# ---- add / sub / mul / div --------------------------------------------------------------------------------
# (on 16-bit floats these compute in float32 and round once: the same bits as numpy's and ml_dtypes' own loops,
# which convert one element at a time and run ~5-20x slower; see backend/low_precision.py)
add_p = primitive("add", shape_rules.elementwise)(in_float32(lambda xp, a, b: a + b, arity=2))
sub_p = primitive("sub", shape_rules.elementwise)(in_float32(lambda xp, a, b: a - b, arity=2))
# each gradient reads only what it needs: d(a*b)/da reads b, d(a*b)/db reads a; a/b keeps its output for db only
mul_p = primitive("mul", shape_rules.elementwise, save_inputs=(0, 1), save_when={0: (1,), 1: (0,)})(
    in_float32(lambda xp, a, b: a * b, arity=2))
div_p = primitive("div", shape_rules.elementwise, save_inputs=(1,), save_outputs=(0,), save_when={1: (1,)})(
    in_float32(lambda xp, a, b: a / b, arity=2))


@add_p.defvjp
def _(ctx, g):
    return g, g


@sub_p.defvjp
def _(ctx, g):
    return g, (-g if ctx.needs[1] else None)


@mul_p.defvjp
def _(ctx, g):
    a, b = ctx.saved
    return (g * b if ctx.needs[0] else None), (g * a if ctx.needs[1] else None)


@div_p.defvjp
def _(ctx, g):
    b, out = ctx.saved
    ga = g / b
    return (ga if ctx.needs[0] else None), (-ga * out if ctx.needs[1] else None)  # d(a/b)/db = -(a/b)/b


def _scaled(x, alpha):
    if alpha == 1:
        return x
    return mul(x, alpha)


@op(methods=("add", "__add__"), samples=_binary_samples(), ref=lambda a, b: a + b, torch="add")
def add(input, other, *, alpha=1):
    """input + alpha * other."""
    return _binary(add_p, input, _scaled(other, alpha))


@op(methods=("sub", "subtract", "__sub__"), samples=_binary_samples(), ref=lambda a, b: a - b, torch="sub")
def sub(input, other, *, alpha=1):
    """input - alpha * other."""
    if isinstance(input, Tensor) and input.dtype is bool_ or isinstance(other, Tensor) and other.dtype is bool_:
        raise DTypeError("sub: subtraction, the `-` operator, with a bool tensor is not supported. If you are "
                         "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    return _binary(sub_p, input, _scaled(other, alpha))


subtract = sub


@op(methods=("mul", "multiply", "__mul__", "__rmul__"), samples=_binary_samples(), ref=lambda a, b: a * b,
    torch="mul")
def mul(input, other):
    return _binary(mul_p, input, other)


multiply = mul


def _float_operands(a, b):
    """True division computes in floating point: integer operands go to the default float dtype."""
    dt = result_type(a, b)
    if dt.category != FLOAT:
        dt = get_default_dtype()
    return tuple(x.to(dt) if isinstance(x, Tensor) and x.dtype is not dt else x for x in (a, b))


@op(methods=("div", "divide", "true_divide", "__truediv__"), samples=_binary_samples(nonzero=True),
    ref=lambda a, b, rounding_mode=None: a / b, torch="div")
def div(input, other, *, rounding_mode=None):
    """input / other; rounding_mode None (true division), 'trunc' or 'floor'."""
    if rounding_mode is None:
        a, b = _operands("div", input, other)
        if not (isinstance(a, Tensor) and a.dtype.is_floating_point or isinstance(b, Tensor)
                and b.dtype.is_floating_point):
            a, b = _float_operands(a, b)
        return bind(div_p, a, b)
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode == "trunc":
        from .elementwise import trunc

        q = div(input, other)
        return trunc(q).to(result_type(input, other)) if q.dtype is not result_type(input, other) else trunc(q)
    raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")


divide = true_divide = div


@method("__radd__")
def _radd(self, other):
    return add(other, self)


@method("__rsub__")
def _rsub(self, other):
    return sub(other, self)


@method("__rtruediv__")
def _rtruediv(self, other):
    return div(other, self)


@method("add_", "__iadd__")
def _add_(self, other, *, alpha=1):
    return _inplace_binary(add_p, self, _scaled(other, alpha))


@method("sub_", "__isub__")
def _sub_(self, other, *, alpha=1):
    return _inplace_binary(sub_p, self, _scaled(other, alpha))


@method("mul_", "__imul__")
def _mul_(self, other):
    return _inplace_binary(mul_p, self, other)


@method("div_", "__itruediv__")
def _div_(self, other):
    if not self.dtype.is_floating_point:
        raise DTypeError(f"div_: result type float can't be cast to the desired output type {self.dtype.name}")
    return _inplace_binary(div_p, self, other)


# ---- floor division, remainder, pow ------------------------------------------------------------------------
def _integer_divisor(op_name, xp, a, b):
    """Refuse an integer division by zero (numpy quietly gives 0); checked in the kernel, so compiled code too."""
    kinds = {x.dtype.kind if hasattr(x, "dtype") else "f" if isinstance(x, float) else "i" for x in (a, b)}
    if kinds <= {"i", "u", "b"} and bool(xp.any(b == 0)):
        raise DivisionByZeroError(f"{op_name}: integer division by zero (ZeroDivisionError)")
    return b


floor_divide_p = primitive("floor_divide", shape_rules.elementwise)(
    lambda xp, a, b: xp.floor_divide(a, _integer_divisor("floor_divide", xp, a, b)))
remainder_p = primitive("remainder", shape_rules.elementwise, save_inputs=(0, 1))(
    lambda xp, a, b: xp.remainder(a, _integer_divisor("remainder", xp, a, b)))
pow_p = primitive("pow", shape_rules.elementwise, save_inputs=(0, 1), save_outputs=(0,),
                  save_when={1: (0,), 2: (1,)})(lambda xp, a, b: xp.power(a, b))


@remainder_p.defvjp
def _(ctx, g):
    a, b = ctx.saved
    from .elementwise import floor

    return (g if ctx.needs[0] else None), (-g * floor(div(a, b)) if ctx.needs[1] else None)


@pow_p.defvjp
def _(ctx, g):
    from .elementwise import log
    from .index import where

    a, b, out = ctx.saved
    ga = gb = None
    if ctx.needs[0]:
        if isinstance(b, Tensor):
            ga = g * b * pow(a, b - 1)
        else:
            ga = g * b * pow(a, b - 1) if b != 0 else g * 0
    if ctx.needs[1]:
        if isinstance(a, Tensor):
            gb = where(a > 0, g * out * log(where(a > 0, a, 1.0)), 0.0)
        else:
            import math

            gb = g * out * math.log(a) if a > 0 else g * 0
    return ga, gb


@op(methods=("floor_divide", "__floordiv__"), samples=_binary_samples(nonzero=True), grad=False,
    ref=lambda a, b: a // b, torch="floor_divide")
def floor_divide(input, other):
    return _binary(floor_divide_p, input, other)


@op(methods=("remainder", "__mod__"), samples=_binary_samples(positive_b=True), ref=lambda a, b: a % b,
    torch="remainder")
def remainder(input, other):
    """Python-style remainder (the sign of the divisor), as torch.remainder."""
    return _binary(remainder_p, input, other)


def _pow_samples(rng):
    base = lambda s: abs(rng.standard_normal(s)) + 0.5  # noqa: E731
    return [Sample(base((3, 4)), rng.standard_normal((3, 4))), Sample(base((2, 3)), 2.0, note="square"),
            Sample(rng.standard_normal((2, 3)), 3, note="int exponent, negative base"),
            Sample(base((2, 1)), rng.standard_normal((1, 3)), note="broadcast"),
            Sample(base(()), 0.5, note="0-d sqrt")]


@op(methods=("pow", "__pow__"), samples=_pow_samples, ref=lambda a, b: a ** b, torch="pow")
def pow(input, exponent):
    return _binary(pow_p, input, exponent)


@method("__rfloordiv__")
def _rfloordiv(self, other):
    return floor_divide(other, self)


@method("__rmod__")
def _rmod(self, other):
    return remainder(other, self)


@method("__rpow__")
def _rpow(self, other):
    return pow(other, self)


@method("__ipow__", "pow_")
def _pow_(self, other):
    return _inplace_binary(pow_p, self, other)


@method("__ifloordiv__", "floor_divide_")
def _floordiv_(self, other):
    return _inplace_binary(floor_divide_p, self, other)


@method("__imod__", "remainder_")
def _mod_(self, other):
    return _inplace_binary(remainder_p, self, other)
