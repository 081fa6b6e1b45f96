"""embedding: rows of a weight matrix picked by an integer index tensor of any shape.

The forward is one `take`; the weight's gradient is the `embedding_backward` primitive, a scatter-add of the
output gradient's rows into a (num_embeddings, dim) zero matrix. It avoids a row-wise `add.at` (slow in numpy):
the rows of first occurrences are assigned in one fancy-index write and only repeated indices go through a flat
(1-D, fast) `add.at`. Rows at padding_idx get no gradient; scale_grad_by_freq divides each row's gradient by its
index's count in the batch.
"""
import numpy as np

from ..autograd.grad_mode import no_grad
from ..backend.dtypes import FLOAT, int32, int64
from ..errors import DTypeError, IndexOutOfRange, ShapeError, UnsupportedError, fmt_shape
from ._registry import Aval, Sample, bind, op, primitive


def _embedding_infer(weight, index, **attrs):
    return Aval(tuple(index.shape) + tuple(weight.shape[1:]), weight.dtype, weight.device)


def _embedding_impl(xp, weight, index, *, padding_idx, scale_grad_by_freq):
    if index.size:
        lo, hi = int(index.min()), int(index.max())
        if lo < 0 or hi >= weight.shape[0]:
            raise IndexOutOfRange(f"embedding: index {lo if lo < 0 else hi} is out of range for num_embeddings="
                                  f"{weight.shape[0]} (weight {fmt_shape(weight.shape)}, indices "
                                  f"{fmt_shape(index.shape)}); valid indices are 0..{weight.shape[0] - 1}")
    return xp.take(weight, index, axis=0)


def _embedding_backward_impl(xp, g, index, *, num_weights, padding_idx, scale_grad_by_freq):
    dim = g.shape[-1]
    rows, flat = g.reshape(-1, dim), index.reshape(-1)
    out = xp.zeros((num_weights, dim), dtype=g.dtype)
    if flat.size:
        order = xp.argsort(flat, kind="stable")
        s = flat[order]
        first = xp.ones(s.shape, dtype=bool)  # the first entry of each run of equal (sorted) indices
        first[1:] = s[1:] != s[:-1]
        out[s[first]] = rows[order[first]]
        rest = order[~first]
        if rest.size:  # repeated indices: as flat positions, numpy's add.at takes its fast 1-D path
            pos = flat[rest].astype(xp.int64)[:, None] * dim + xp.arange(dim)  # int64: no int32 overflow
            xp.add.at(out.reshape(-1), pos.reshape(-1), rows[rest].reshape(-1))
        if scale_grad_by_freq:
            starts = xp.flatnonzero(first)
            counts = xp.diff(xp.append(starts, s.shape[0]))
            out[s[starts]] /= counts[:, None].astype(g.dtype)
    if padding_idx >= 0:
        out[padding_idx] = 0
    return out


embedding_p = primitive("embedding", _embedding_infer, save_inputs=(1,))(_embedding_impl)
embedding_backward_p = primitive(
    "embedding_backward", lambda g, index, *, num_weights, **attrs: Aval((num_weights, g.shape[-1]), g.dtype, g.device),
    save_inputs=(1,))(_embedding_backward_impl)


@embedding_p.defvjp
def _(ctx, g):
    (index,) = ctx.saved
    return bind(embedding_backward_p, g, index, num_weights=ctx.shapes[0][0], **ctx.attrs), None


@embedding_backward_p.defvjp
def _(ctx, v):
    """The adjoint of the scatter: v's rows picked by index, times 0 at padding_idx and 1/count with
    scale_grad_by_freq."""
    from .sorting import unique

    (index,) = ctx.saved
    out = bind(embedding_p, v, index, padding_idx=-1, scale_grad_by_freq=False)
    if ctx.attrs["scale_grad_by_freq"]:
        _, inverse, counts = unique(index, return_inverse=True, return_counts=True)
        out = out / counts[inverse].unsqueeze(-1).to(out.dtype)
    if ctx.attrs["padding_idx"] >= 0:
        out = out * (index != ctx.attrs["padding_idx"]).unsqueeze(-1).to(out.dtype)
    return out, None


def _renorm_(weight, input, max_norm, norm_type):
    """PyTorch's embedding_renorm_: the rows of weight that input references and whose norm exceeds max_norm are
    scaled down to it (max_norm / (norm + 1e-7)), in place and outside autograd."""
    from .index import where
    from .sorting import unique

    with no_grad():
        rows = unique(input.reshape(-1))
        picked = weight[rows]
        a = picked.abs()
        norms = a.amax(1, keepdim=True) if norm_type == float("inf") else \
            (a ** norm_type).sum(1, keepdim=True) ** (1 / norm_type)
        weight[rows] = picked * where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)


# ---- samples and numpy reference ----------------------------------------------------------------------------------
def _samples(rng):
    # padding_idx and scale_grad_by_freq change the gradient on purpose (it is not d(output)/d(weight) any more):
    # no gradcheck for them here; tests/ops/test_embedding.py compares those gradients with PyTorch's
    w = rng.standard_normal((6, 3))
    return [Sample(np.array([[0, 2, 5], [2, 2, 1]]), w, note="repeated indices"),
            Sample(np.array(4), w, note="0-d index"),
            Sample(np.array([1, 3, 1, 0, 3, 1]), w, padding_idx=1, grad=False),
            Sample(np.array([[5, 0], [0, 5]]), w, padding_idx=-1, grad=False),
            Sample(np.array([1, 3, 1, 0, 3, 1]), w, scale_grad_by_freq=True, grad=False),
            Sample(np.array([[2, 0], [4, 2]]), w, padding_idx=2, scale_grad_by_freq=True, grad=False),
            Sample(np.array([4, 1, 4]), w * 3, max_norm=1.5, grad=False, note="renormalizes weight in place"),
            Sample(np.array([0, 5]), w * 3, max_norm=2.0, norm_type=1.0, grad=False),
            Sample(np.array([[3], [2]], dtype=np.int32), rng.standard_normal((3, 4)).T, note="int32, non-contiguous"),
            Sample(np.zeros((2, 0), np.int64), w, note="empty")]


def _np_embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                  sparse=False):
    weight = weight.copy()
    if max_norm is not None:
        for i in np.unique(input):
            norm = np.linalg.norm(weight[i], ord=norm_type)
            if norm > max_norm:
                weight[i] *= max_norm / (norm + 1e-7)
    return weight[input]


# ---- public op ----------------------------------------------------------------------------------------------------
@op(samples=_samples, ref=_np_embedding,
    torch=lambda torch, i, w, **kw: torch.nn.functional.embedding(i, w, **kw))
def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False):
    """weight[input]: rows of the (num_embeddings, embedding_dim) weight for each entry of the integer input.
    padding_idx's row gets no gradient; max_norm renormalizes the referenced rows of weight in place first."""
    if input.dtype not in (int64, int32):
        raise DTypeError(f"embedding: expected an int64 or int32 index tensor, got {input.dtype.name} input "
                         f"{fmt_shape(input.shape)}")
    if weight.ndim != 2:
        raise ShapeError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got "
                         f"{fmt_shape(weight.shape)}")
    if sparse:
        raise UnsupportedError("embedding: sparse=True (sparse gradients) is not supported yet; use sparse=False")
    n = weight.shape[0]
    if padding_idx is None:
        padding_idx = -1
    elif not -n <= padding_idx < n:
        raise IndexOutOfRange(f"embedding: padding_idx={padding_idx} is out of range for num_embeddings={n} "
                              f"(weight {fmt_shape(weight.shape)})")
    else:
        padding_idx %= n
    if max_norm is not None:
        if weight.dtype.category != FLOAT:
            raise DTypeError(f"embedding: max_norm needs a floating-point weight, got {weight.dtype.name}")
        _renorm_(weight, input, float(max_norm), float(norm_type))
    return bind(embedding_p, weight, input, padding_idx=int(padding_idx), scale_grad_by_freq=bool(scale_grad_by_freq))
