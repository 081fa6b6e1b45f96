"""Average pooling: avg_pool1d/2d with PyTorch's semantics (ceil_mode, count_include_pad, divisor_override, int64
input averaged with truncating division).

Like max pooling (pool.py), the primitives work on (N, C, H, W) and walk the kernel taps as strided slices of the
unpadded input. The window sum is separable: kh row taps, then kw column taps; global pooling, whose windows are
contiguous blocks of whole rows, is one matrix-vector product instead. The backward spreads each output's
gradient / divisor back over its window (the adjoint of the same sum), and the adjoint of that is the average again,
so double backward works.
"""
import numpy as np

from ..backend.blas import matmul as gemm
from ..backend.dtypes import int64
from ..backend.low_precision import in_float32
from ._registry import Aval, Sample, bind, op, primitive
from .pool import as_2d, check_dtype, common_samples, from_4d, geometry, np_pool, out_len, pool_args, pool_shape, \
    to_4d, torch_fn


def _tap_sum(xp, a, axis, taps, n, adjoint):
    """Sum `a` over the taps of each window along `axis`, giving length n there; adjoint: spread each output back
    over its window. A tap whose positions nothing has written yet is written rather than added, so with
    non-overlapping windows every tap is, and with overlapping ones the widest tap (often the whole axis) is; only
    positions that some add reaches before any write need a zero-filled buffer."""
    lead = (slice(None),) * axis
    pairs = [(lead + (i,), lead + (o,)) if adjoint else (lead + (o,), lead + (i,)) for _, o, i in taps]
    spans = [set(range(*dst[axis].indices(n))) for dst, _ in pairs]
    written, plan, zero = set(), [], False
    for k in sorted(range(len(pairs)), key=lambda k: -len(spans[k])):
        fresh = not spans[k] & written
        zero |= not fresh and not spans[k] <= written
        plan.append((pairs[k], fresh))
        written |= spans[k]
    shape = a.shape[:axis] + (n,) + a.shape[axis + 1:]
    out = xp.zeros(shape, a.dtype) if zero or len(written) < n else xp.empty(shape, a.dtype)
    for (dst, src), fresh in plan:
        if fresh:
            out[dst] = a[src]
        else:
            out[dst] += a[src]
    return out


def _box(xp, a, rows, cols, sizes, adjoint):
    """Sum `a` over its (H, W) windows given their row and column taps, giving sizes=(OH, OW); adjoint: spread each
    output back over its window, giving the input's sizes=(H, W). Separable, one axis then the other: H first, whose
    row taps read contiguous rows and shrink the array before W's strided taps; the adjoint spreads W first, onto
    the smaller array."""
    steps = ((2, rows, sizes[0]), (3, cols, sizes[1]))
    out = a
    for axis, taps, n in (steps[::-1] if adjoint else steps):
        if len(taps) == 1 and n == a.shape[axis] and all(range(*sl.indices(n)) == range(n) for sl in taps[0][1:]):
            continue  # one tap reading each position once (the H of the 1-d pools): nothing to sum
        out = _tap_sum(xp, out, axis, taps, n, adjoint)
    return out.copy() if out is a else out  # callers divide the result in place


def _counts(n, out, k, s, p, include_pad):
    """How many of each window's taps count: PyTorch clips windows to the padded input, then (unless
    count_include_pad) to the input itself."""
    starts = np.arange(out) * s - p
    ends = np.minimum(starts + k, n + p)
    return ends - starts if include_pad else np.minimum(ends, n) - np.maximum(starts, 0)


def _divisor(xp, x_shape, dtype, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """The per-output divisor: a Python int where it is uniform (the common case), else an (OH, OW) array."""
    if divisor_override:
        return divisor_override
    outs = tuple(out_len(n, k, s, p, 1, ceil_mode) for n, k, s, p in zip(x_shape[2:], kernel, stride, padding))
    counts = [_counts(n, o, k, s, p, count_include_pad) for n, o, k, s, p in zip(x_shape[2:], outs, kernel, stride,
                                                                                  padding)]
    div = counts[0][:, None] * counts[1]
    return int(div.flat[0]) if (div == div.flat[0]).all() else xp.asarray(div.astype(dtype))


def _trunc_divide(xp, a, div):
    """Integer division rounding toward zero (PyTorch's integer average), where // rounds down."""
    q = a // div
    q += ((a - q * div) != 0) & ((a < 0) != (xp.asarray(div) < 0))
    return q


def _whole_rows(shape, kernel, stride, padding, outs):
    """Are the windows runs of whole rows (global pooling)? Then each is one contiguous block of kh*W inputs."""
    return kernel[1] == shape[3] and outs[1] == 1 and stride[0] == kernel[0] and padding == (0, 0) and \
        outs[0] * kernel[0] <= shape[2]


def _avg_impl(xp, x, *, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    (rows, cols), outs = geometry(x.shape, kernel, stride, padding, (1, 1), ceil_mode)
    N, C, H, W = x.shape
    if _whole_rows(x.shape, kernel, stride, padding, outs) and x.dtype.kind == "f":
        # the blocks are the rows of a (-1, kh*W) reshape: one matrix-vector product sums them, 5x faster than the
        # kh + W taps (and than numpy's sum over a short axis)
        blocks = x.reshape(N, C, H * W)[:, :, :outs[0] * kernel[0] * W].reshape(-1, kernel[0] * W)
        total = gemm(xp, blocks, xp.ones(kernel[0] * W, x.dtype)).reshape(N, C, outs[0], 1)
    else:
        total = _box(xp, x, rows, cols, outs, adjoint=False)
    div = _divisor(xp, x.shape, x.dtype, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    if x.dtype.kind != "f":
        return _trunc_divide(xp, total, div)
    total /= div
    return total


def _avg_grad_impl(xp, g, *, size, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    shape = g.shape[:2] + size
    (rows, cols), outs = geometry(shape, kernel, stride, padding, (1, 1), ceil_mode)
    div = _divisor(xp, shape, g.dtype, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    if not _whole_rows(shape, kernel, stride, padding, outs):
        return _box(xp, g / div, rows, cols, size, adjoint=True)
    (N, C, OH, _), (kh, W) = g.shape, (kernel[0], size[1])
    out = (xp.empty if OH * kh == size[0] else xp.zeros)(shape, g.dtype)
    out[:, :, :OH * kh] = xp.broadcast_to((g / div).reshape(N, C, OH, 1, 1), (N, C, OH, kh, W)).reshape(
        N, C, OH * kh, W)  # a view where numpy can (then the write is the only pass), else a copy
    return out


def _avg_infer(x, **attrs):
    shape = pool_shape("avg_pool2d", x.shape, 2, attrs["kernel"], attrs["stride"], attrs["padding"], (1, 1),
                       attrs["ceil_mode"])
    check_dtype("avg_pool2d", x.dtype, (int64,))
    return Aval(shape, x.dtype, x.device)


avg_pool2d_p = primitive("avg_pool2d", _avg_infer)(in_float32(_avg_impl))
avg_pool2d_grad_p = primitive("avg_pool2d_grad", lambda g, *, size, **attrs: Aval(g.shape[:2] + size, g.dtype,
                                                                                  g.device))(in_float32(_avg_grad_impl))


@avg_pool2d_p.defvjp
def _(ctx, g):
    return bind(avg_pool2d_grad_p, g, size=tuple(ctx.shapes[0][2:]), **ctx.attrs),


@avg_pool2d_grad_p.defvjp
def _(ctx, v):
    attrs = dict(ctx.attrs)
    del attrs["size"]
    return bind(avg_pool2d_p, v, **attrs),  # the spread is linear in g, and its adjoint is the average itself


# ---- public ops ----------------------------------------------------------------------------------------------------
def _avg_pool(op_name, nsp, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    k, s, p, _ = pool_args(op_name, nsp, kernel_size, stride, padding)
    if divisor_override is not None and (not isinstance(divisor_override, (int, np.integer))
                                         or isinstance(divisor_override, bool)):
        raise TypeError(f"{op_name}: divisor_override must be an int or None, got {divisor_override!r}")
    if divisor_override == 0:
        raise ValueError(f"{op_name}: divisor_override must not be zero")
    check_dtype(op_name, input.dtype, (int64,))
    pool_shape(op_name, tuple(input.shape), nsp, k, s, p, (1,) * nsp, ceil_mode)
    y = bind(avg_pool2d_p, to_4d(input, nsp), kernel=as_2d(nsp, k, 1), stride=as_2d(nsp, s, 1),
             padding=as_2d(nsp, p, 0), ceil_mode=bool(ceil_mode), count_include_pad=bool(count_include_pad),
             divisor_override=None if divisor_override is None else int(divisor_override))
    return from_4d(y, input.shape, nsp)


@op(samples=lambda rng: _avg_samples(rng, 2), ref=lambda *a, **k: np_pool("avg", 2, *a, **k),
    torch=torch_fn("avg_pool2d"))
def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over (kH, kW) windows of (N, C, H, W) or (C, H, W) input (zero padding counted unless
    count_include_pad=False; divisor_override replaces the window size). int64 input divides rounding toward 0."""
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


@op(samples=lambda rng: _avg_samples(rng, 1), ref=lambda *a, **k: np_pool("avg", 1, *a, **k),
    torch=torch_fn("avg_pool1d"))
def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over windows along the last dim of (N, C, L) or (C, L) input; see avg_pool2d."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def _avg_samples(rng, nsp):
    samples, r, pair = common_samples(rng, nsp)
    return samples + [
        Sample(r(7, 7, lead=(1, 1)), 3, 2, 1, ceil_mode=True, count_include_pad=False, note="exclude padding"),
        Sample(r(5, 6, lead=(1, 2)), pair((3, 2), 3), 1, 1, False, False, note="overlapping windows, exclude padding"),
        Sample(rng.integers(-9, 9, (1, 2) + (5, 6)[2 - nsp:]), 3, 2, 1, note="int64 truncates toward 0")] + ([
            Sample(r(5, 6, lead=(1, 2)), 3, 2, 1, divisor_override=4, note="divisor_override"),
            Sample(r(5, 6, lead=(1, 2)), 2, 1, 1, True, False, -3, note="negative divisor_override")
        ] if nsp == 2 else [])
