"""Selection ops: where (x[...] indexing lives in getitem.py)."""
from .._tensor import Tensor
from ..backend.dtypes import bool_
from ..errors import DTypeError, UnsupportedError
from . import _infer as I
from ._registry import Aval, Sample, bind, op, primitive


def _where_infer(cond, a, b):
    shapes = [x.shape for x in (cond, a, b) if isinstance(x, Aval)]
    ref = a if isinstance(a, Aval) else b
    return Aval(I.broadcast_shapes("where", *shapes), ref.dtype, cond.device)


where_p = primitive("where", _where_infer, save_inputs=(0,))(lambda xp, c, a, b: xp.where(c, a, b))


@where_p.defvjp
def _(ctx, g):
    (cond,) = ctx.saved
    zero = g.new_zeros(())
    return None, (where(cond, g, zero) if ctx.needs[1] else None), (where(cond, zero, g) if ctx.needs[2] else None)


def _where_samples(rng):
    return [Sample(rng.random((3, 4)) > 0.5, rng.standard_normal((3, 4)), rng.standard_normal((3, 4))),
            Sample(rng.random((3, 1)) > 0.5, rng.standard_normal((1, 4)), rng.standard_normal((3, 4)),
                   note="broadcast"),
            Sample(rng.random((2, 3)) > 0.5, rng.standard_normal((2, 3)), 0.0, note="scalar other")]


@op(methods=(), samples=_where_samples, torch="where",
    ref=lambda c, a, b=None: __import__("numpy").where(c, a, b))
def where(condition, input=None, other=None):
    """Elements of input where condition holds, else of other."""
    if input is None and other is None:
        raise UnsupportedError("where(condition): the one-argument form (nonzero) is not supported yet")
    if not isinstance(condition, Tensor) or condition.dtype is not bool_:
        raise DTypeError(f"where: expected condition to be a bool tensor, got "
                         f"{getattr(condition, 'dtype', type(condition).__name__)}")
    from .arith import _operands

    a, b = _operands("where", input, other)
    return bind(where_p, condition, a, b)


def _where_method(self, condition, other):
    return where(condition, self, other)


Tensor.where = _where_method
