"""Linear algebra: matmul (1-D, 2-D, batched with broadcast batch dims), mm/bmm/mv, linear (fused), addmm/baddbmm,
dot/outer, tensordot (einsum: linalg_einsum.py)."""
import numpy as np

from .._tensor import Tensor
from ..backend.blas import matmul as gemm
from ..backend.low_precision import in_float32
from ..errors import DTypeError, ShapeError, fmt_shape
from . import _shape_rules as shape_rules
from ._registry import Aval, Sample, bind, method, op, primitive


def _matmul_infer(a, b):
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: both arguments need at least 1 dimension, got {fmt_shape(a.shape)} @ "
                         f"{fmt_shape(b.shape)}")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ShapeError(f"matmul: inner dimensions differ: {fmt_shape(a.shape)} @ {fmt_shape(b.shape)} "
                         f"({k_a} != {k_b})")
    try:
        batch = shape_rules.broadcast_shapes("matmul", a.shape[:-2], b.shape[:-2])
    except ShapeError:
        raise ShapeError(f"matmul: batch dimensions do not broadcast: {fmt_shape(a.shape)} @ {fmt_shape(b.shape)} "
                         f"(batch {fmt_shape(a.shape[:-2])} vs {fmt_shape(b.shape[:-2])})") from None
    shape = batch + ((a.shape[-2],) if a.ndim > 1 else ()) + ((b.shape[-1],) if b.ndim > 1 else ())
    return Aval(shape, a.dtype, a.device)


def _matmul_impl(xp, a, b):
    if a.ndim > 2 and b.ndim == 2:
        # one GEMM over all rows instead of numpy's loop of small GEMMs per batch entry (a view when a is contiguous);
        # the row count is spelled out because reshape cannot infer -1 when the inner dim is 0
        return gemm(xp, a.reshape(int(np.prod(a.shape[:-1])), a.shape[-1]), b).reshape(a.shape[:-1] + b.shape[-1:])
    if xp is np and b.ndim > 2 and b.strides[-2] == b.itemsize != b.strides[-1] and \
            a.shape[-2] * a.shape[-1] * b.shape[-1] <= _SMALL_TRANSPOSED_MACS:
        # a stack of small transposed right operands (attention's q @ k^T): OpenBLAS's transposed-B kernel is
        # 1.15-1.35x slower at these sizes than a row-major copy and the plain one (and 1.1x faster above them)
        b = np.ascontiguousarray(b)
    return gemm(xp, a, b)


_SMALL_TRANSPOSED_MACS = 64 * 64 * 64  # per matrix product: up to here, copying a transposed b pays (numpy)


# each operand is kept only for the other's gradient: under autocast the low-precision copy of a weight fed by data
# that needs no gradient (the first layer) is not held until backward
matmul_p = primitive("matmul", _matmul_infer, save_inputs=(0, 1), save_when={0: (1,), 1: (0,)})(
    in_float32(_matmul_impl))


def _mT(x):
    """Swap the last two dims (a view), binding the primitive directly: this runs in every matmul backward."""
    from .shape import permute_p

    n = x.ndim
    return bind(permute_p, x, dims=tuple(range(n - 2)) + (n - 1, n - 2))


@matmul_p.defvjp
def _(ctx, g):
    a, b = ctx.saved  # both at least 2-D: the public matmul reshapes 1-D operands into matrices
    ga = bind(matmul_p, g, _mT(b)) if ctx.needs[0] else None
    gb = None
    if ctx.needs[1]:
        if len(ctx.shapes[1]) == 2 and a.ndim > 2:  # b was shared by every batch entry: one GEMM sums over them
            gb = bind(linear_weight_grad_p, a, g)  # a^T g over all rows
        else:
            gb = bind(matmul_p, _mT(a), g)
    return ga, gb


def _matmul_samples(rng):
    r = rng.standard_normal
    return [Sample(r((3, 4)), r((4, 2))), Sample(r((2, 3, 4)), r((4, 2)), note="batched x matrix"),
            Sample(r((2, 1, 3, 4)), r((3, 4, 2)), note="broadcast batch"), Sample(r((4,)), r((4, 3)), note="vector @"),
            Sample(r((3, 4)), r((4,)), note="@ vector"), Sample(r((4,)), r((4,)), note="dot"),
            Sample(r((4, 3)).T, r((4, 2)), note="non-contiguous"), Sample(r((3,)), r((2, 3, 2)), note="vector @ batch"),
            Sample(r((2, 2, 3)), r((3,)), note="batch @ vector"),
            Sample(r((3, 4)), r((2, 4, 2)), note="matrix @ batch"), Sample(r((0, 4)), r((4, 2)), note="empty")]


@op(methods=("matmul", "__matmul__"), samples=_matmul_samples, torch="matmul", ref=np.matmul)
def matmul(input, other):
    """Matrix product with numpy/PyTorch semantics for 1-D operands and broadcast batch dims."""
    if input._data.dtype != other._data.dtype:
        _same_dtype("matmul", input, other)
    if input._data.ndim >= 2 and other._data.ndim >= 2:
        return bind(matmul_p, input, other)
    shape = _matmul_infer(Aval.of(input), Aval.of(other)).shape  # raises naming both shapes as given
    # 1-D operands act as a (1, k) row / (k, 1) column, and that dim is dropped again, as in numpy
    a = input.reshape(1, -1) if input.ndim == 1 else input
    b = other.reshape(-1, 1) if other.ndim == 1 else other
    return bind(matmul_p, a, b).reshape(shape)


@method("__rmatmul__")
def _rmatmul(self, other):
    if not isinstance(other, Tensor):
        from .creation import as_tensor

        other = as_tensor(other, device=self.device)
    return matmul(other, self)


def _same_dtype(op_name, *tensors):
    """Products follow PyTorch: operands must share a dtype (no silent float64 upcast of a float32 model)."""
    dt = tensors[0].dtype
    for t in tensors[1:]:
        if t is not None and t.dtype is not dt:
            raise DTypeError(f"{op_name}: expected all operands to have the same dtype, got "
                             f"{', '.join(x.dtype.name for x in tensors if x is not None)}; convert one with .to()")


def _mm_samples(rng):
    return [Sample(rng.standard_normal((3, 4)), rng.standard_normal((4, 2))),
            Sample(rng.standard_normal((4, 3)).T, rng.standard_normal((4, 1)), note="non-contiguous")]


@op(methods=("mm",), samples=_mm_samples, torch="mm", ref=np.matmul)
def mm(input, mat2):
    """2-D matrix product (strict: both operands must be matrices)."""
    if input.ndim != 2 or mat2.ndim != 2:
        raise ShapeError(f"mm: expected 2-D matrices, got {fmt_shape(input.shape)} and {fmt_shape(mat2.shape)}")
    _same_dtype("mm", input, mat2)
    return bind(matmul_p, input, mat2)


def _bmm_samples(rng):
    return [Sample(rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 2)))]


@op(methods=("bmm",), samples=_bmm_samples, torch="bmm", ref=np.matmul)
def bmm(input, mat2):
    """Batched matrix product of (b, n, m) and (b, m, p) tensors (no broadcasting)."""
    if input.ndim != 3 or mat2.ndim != 3 or input.shape[0] != mat2.shape[0]:
        raise ShapeError(f"bmm: expected 3-D tensors with the same batch size, got {fmt_shape(input.shape)} and "
                         f"{fmt_shape(mat2.shape)}")
    _same_dtype("bmm", input, mat2)
    return bind(matmul_p, input, mat2)


def _mv_samples(rng):
    return [Sample(rng.standard_normal((3, 4)), rng.standard_normal((4,)))]


@op(methods=("mv",), samples=_mv_samples, torch="mv", ref=np.matmul)
def mv(input, vec):
    """Matrix-vector product of an (n, m) matrix and an (m,) vector."""
    if input.ndim != 2 or vec.ndim != 1:
        raise ShapeError(f"mv: expected a 2-D matrix and a 1-D vector, got {fmt_shape(input.shape)} and "
                         f"{fmt_shape(vec.shape)}")
    _same_dtype("mv", input, vec)
    return matmul(input, vec)


# ---- linear: x @ W.T + b as one primitive (the hot path of every dense layer) -----------------------------------
def _linear_infer(x, w, b=None):
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ShapeError(f"linear: input {fmt_shape(x.shape)} does not fit weight {fmt_shape(w.shape)} "
                         f"(expected input (..., {w.shape[1] if w.ndim == 2 else '?'}))")
    shape = x.shape[:-1] + (w.shape[0],)
    if b is not None and shape_rules.broadcast_shapes("linear", shape, b.shape) != shape:
        raise ShapeError(f"linear: bias {fmt_shape(b.shape)} does not fit the output {fmt_shape(shape)} (expected "
                         f"bias ({w.shape[0]},))")
    return Aval(shape, x.dtype, x.device)


def _linear_impl(xp, x, w, b=None):
    if x.ndim > 2:
        out = gemm(xp, x.reshape(-1, x.shape[-1]), w.T).reshape(x.shape[:-1] + w.shape[:1])
    else:
        out = gemm(xp, x, w.T)  # w.T is a view: BLAS reads it transposed, W is never copied
    if b is not None:
        out += b
    return out


linear_p = primitive("linear", _linear_infer, save_inputs=(0, 1), save_when={0: (1,), 1: (0,)})(
    in_float32(_linear_impl))


@linear_p.defvjp
def _(ctx, g):
    from .reduce import sum_p

    x, w = ctx.saved
    gx = gw = gb = None
    if ctx.needs[0]:
        gx = bind(matmul_p, g, w) if g.ndim >= 2 else bind(matmul_p, g.reshape(1, -1), w).reshape(-1)
    if ctx.needs[1]:
        gw = bind(linear_weight_grad_p, g, x)
    if len(ctx.needs) > 2 and ctx.needs[2]:
        gb = bind(sum_p, g, dims=tuple(range(g.ndim - 1)), keepdim=False) if g.ndim > 1 else g
    return gx, gw, gb


# the weight gradient g^T x summed over every leading row, as one GEMM on the (rows, features) views: one op in
# each linear backward, where reshape, transpose and matmul were four (each op costs ~15 us of Python at these sizes)
def _weight_grad_infer(g, x):
    return Aval((g.shape[-1], x.shape[-1]), g.dtype, g.device)


def _weight_grad_impl(xp, g, x):
    return gemm(xp, g.reshape(-1, g.shape[-1]).T, x.reshape(-1, x.shape[-1]))


linear_weight_grad_p = primitive("linear_weight_grad", _weight_grad_infer, save_inputs=(0, 1),
                                 save_when={0: (1,), 1: (0,)})(in_float32(_weight_grad_impl))


@linear_weight_grad_p.defvjp
def _(ctx, a):
    g, x = ctx.saved
    ga = bind(linear_p, x, a) if ctx.needs[0] else None  # x a^T: (..., n), g's shape
    gx = matmul(g, a) if ctx.needs[1] else None  # (the public op: g is 1-D for a 1-D linear input)
    return ga, gx


def _linear_samples(rng):
    r = rng.standard_normal
    return [Sample(r((4, 3)), r((2, 3)), r((2,))), Sample(r((2, 4, 3)), r((5, 3)), note="no bias"),
            Sample(r((3,)), r((2, 3)), r((2,)), note="1-D input"),
            Sample(r((2, 2, 3)), r((2, 3)), r((2,)), note="leading dims with bias"),
            Sample(r((3, 4)).T, r((2, 3)), r(()), note="non-contiguous input, 0-d bias"),
            Sample(r((0, 3)), r((2, 3)), r((2,)), note="empty batch")]


@op(samples=_linear_samples, torch=lambda torch, *a: torch.nn.functional.linear(*a),
    ref=lambda x, w, b=None: x @ w.T + (0 if b is None else b))
def linear(input, weight, bias=None):
    """input @ weight.T + bias, over any leading dims of input."""
    if input._data.dtype != weight._data.dtype or bias is not None and bias._data.dtype != weight._data.dtype:
        _same_dtype("linear", input, weight, bias)
    if bias is None:
        return bind(linear_p, input, weight)
    return bind(linear_p, input, weight, bias)


# ---- addmm / baddbmm: beta * input + alpha * (mat1 @ mat2) ---------------------------------------------------------
def _scaled_sum(op_name, input, product, beta, alpha):
    if shape_rules.broadcast_shapes(op_name, input.shape, product.shape) != tuple(product.shape):
        raise ShapeError(f"{op_name}: input {fmt_shape(input.shape)} does not broadcast to the product's shape "
                         f"{fmt_shape(product.shape)}")
    if alpha != 1:
        product = product * alpha
    if beta == 0:  # PyTorch ignores input entirely then: nan/inf in it do not propagate
        return product
    return product + (input if beta == 1 else input * beta)


def _addmm_samples(rng):
    r = rng.standard_normal
    return [Sample(r((2, 3)), r((2, 4)), r((4, 3))), Sample(r((3,)), r((2, 4)), r((4, 3)), beta=0.5, alpha=2.0),
            Sample(r((2, 3)), r((2, 4)), r((4, 3)), beta=0.0, note="beta=0 ignores input")]


@op(methods=("addmm",), samples=_addmm_samples, torch="addmm",
    ref=lambda c, a, b, beta=1, alpha=1: beta * c + alpha * (a @ b))
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta * input + alpha * (mat1 @ mat2), input broadcast to the product's shape."""
    return _scaled_sum("addmm", input, mm(mat1, mat2), beta, alpha)


def _baddbmm_samples(rng):
    r = rng.standard_normal
    return [Sample(r((2, 3, 2)), r((2, 3, 4)), r((2, 4, 2))),
            Sample(r((3, 2)), r((2, 3, 4)), r((2, 4, 2)), beta=2.0, alpha=-0.5, note="broadcast input")]


@op(methods=("baddbmm",), samples=_baddbmm_samples, torch="baddbmm",
    ref=lambda c, a, b, beta=1, alpha=1: beta * c + alpha * (a @ b))
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * bmm(batch1, batch2)."""
    return _scaled_sum("baddbmm", input, bmm(batch1, batch2), beta, alpha)


# ---- vector products, tensordot ------------------------------------------------------------------------------------
def _vec_samples(rng):
    return [Sample(rng.standard_normal((3,)), rng.standard_normal((3,)))]


def _check_vectors(op_name, a, b, same_size):
    if a.ndim != 1 or b.ndim != 1 or same_size and a.shape != b.shape:
        raise ShapeError(f"{op_name}: expected 1-D tensors{' of the same size' if same_size else ''}, got "
                         f"{fmt_shape(a.shape)} and {fmt_shape(b.shape)}")


@op(methods=("dot",), samples=_vec_samples, torch="dot", ref=np.dot)
def dot(input, other):
    """Inner product of two 1-D tensors of the same size."""
    _check_vectors("dot", input, other, True)
    return matmul(input, other)


@op(methods=("outer", "ger"), aliases=("ger",), samples=_vec_samples, torch="outer", ref=np.outer)
def outer(input, vec2):
    """Outer product of two 1-D tensors."""
    _check_vectors("outer", input, vec2, False)
    return input.reshape(-1, 1) * vec2


def _tensordot_dims(a, b, dims):
    if isinstance(dims, (int, np.integer)):
        if dims < 0 or dims > min(a.ndim, b.ndim):
            raise ShapeError(f"tensordot: dims={dims} must be between 0 and the smaller rank of "
                             f"{fmt_shape(a.shape)} and {fmt_shape(b.shape)}")
        return tuple(range(a.ndim - dims, a.ndim)), tuple(range(dims))
    try:
        da, db = dims
    except (TypeError, ValueError):
        raise TypeError(f"tensordot: dims must be an int or a pair of dim lists, got {dims!r}") from None
    da = (da,) if isinstance(da, (int, np.integer)) else tuple(da)
    db = (db,) if isinstance(db, (int, np.integer)) else tuple(db)
    if len(da) != len(db):
        raise ShapeError(f"tensordot: both dim lists must have the same length, got {list(da)} and {list(db)}")
    return (tuple(shape_rules.norm_dim("tensordot", d, a.ndim) for d in da),  # pairs keep their order (norm_dims sorts)
            tuple(shape_rules.norm_dim("tensordot", d, b.ndim) for d in db))


def _tensordot_samples(rng):
    r = rng.standard_normal
    return [Sample(r((2, 3, 4)), r((3, 4, 2))), Sample(r((2, 3, 4)), r((4, 3, 2)), dims=([1, 2], [1, 0])),
            Sample(r((2, 3)), r((3, 2)), dims=1), Sample(r((2, 2)), r((3,)), dims=0, note="outer"),
            Sample(r((3, 2)).T, r((3, 4)), dims=([1], [0]), note="non-contiguous")]


@op(samples=_tensordot_samples, torch="tensordot",
    ref=lambda a, b, dims=2: np.tensordot(a, b, axes=dims if isinstance(dims, int) else tuple(dims)))
def tensordot(a, b, dims=2):
    """Sum of products over `dims` (the last `dims` dims of a with the first of b, or a pair of dim lists)."""
    da, db = _tensordot_dims(a, b, dims)
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise ShapeError(f"tensordot: contracted dims differ in size: dim {i} of {fmt_shape(a.shape)} vs dim {j} "
                             f"of {fmt_shape(b.shape)}")
    free_a = [d for d in range(a.ndim) if d not in da]
    free_b = [d for d in range(b.ndim) if d not in db]
    size = lambda x, ds: int(np.prod([x.shape[d] for d in ds], dtype=np.int64))  # noqa: E731
    a2 = a.permute(*free_a, *da).reshape(size(a, free_a), size(a, da))
    b2 = b.permute(*db, *free_b).reshape(size(b, db), size(b, free_b))
    return matmul(a2, b2).reshape(tuple(a.shape[d] for d in free_a) + tuple(b.shape[d] for d in free_b))
