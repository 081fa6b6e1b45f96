"""Linear algebra: matmul (1-D, 2-D, batched with broadcast batch dims) and mm."""
import numpy as np

from ..errors import ShapeError, fmt_shape
from . import _infer as I
from ._registry import Aval, Sample, bind, op, primitive


def _matmul_infer(a, b):
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: both arguments need at least 1 dimension, got {fmt_shape(a.shape)} @ "
                         f"{fmt_shape(b.shape)}")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ShapeError(f"matmul: inner dimensions differ: {fmt_shape(a.shape)} @ {fmt_shape(b.shape)} "
                         f"({k_a} != {k_b})")
    batch = I.broadcast_shapes("matmul", a.shape[:-2], b.shape[:-2])
    shape = batch + ((a.shape[-2],) if a.ndim > 1 else ()) + ((b.shape[-1],) if b.ndim > 1 else ())
    return Aval(shape, a.dtype, a.device)


matmul_p = primitive("matmul", _matmul_infer, save_inputs=(0, 1))(lambda xp, a, b: xp.matmul(a, b))


@matmul_p.defvjp
def _(ctx, g):
    a, b = ctx.saved  # both at least 2-D: the public matmul reshapes 1-D operands into matrices
    return (matmul(g, b.mT) if ctx.needs[0] else None), (matmul(a.mT, g) if ctx.needs[1] else None)


def _matmul_samples(rng):
    r = rng.standard_normal
    return [Sample(r((3, 4)), r((4, 2))), Sample(r((2, 3, 4)), r((4, 2)), note="batched x matrix"),
            Sample(r((2, 1, 3, 4)), r((3, 4, 2)), note="broadcast batch"), Sample(r((4,)), r((4, 3)), note="vector @"),
            Sample(r((3, 4)), r((4,)), note="@ vector"), Sample(r((4,)), r((4,)), note="dot"),
            Sample(r((4, 3)).T, r((4, 2)), note="non-contiguous")]


@op(methods=("matmul", "__matmul__"), samples=_matmul_samples, torch="matmul", ref=np.matmul)
def matmul(input, other):
    """Matrix product with numpy/PyTorch semantics for 1-D operands and broadcast batch dims."""
    if input.dtype is not other.dtype:
        _, (input, other) = I.promote("matmul", input, other)
    if input.ndim >= 2 and other.ndim >= 2:
        return bind(matmul_p, input, other)
    if input.ndim == 0 or other.ndim == 0:
        _matmul_infer(Aval.of(input), Aval.of(other))  # raises, naming both shapes
    # 1-D operands act as a (1, k) row / (k, 1) column, and that dim is dropped again, as in numpy
    a = input.reshape(1, -1) if input.ndim == 1 else input
    b = other.reshape(-1, 1) if other.ndim == 1 else other
    _matmul_infer(Aval.of(a), Aval.of(b))
    out = bind(matmul_p, a, b)
    shape = out.shape[:-2] + ((out.shape[-2],) if input.ndim > 1 else ()) + ((out.shape[-1],) if other.ndim > 1
                                                                               else ())
    return out.reshape(shape)


def _rmatmul(self, other):
    return matmul(other, self)


from .._tensor import Tensor  # noqa: E402

Tensor.__rmatmul__ = _rmatmul


def _mm_samples(rng):
    return [Sample(rng.standard_normal((3, 4)), rng.standard_normal((4, 2)))]


@op(methods=("mm",), samples=_mm_samples, torch="mm", ref=np.matmul)
def mm(input, mat2):
    """2-D matrix product (strict: both operands must be matrices)."""
    if input.ndim != 2 or mat2.ndim != 2:
        raise ShapeError(f"mm: expected 2-D matrices, got {fmt_shape(input.shape)} and {fmt_shape(mat2.shape)}")
    return matmul(input, mat2)


def _bmm_samples(rng):
    return [Sample(rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 2)))]


@op(methods=("bmm",), samples=_bmm_samples, torch="bmm", ref=np.matmul)
def bmm(input, mat2):
    """Batched matrix product of (b, n, m) and (b, m, p) tensors (no broadcasting)."""
    if input.ndim != 3 or mat2.ndim != 3 or input.shape[0] != mat2.shape[0]:
        raise ShapeError(f"bmm: expected 3-D tensors with the same batch size, got {fmt_shape(input.shape)} and "
                         f"{fmt_shape(mat2.shape)}")
    return matmul(input, mat2)


def _linear_samples(rng):
    r = rng.standard_normal
    return [Sample(r((4, 3)), r((2, 3)), r((2,))), Sample(r((2, 4, 3)), r((5, 3)), note="no bias"),
            Sample(r((3,)), r((2, 3)), r((2,)), note="1-D input")]


@op(samples=_linear_samples, torch=lambda torch, *a: torch.nn.functional.linear(*a),
    ref=lambda x, w, b=None: x @ w.T + (0 if b is None else b))
def linear(input, weight, bias=None):
    """input @ weight.T + bias, over any leading dims of input."""
    if weight.ndim != 2 or input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ShapeError(f"linear: input {fmt_shape(input.shape)} does not fit weight {fmt_shape(weight.shape)} "
                         f"(expected input (..., {weight.shape[1] if weight.ndim == 2 else '?'}))")
    out = matmul(input, weight.mT)
    return out if bias is None else out + bias


def _vec_samples(rng):
    return [Sample(rng.standard_normal((3,)), rng.standard_normal((3,)))]


def _check_vectors(op_name, a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"{op_name}: expected 1-D tensors, got {fmt_shape(a.shape)} and {fmt_shape(b.shape)}")


@op(methods=("dot",), samples=_vec_samples, torch="dot", ref=np.dot)
def dot(input, other):
    """Inner product of two 1-D tensors of the same size."""
    _check_vectors("dot", input, other)
    return matmul(input, other)


@op(methods=("outer",), aliases=("ger",), samples=_vec_samples, torch="outer", ref=np.outer)
def outer(input, vec2):
    """Outer product of two 1-D tensors."""
    _check_vectors("outer", input, vec2)
    return input.reshape(-1, 1) * vec2
