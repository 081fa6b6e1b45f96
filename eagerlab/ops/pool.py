"""Pooling, shared part and max pooling: max_pool1d/2d with PyTorch's semantics (-inf padding, ceil_mode, dilation,
indices into each input plane). Average pooling is in pool_avg.py, adaptive pooling in pool_adaptive.py.

Every pooling primitive works on (N, C, H, W) arrays: the 1-d ops are the 2-d ones on (N, C, 1, L), unbatched inputs
get a batch of 1. A kernel is a loop over its taps, each tap one strided slice of the input restricted to the outputs
whose window holds that tap inside the input, so a padded position never wins a max (PyTorch's -inf padding) and
adds nothing to a sum; only the running argmax pads a copy of the input instead (see _max_impl). Max loops over the
kh*kw taps; its backward is a primitive scattering the gradient into the argmax, whose own vjp is a gather at the
same indices, so double backward works.
"""
import functools

import numpy as np

from ..autograd.grad_mode import is_grad_enabled
from ..backend.dtypes import BOOL, FLOAT, int8, int16, int32, int64, uint8
from ..backend.low_precision import in_float32
from ..errors import DTypeError, ShapeError, fmt_shape
from ._registry import Aval, Sample, bind, op, primitive


# ---- geometry (shared by argument checks, infer and the kernels) ---------------------------------------------------
def out_len(n, k, s, p, d, ceil_mode):
    """PyTorch's pooling_output_shape: with ceil_mode the last window must start inside the input or left padding."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


@functools.lru_cache(maxsize=512)
def _axis_taps(n, out, k, s, p, d):
    """(tap, output slice, input slice) along one axis for each kernel tap that lands inside the input for at least
    one output position: the outputs o with 0 <= o*s - p + tap*d < n, and the input positions they read."""
    taps = []
    for t in range(k):
        lo = max(0, -((t * d - p) // s))
        hi = min(out, (n - 1 + p - t * d) // s + 1)
        if lo < hi:
            start = lo * s - p + t * d
            taps.append((t, slice(lo, hi), slice(start, start + (hi - lo - 1) * s + 1, s)))
    return tuple(taps)


def _ints(op_name, name, value, n):
    """An int or a sequence of 1 or n ints -> an n-tuple (PyTorch repeats a single value)."""
    items = (value,) if isinstance(value, (int, np.integer)) else value
    if not isinstance(items, (tuple, list)) or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                                       for v in items):
        raise TypeError(f"{op_name}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if len(items) not in (1, n):
        raise ValueError(f"{op_name}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    return tuple(int(v) for v in items) * (n // len(items))


def pool_args(op_name, nsp, kernel_size, stride, padding, dilation=1):
    """Normalized (kernel, stride, padding, dilation) n-tuples; stride None or [] means the kernel size."""
    kernel = _ints(op_name, "kernel_size", kernel_size, nsp)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) else \
        _ints(op_name, "stride", stride, nsp)
    padding, dilation = _ints(op_name, "padding", padding, nsp), _ints(op_name, "dilation", dilation, nsp)
    for name, vals, low in (("kernel_size", kernel, 1), ("stride", stride, 1), ("dilation", dilation, 1),
                            ("padding", padding, 0)):
        if min(vals) < low:
            raise ValueError(f"{op_name}: {name} must be {'positive' if low else 'non-negative'}, got {vals}")
    if any(p > k // 2 for k, p in zip(kernel, padding)):  # PyTorch's rule, whatever the dilation
        raise ValueError(f"{op_name}: padding {padding} must be at most half of kernel_size {kernel}")
    return kernel, stride, padding, dilation


def check_input(op_name, shape, nsp):
    """Rank nsp+1 (unbatched) or nsp+2 with non-empty channel and spatial dims (the batch may be empty)."""
    names = {1: "(N, C, L) or (C, L)", 2: "(N, C, H, W) or (C, H, W)"}[nsp]
    if len(shape) not in (nsp + 1, nsp + 2):
        raise ShapeError(f"{op_name}: expected input {names}, got {fmt_shape(shape)}")
    if 0 in shape[-nsp - 1:]:
        raise ShapeError(f"{op_name}: expected non-empty channel and spatial dims {names} (only the batch may be "
                         f"empty), got {fmt_shape(shape)}")


def pool_shape(op_name, shape, nsp, kernel, stride, padding, dilation, ceil_mode):
    """The output shape; ShapeError when the input is too small for the kernel."""
    check_input(op_name, shape, nsp)
    spatial = tuple(out_len(*a, ceil_mode) for a in zip(shape[-nsp:], kernel, stride, padding, dilation))
    if min(spatial) < 1:
        raise ShapeError(f"{op_name}: input {fmt_shape(shape)} is too small for kernel {fmt_shape(kernel)} (stride "
                         f"{fmt_shape(stride)}, padding {fmt_shape(padding)}, dilation {fmt_shape(dilation)}): the "
                         f"output would be {fmt_shape(spatial)}")
    return tuple(shape[:-nsp]) + spatial


def check_dtype(op_name, dtype, ints):
    if dtype.category == BOOL or (dtype.category != FLOAT and dtype not in ints):
        allowed = "floating-point" + (" or " + "/".join(d.name for d in ints) if ints else "")
        raise DTypeError(f"{op_name}: expected a {allowed} input, got {dtype.name} (as in PyTorch); convert it "
                         "with .float()")


def geometry(shape, kernel, stride, padding, dilation, ceil_mode):
    """Row and column taps of a (N, C, H, W) input, and the output (OH, OW)."""
    outs = tuple(out_len(*a, ceil_mode) for a in zip(shape[2:], kernel, stride, padding, dilation))
    return tuple(_axis_taps(n, o, k, s, p, d) for n, o, k, s, p, d in
                 zip(shape[2:], outs, kernel, stride, padding, dilation)), outs


def to_4d(x, nsp):
    """View an (N, C, *spatial) or unbatched (C, *spatial) input as (N, C, H, W); 1-d inputs get H = 1."""
    s = tuple(x.shape)
    lead = s[:-nsp] if len(s) == nsp + 2 else (1,) + s[:-nsp]
    return x.reshape(lead + (1,) * (2 - nsp) + s[-nsp:])


def from_4d(y, in_shape, nsp):
    return y.reshape(tuple(in_shape[:-nsp]) + tuple(y.shape[4 - nsp:]))


# ---- max pooling ---------------------------------------------------------------------------------------------------
_ALL = slice(None)
_MAX_INTS = (int8, int16, int32, int64, uint8)  # PyTorch's max_pool2d takes every integer type; avg only int64


def lowest(xp, dtype):
    return -xp.inf if dtype.kind == "f" else np.iinfo(dtype).min


def fold_max(xp, taps, best, idx=None, skip_first=False):
    """Fold taps (offset in the window, output region, values) into the running max `best` and, unless idx is None,
    the offset of the winning tap: a tap wins where it is strictly greater, so a window's first maximum wins, and
    NaN wins over numbers (the last NaN, as PyTorch's `v > max || isnan(v)`). Taps come in row-major order with
    scalar offsets; values may be a function making them, so that one tap at a time stays in cache. The select is
    arithmetic (numpy's masked writes are ~10x slower), and each tap is copied into a contiguous buffer first
    because comparing stride-s views costs several times the copy."""
    todo = taps[1:] if skip_first else taps
    if idx is None:
        for _, o, v in todo:
            region = best[o]
            xp.maximum(region, v() if callable(v) else v, out=region)
        return
    buf, better, step = xp.empty(best.shape, best.dtype), xp.empty(best.shape, bool), xp.empty(best.shape, idx.dtype)
    for off, o, v in todo:
        v = v() if callable(v) else v
        lead = (_ALL, _ALL, slice(0, v.shape[2]), slice(0, v.shape[3]))
        b, m, d, bst, ix = buf[lead], better[lead], step[lead], best[o], idx[o]
        xp.copyto(b, v)
        xp.greater(b, bst, out=m)
        xp.subtract(off, ix, out=d)
        d *= m
        ix += d
        xp.maximum(bst, b, out=bst)
    if best.dtype.kind == "f" and xp.isnan(best).any():
        for off, o, v in taps:
            idx[o] = xp.where(xp.isnan(v() if callable(v) else v), off, idx[o])


def _first_taps(rows, cols, sizes, W, dh, dw, idx_t):
    """(OH, OW) window offset of each window's first tap inside the input: where PyTorch's argmax starts."""
    first = []
    for axis_taps, n, step in ((rows, sizes[0], dh * W), (cols, sizes[1], dw)):
        f = np.empty(n, np.int64)
        for t, o, _ in reversed(axis_taps):
            f[o] = t * step
        first.append(f)
    return (first[0][:, None] + first[1]).astype(idx_t)


def _padded(xp, x, kernel, stride, padding, dilation, outs):
    """x inside PyTorch's -inf padding, wide enough that every window tap reads a position."""
    pads = [(p, max(0, (o - 1) * s + (k - 1) * d + 1 - p - n))
            for n, k, s, p, d, o in zip(x.shape[2:], kernel, stride, padding, dilation, outs)]
    out = xp.full(x.shape[:2] + tuple(n + a + b for n, (a, b) in zip(x.shape[2:], pads)), lowest(xp, x.dtype), x.dtype)
    out[:, :, pads[0][0]:pads[0][0] + x.shape[2], pads[1][0]:pads[1][0] + x.shape[3]] = x
    return out


def _max_impl(xp, x, *, kernel, stride, padding, dilation, ceil_mode, indices=True):
    """(max, flat index into the H*W plane), or just the max. Offsets within a window are kept in the smallest int
    type that holds them, and turned into flat indices at the end."""
    N, C, H, W = x.shape
    (rows, cols), (OH, OW) = geometry(x.shape, kernel, stride, padding, dilation, ceil_mode)
    (dh, dw), shape = dilation, (N, C, OH, OW)
    src, grid = x, (rows, cols)
    clipped = any(len(t) < k or any(o != slice(0, n) for _, o, _ in t) for t, k, n in zip(grid, kernel, (OH, OW)))
    if indices and clipped:  # taps clipped by padding cover output sub-regions, whose short rows make each of the
        # running argmax's six passes per tap several times slower than one padded copy of the input
        src = _padded(xp, x, kernel, stride, padding, dilation, (OH, OW))
        grid = tuple(_axis_taps(n, o, k, s, 0, d) for n, o, k, s, d in zip(src.shape[2:], (OH, OW), kernel, stride,
                                                                           dilation))
    taps = [(th * dh * W + tw * dw, (_ALL, _ALL, oh, ow), src[:, :, ih, iw])
            for th, oh, ih in grid[0] for tw, ow, iw in grid[1]]
    first_covers_all = taps[0][2].shape == shape  # it starts every window's running max
    best = taps[0][2].copy() if first_covers_all else xp.full(shape, lowest(xp, x.dtype), x.dtype)
    idx = None
    if indices:  # each window starts at its first tap inside the input, as PyTorch's indices do
        idx_t = np.result_type(np.int8, np.min_scalar_type(-taps[-1][0]))
        idx = xp.empty(shape, idx_t)
        idx[...] = xp.asarray(_first_taps(rows, cols, (OH, OW), W, dh, dw, idx_t))
    fold_max(xp, taps, best, idx, skip_first=first_covers_all)
    if not indices:
        return best
    base = (xp.arange(OH) * stride[0] - padding[0])[:, None] * W + (xp.arange(OW) * stride[1] - padding[1])
    flat = idx.astype(xp.int64)
    flat += base
    return best, flat


def _max_infer(x, **attrs):
    shape = pool_shape("max_pool2d", x.shape, 2, attrs["kernel"], attrs["stride"], attrs["padding"],
                       attrs["dilation"], attrs["ceil_mode"])
    check_dtype("max_pool2d", x.dtype, _MAX_INTS)
    return Aval(shape, x.dtype, x.device)


def _max_with_indices_infer(x, **attrs):
    out = _max_infer(x, **attrs)
    return out, Aval(out.shape, int64, out.device)


def _max_grad_impl(xp, g, idx, *, size):
    """Scatter-add each window's gradient into its argmax: windows may overlap, so positions can repeat; numpy's
    add.at on a 1-D operand is nearly as fast as a plain fancy assignment."""
    n, c, oh, ow = g.shape
    plane = size[0] * size[1]
    out = xp.zeros((n * c, plane), g.dtype)
    pos = idx.reshape(n * c, oh * ow) + xp.arange(0, n * c * plane, plane)[:, None]
    xp.add.at(out.reshape(-1), pos.reshape(-1), g.reshape(-1))
    return out.reshape((n, c) + size)


# values only, for calls that need neither indices nor a gradient (inference): about half the work
max_pool2d_p = primitive("max_pool2d", _max_infer)(in_float32(functools.partial(_max_impl, indices=False)))
max_pool2d_with_indices_p = primitive("max_pool2d_with_indices", _max_with_indices_infer, save_outputs=(1,), n_out=2,
                                      nondiff_outputs=(1,))(in_float32(_max_impl))
max_pool2d_grad_p = primitive("max_pool2d_grad", lambda g, idx, *, size: Aval(g.shape[:2] + size, g.dtype, g.device),
                              save_inputs=(1,))(in_float32(_max_grad_impl))


@max_pool2d_with_indices_p.defvjp
def _(ctx, g, _):
    (idx,) = ctx.saved
    return bind(max_pool2d_grad_p, g, idx, size=tuple(ctx.shapes[0][2:])),


@max_pool2d_grad_p.defvjp
def _(ctx, v):
    from .index_gather import gather

    (idx,) = ctx.saved  # the scatter's adjoint: read the incoming gradient back at the same positions
    n, c, oh, ow = idx.shape
    plane = v.shape[2] * v.shape[3]
    return gather(v.reshape(n, c, plane), 2, idx.reshape(n, c, oh * ow)).reshape(tuple(idx.shape)), None


# ---- public ops ----------------------------------------------------------------------------------------------------
def as_2d(nsp, values, fill):
    """Attrs of the 2-d primitive for an nsp-d op: 1-d pools are 2-d ones with a (1, k) kernel on (N, C, 1, L)."""
    return (fill,) * (2 - nsp) + values


def bind_max(x, indices, **attrs):
    """(values, indices or None) of max pooling (N, C, H, W) x: computing no indices when neither they nor a gradient
    are wanted (inference) halves the work."""
    if indices or (x.requires_grad and is_grad_enabled()):
        return bind(max_pool2d_with_indices_p, x, **attrs)
    return bind(max_pool2d_p, x, **attrs), None


def with_indices(out, idx, in_shape, nsp, return_indices):
    out = from_4d(out, in_shape, nsp)
    return (out, from_4d(idx, in_shape, nsp)) if return_indices else out


def _max_pool(op_name, nsp, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    k, s, p, d = pool_args(op_name, nsp, kernel_size, stride, padding, dilation)
    # PyTorch's max_pool1d refuses integers unless it is asked for indices (then it runs max_pool2d's kernel)
    check_dtype(op_name, input.dtype, _MAX_INTS if nsp == 2 or return_indices else ())
    pool_shape(op_name, tuple(input.shape), nsp, k, s, p, d, ceil_mode)
    out, idx = bind_max(to_4d(input, nsp), return_indices, kernel=as_2d(nsp, k, 1), stride=as_2d(nsp, s, 1),
                        padding=as_2d(nsp, p, 0), dilation=as_2d(nsp, d, 1), ceil_mode=bool(ceil_mode))
    return with_indices(out, idx, input.shape, nsp, return_indices)


def torch_fn(name):
    return lambda torch, *args, **kwargs: getattr(torch.nn.functional, name)(*args, **kwargs)


@op(samples=lambda rng: _max_samples(rng, 2), ref=lambda *a, **k: np_pool("max", 2, *a, **k),
    torch=torch_fn("max_pool2d"))
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over (kH, kW) windows of (N, C, H, W) or (C, H, W) input; with return_indices also the argmax as a flat
    index into each H*W plane (the first maximum of a window wins; NaN wins over numbers)."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


@op(samples=lambda rng: _max_samples(rng, 1), ref=lambda *a, **k: np_pool("max", 1, *a, **k),
    torch=torch_fn("max_pool1d"))
def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over windows along the last dim of (N, C, L) or (C, L) input; see max_pool2d."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


# ---- samples and the numpy reference -------------------------------------------------------------------------------
def common_samples(rng, nsp):
    """Small inputs (gradcheck builds full Jacobians) covering the options max and avg share; distinct random values,
    so no window has a tie within gradcheck's step (ties are tested in tests/ops/test_pool.py).
    Returns (samples, r(*spatial, lead) for more random inputs, pair(two, one) picking a per-axis argument)."""
    def r(*spatial, lead=(2, 2)):
        return rng.standard_normal(lead + spatial[2 - nsp:])

    def pair(two, one):
        return two if nsp == 2 else one

    return [Sample(r(4, 4), 2), Sample(r(5, 6, lead=(1, 2)), pair((3, 2), (3,)), pair((2, 1), 2), pair((1, 0), 1),
                                       note="tuple args" + pair(", non-square", "")),
            Sample(r(7, 7, lead=(1, 1)), 3, 2, 1, ceil_mode=True, note="ceil_mode, padding"),
            Sample(r(5, 5, lead=(1, 2)), 2, ceil_mode=True, note="ceil_mode, last window half outside"),
            Sample(r(5, 6, lead=(3,)), 2, 1, note="unbatched"), Sample(r(4, 4, lead=(0, 2)), 2, note="empty batch")
            ], r, pair


def _max_samples(rng, nsp):
    samples, r, pair = common_samples(rng, nsp)
    ints = rng.integers(-9, 9, (1, 2) + (5, 6)[2 - nsp:])
    return samples + [
        Sample(r(7, 7, lead=(1, 1)), 3, 2, 1, 2, ceil_mode=True, return_indices=True, note="dilation, indices"),
        Sample(r(5, 6, lead=(1, 2)), pair((2, 3), 3), 1, 1, pair((1, 2), 1), True, True,
               note="overlapping windows, indices"),
        Sample(ints, 2, return_indices=True, note="int64 indices"),
        Sample(ints, 3, 2, 1, note="int64") if nsp == 2 else Sample(r(5, 6), 3, 2, 1, note="no grad", grad=False)]


def _np_out(n, k, s, p, d, ceil_mode):
    size = (n + 2 * p - d * (k - 1) - 1) / s
    out = int(np.ceil(size) if ceil_mode else np.floor(size)) + 1
    return out - 1 if ceil_mode and (out - 1) * s >= n + p else out


def np_pool(kind, nsp, x, kernel_size, stride=None, padding=0, *args, **kwargs):
    """A loop over every output and window tap, written from PyTorch's kernels (max: init at the first tap inside the
    input, take v > max or NaN; avg: divide by the window clipped to the padded input, or to the input)."""
    names = ("dilation", "ceil_mode", "return_indices") if kind == "max" else \
        ("ceil_mode", "count_include_pad", "divisor_override")
    o = dict(dict(zip(names, (1, False, False) if kind == "max" else (False, True, None))), **dict(zip(names, args)),
             **kwargs)
    as_pair = lambda v, fill: (fill,) * (2 - nsp) + ((v,) * nsp if np.ndim(v) == 0 else tuple(v) * (nsp // len(v)))
    k, p = as_pair(kernel_size, 1), as_pair(padding, 0)
    s = k if stride is None else as_pair(stride, 1)
    d = as_pair(o.get("dilation", 1), 1)
    x4 = x.reshape((-1 if x.ndim == nsp + 2 else 1, x.shape[-nsp - 1]) + (1,) * (2 - nsp) + x.shape[-nsp:])
    N, C, H, W = x4.shape
    OH, OW = (_np_out(n, *a, o["ceil_mode"]) for n, a in zip((H, W), zip(k, s, p, d)))
    out = np.zeros((N, C, OH, OW), x.dtype)
    idx = np.zeros((N, C, OH, OW), np.int64)
    for n, c, oh, ow in np.ndindex(N, C, OH, OW):
        h0, w0 = oh * s[0] - p[0], ow * s[1] - p[1]
        taps = [(h0 + i * d[0], w0 + j * d[1]) for i in range(k[0]) for j in range(k[1])]
        inside = [(h, w) for h, w in taps if 0 <= h < H and 0 <= w < W]
        if kind == "max":
            best, at = -np.inf, inside[0]
            for h, w in inside:
                if x4[n, c, h, w] > best or np.isnan(x4[n, c, h, w]):
                    best, at = x4[n, c, h, w], (h, w)
            out[n, c, oh, ow], idx[n, c, oh, ow] = best, at[0] * W + at[1]
            continue
        total = sum(x4[n, c, h, w] for h, w in inside)
        div = o["divisor_override"] or (len(inside) if not o["count_include_pad"] else
                                        (min(h0 + k[0], H + p[0]) - h0) * (min(w0 + k[1], W + p[1]) - w0))
        out[n, c, oh, ow] = total / div if x.dtype.kind == "f" else int(total / div)
    shape = x.shape[:-nsp] + out.shape[4 - nsp:]
    return (out.reshape(shape), idx.reshape(shape)) if o.get("return_indices") else out.reshape(shape)
