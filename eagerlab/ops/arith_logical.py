"""Comparisons (eq, ne, lt, le, gt, ge), logical ops (logical_and/or/xor/not) and bitwise ops (`&`, `|`, `^`, `~`),
with their operators and in-place forms.

These are the binary ops without a gradient: comparisons and logical ops give bool tensors, bitwise ops take integer
and bool tensors only. arith.py keeps the differentiable ones; both share its operand promotion (`_binary`) and
samples.
"""
import numpy as np

from .._tensor import Tensor
from ..backend.dtypes import bool_
from ..backend.low_precision import in_float32
from ..errors import DTypeError
from . import _shape_rules as shape_rules
from ._registry import Sample, apply_inplace, bind, method, op, primitive
from .arith import _binary, _binary_samples


# ---- comparisons and logical ops (no gradient) ----------------------------------------------------------
def _predicate(name, fn, methods, torch_name, ref, logical=False):
    prim = primitive(name, shape_rules.predicate)(in_float32(fn, arity=2))

    def public(input, other):
        if logical:
            input, other = (x.to(bool_) if isinstance(x, Tensor) and x.dtype is not bool_ else x
                            for x in (input, other))
        return _binary(prim, input, other)

    public.__name__ = name
    public.__doc__ = f"Elementwise {name}; a bool tensor."

    def oracle(torch, a, b):  # torch's comparison/logical functions want a Tensor as `other`
        return getattr(torch, torch_name)(a, b if isinstance(b, torch.Tensor) else torch.as_tensor(b))

    return op(name, methods=methods, samples=_binary_samples(), grad=False, ref=ref, torch=oracle)(public)


eq = _predicate("eq", lambda xp, a, b: a == b, ("eq",), "eq", lambda a, b: a == b)
ne = _predicate("ne", lambda xp, a, b: a != b, ("ne",), "ne", lambda a, b: a != b)


@method("__eq__")
def _eq_operator(self, other):
    # `t == None` or `t == "x"` is not a tensor comparison: let Python fall back (False), as PyTorch does
    return eq(self, other) if isinstance(other, (Tensor, int, float, bool)) else NotImplemented


@method("__ne__")
def _ne_operator(self, other):
    return ne(self, other) if isinstance(other, (Tensor, int, float, bool)) else NotImplemented


lt = _predicate("lt", lambda xp, a, b: a < b, ("lt", "__lt__", "less"), "lt", lambda a, b: a < b)
le = _predicate("le", lambda xp, a, b: a <= b, ("le", "__le__", "less_equal"), "le", lambda a, b: a <= b)
gt = _predicate("gt", lambda xp, a, b: a > b, ("gt", "__gt__", "greater"), "gt", lambda a, b: a > b)
ge = _predicate("ge", lambda xp, a, b: a >= b, ("ge", "__ge__", "greater_equal"), "ge", lambda a, b: a >= b)
logical_and = _predicate("logical_and", lambda xp, a, b: xp.logical_and(a, b), ("logical_and",), "logical_and",
                         lambda a, b: (a != 0) & (b != 0), logical=True)
logical_or = _predicate("logical_or", lambda xp, a, b: xp.logical_or(a, b), ("logical_or",), "logical_or",
                        lambda a, b: (a != 0) | (b != 0), logical=True)
logical_xor = _predicate("logical_xor", lambda xp, a, b: xp.logical_xor(a, b), ("logical_xor",), "logical_xor",
                         lambda a, b: (a != 0) ^ (b != 0), logical=True)
less, less_equal, greater, greater_equal = lt, le, gt, ge


# ---- bitwise ops (bool and integer tensors; `&`, `|`, `^`, `~`) ------------------------------------------------
def _int_samples(rng):
    return [Sample(rng.random((3, 4)) > 0.5, rng.random((3, 4)) > 0.5, grad=False),
            Sample(rng.integers(-8, 8, (2, 3)), rng.integers(-8, 8, (3,)), grad=False, note="int broadcast")]


def _bitwise(name, fn, methods, ref):
    prim = primitive(name, shape_rules.elementwise)(fn)

    def public(input, other):
        for x in (input, other):
            if isinstance(x, Tensor) and x.dtype.is_floating_point or isinstance(x, float):
                raise DTypeError(f"{name}: only integer and bool tensors are supported, got "
                                 f"{x.dtype.name if isinstance(x, Tensor) else 'float'}")
        return _binary(prim, input, other)

    public.__name__ = name
    public.__doc__ = f"Elementwise {name} of integer or bool tensors."
    fn_ = op(name, methods=methods, samples=_int_samples, grad=False, ref=ref, torch=name)(public)
    method("__r" + methods[1][2:])(lambda self, other: fn_(other, self))
    method("__i" + methods[1][2:], name + "_")(lambda self, other: apply_inplace(prim, self, other))
    return fn_


bitwise_and = _bitwise("bitwise_and", lambda xp, a, b: a & b, ("bitwise_and", "__and__"), lambda a, b: a & b)
bitwise_or = _bitwise("bitwise_or", lambda xp, a, b: a | b, ("bitwise_or", "__or__"), lambda a, b: a | b)
bitwise_xor = _bitwise("bitwise_xor", lambda xp, a, b: a ^ b, ("bitwise_xor", "__xor__"), lambda a, b: a ^ b)

bitwise_not_p = primitive("bitwise_not", shape_rules.same)(lambda xp, x: ~x)


def _not_samples(rng):
    return [Sample(rng.random((3, 4)) > 0.5, grad=False), Sample(rng.integers(-8, 8, (5,)), grad=False)]


@op(methods=("bitwise_not", "__invert__"), samples=_not_samples, grad=False, ref=np.invert, torch="bitwise_not")
def bitwise_not(input):
    if input.dtype.is_floating_point:
        raise DTypeError(f"bitwise_not: only integer and bool tensors are supported, got {input.dtype.name}")
    return bind(bitwise_not_p, input)


logical_not_p = primitive("logical_not", shape_rules.predicate)(lambda xp, x: xp.logical_not(x))


def _logical_not_samples(rng):
    return [Sample(rng.standard_normal((3, 4)), grad=False), Sample(rng.random((2, 3)) > 0.5, grad=False)]


@op(methods=("logical_not",), samples=_logical_not_samples, grad=False, ref=np.logical_not, torch="logical_not")
def logical_not(input):
    """Elementwise NOT of truthiness (nonzero is True); a bool tensor."""
    return bind(logical_not_p, input)
