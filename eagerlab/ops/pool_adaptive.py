"""Adaptive pooling: adaptive_avg_pool1d/2d and adaptive_max_pool1d/2d. Output o of an axis of n inputs pools the
window [floor(o*n/out), ceil((o+1)*n/out)), as in PyTorch.

When an axis divides evenly its windows are a regular pooling (kernel = stride = n/out), so that case runs as
avg_pool2d / max_pool2d. Otherwise the average is linear and separable: two small matrix products with (out, n)
window-averaging matrices, whose backward is matmul's. Max gathers the windows tap by tap into max pooling's running
argmax, and its backward is max pooling's scatter into the argmax.
"""
import numpy as np

from ..backend.dtypes import int64
from ..errors import fmt_shape
from ._registry import Aval, Sample, bind, op, primitive
from .pool import bind_max, check_dtype, check_input, fold_max, from_4d, lowest, max_pool2d_grad_p, to_4d, \
    torch_fn, with_indices
from .pool_avg import avg_pool2d_p


def _windows(n, out):
    """Start and end of each output's window along an axis of n inputs."""
    o = np.arange(out)
    return o * n // out, -(-(o + 1) * n // out)


def _output_size(op_name, output_size, in_shape, nsp):
    """An int or an nsp-tuple whose None entries keep the input's size."""
    items = (output_size,) * nsp if isinstance(output_size, (int, np.integer)) else output_size
    if not isinstance(items, (tuple, list)) or any(v is not None and (not isinstance(v, (int, np.integer)) or
                                                                      isinstance(v, bool)) for v in items):
        raise TypeError(f"{op_name}: output_size must be an int or a tuple of {nsp} ints or None, got {output_size!r}")
    if len(items) != nsp or any(v is not None and v < 0 for v in items):
        raise ValueError(f"{op_name}: output_size must be a non-negative int or a tuple of {nsp} of them (None keeps "
                         f"the input size), got {output_size!r} for input {fmt_shape(in_shape)}")
    return tuple(int(n if v is None else v) for v, n in zip(items, in_shape[-nsp:]))


def _adaptive_args(op_name, nsp, input, output_size):
    check_input(op_name, tuple(input.shape), nsp)
    check_dtype(op_name, input.dtype, ())
    x = to_4d(input, nsp)
    outs = (1,) * (2 - nsp) + _output_size(op_name, output_size, tuple(input.shape), nsp)
    even = all(o and n % o == 0 for n, o in zip(x.shape[2:], outs))
    return x, outs, tuple(n // o for n, o in zip(x.shape[2:], outs)) if even else None


# ---- average ---------------------------------------------------------------------------------------------------------
def _averaging_matrix(n, out):
    """(out, n): row o averages the inputs of output o's window."""
    start, end = _windows(n, out)
    j = np.arange(n)
    return ((j >= start[:, None]) & (j < end[:, None])) / (end - start)[:, None]


def _adaptive_avg(op_name, nsp, input, output_size):
    from .creation import tensor
    from .linalg import matmul

    x, outs, kernel = _adaptive_args(op_name, nsp, input, output_size)
    if kernel:
        y = bind(avg_pool2d_p, x, kernel=kernel, stride=kernel, padding=(0, 0), ceil_mode=False,
                 count_include_pad=True, divisor_override=None)
    else:
        const = lambda m: tensor(m, dtype=x.dtype, device=x.device)
        H, W = x.shape[2:]
        y = x if outs[1] == W else matmul(x, const(_averaging_matrix(W, outs[1]).T))
        y = y if outs[0] == H else matmul(const(_averaging_matrix(H, outs[0])), y)
    return from_4d(y, input.shape, nsp)


# ---- max -------------------------------------------------------------------------------------------------------------
def _adaptive_max_impl(xp, x, *, output_size):
    """As max pooling's kernel, tap (th, tw) at offset th*W + tw of every window. A window shorter than the longest
    reads a -inf sentinel for the taps it lacks, which never wins."""
    N, C, H, W = x.shape
    shape = (N, C) + output_size
    if not all(shape[2:]):
        return xp.empty(shape, x.dtype), xp.empty(shape, xp.int64)
    # flat planes, so that each tap's gather is C-contiguous (2-d fancy indexing puts the indexed dims first in
    # memory, and each of the running argmax's passes over the tap is then several times slower)
    planes = xp.concatenate([x.reshape(N, C, H * W), xp.full((N, C, 1), lowest(xp, x.dtype), x.dtype)], axis=2)
    (sh, eh), (sw, ew) = _windows(H, output_size[0]), _windows(W, output_size[1])
    kh, kw = (eh - sh).max(), (ew - sw).max()
    taps = []  # (offset in each window, all outputs, a function gathering the windows' values at this tap)
    for th in range(kh):
        for tw in range(kw):
            at = np.where(((sh + th < eh)[:, None] & (sw + tw < ew)), (sh + th)[:, None] * W + sw + tw, H * W)
            taps.append((th * W + tw, (slice(None),) * 4,
                         lambda at=xp.asarray(at.reshape(-1)): xp.take(planes, at, axis=2).reshape(shape)))
    idx_t = np.result_type(np.int8, np.min_scalar_type(-taps[-1][0]))
    best, idx = taps[0][2](), xp.zeros(shape, idx_t)
    fold_max(xp, taps, best, idx, skip_first=True)
    flat = idx.astype(xp.int64)
    flat += xp.asarray(sh[:, None] * W + sw)
    return best, flat


def _adaptive_max_infer(x, *, output_size):
    check_input("adaptive_max_pool2d", x.shape, 2)
    check_dtype("adaptive_max_pool2d", x.dtype, ())
    shape = tuple(x.shape[:2]) + output_size
    return Aval(shape, x.dtype, x.device), Aval(shape, int64, x.device)


adaptive_max_pool2d_p = primitive("adaptive_max_pool2d", _adaptive_max_infer, save_outputs=(1,), n_out=2,
                                  nondiff_outputs=(1,))(_adaptive_max_impl)


@adaptive_max_pool2d_p.defvjp
def _(ctx, g, _):
    (idx,) = ctx.saved
    return bind(max_pool2d_grad_p, g, idx, size=tuple(ctx.shapes[0][2:])),


def _adaptive_max(op_name, nsp, input, output_size, return_indices):
    x, outs, kernel = _adaptive_args(op_name, nsp, input, output_size)
    if kernel:
        out, idx = bind_max(x, return_indices, kernel=kernel, stride=kernel, padding=(0, 0), dilation=(1, 1),
                            ceil_mode=False)
    else:
        out, idx = bind(adaptive_max_pool2d_p, x, output_size=outs)
    return with_indices(out, idx, input.shape, nsp, return_indices)


# ---- public ops ------------------------------------------------------------------------------------------------------
@op(samples=lambda rng: _samples(rng, 2), ref=lambda x, size: _np_adaptive("avg", 2, x, size),
    torch=torch_fn("adaptive_avg_pool2d"))
def adaptive_avg_pool2d(input, output_size):
    """Mean over PyTorch's adaptive windows of (N, C, H, W) or (C, H, W) input, giving output_size (int or
    (OH, OW), None keeping the input's size)."""
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


@op(samples=lambda rng: _samples(rng, 1), ref=lambda x, size: _np_adaptive("avg", 1, x, size),
    torch=torch_fn("adaptive_avg_pool1d"))
def adaptive_avg_pool1d(input, output_size):
    """Mean over adaptive windows along the last dim of (N, C, L) or (C, L) input; see adaptive_avg_pool2d."""
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


@op(samples=lambda rng: _samples(rng, 2, max_pool=True), ref=lambda *a, **k: _np_adaptive("max", 2, *a, **k),
    torch=torch_fn("adaptive_max_pool2d"))
def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over adaptive windows (see adaptive_avg_pool2d); with return_indices also the flat argmax in each H*W
    plane (the first maximum wins; NaN wins over numbers)."""
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


@op(samples=lambda rng: _samples(rng, 1, max_pool=True), ref=lambda *a, **k: _np_adaptive("max", 1, *a, **k),
    torch=torch_fn("adaptive_max_pool1d"))
def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max over adaptive windows along the last dim of (N, C, L) or (C, L) input; see adaptive_max_pool2d."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


# ---- samples and the numpy reference ---------------------------------------------------------------------------------
def _samples(rng, nsp, max_pool=False):
    def r(*shape):
        return rng.standard_normal(shape[:-2] + shape[-nsp:])

    def size(two, one):
        return two if nsp == 2 else one

    samples = [Sample(r(2, 2, 5, 7), size((3, 4), 3), note="uneven windows"),
               Sample(r(2, 2, 4, 6), size((2, 3), 2), note="even windows: a regular pooling"),
               Sample(r(1, 2, 5, 6), size((None, 4), (4,)), note="None keeps a size" if nsp == 2 else "tuple"),
               Sample(r(3, 5, 5), size(3, 3), note="unbatched"),
               Sample(r(1, 1, 3, 4), size((5, 6), 6), note="larger than the input: overlapping windows"),
               Sample(r(1, 2, 4, 4), 1, note="global"), Sample(r(1, 1, 4, 4), size((0, 2), 0), note="empty output")]
    if max_pool:
        samples += [Sample(r(2, 1, 5, 7), size((3, 4), 3), True, note="indices"),
                    Sample(r(1, 2, 4, 6), size((2, 3), 2), True, note="even windows, indices")]
    return samples


def _np_adaptive(kind, nsp, x, output_size, return_indices=False):
    """A loop over every output and its window; max takes v > max or NaN from the window's first element."""
    x4 = x.reshape((-1 if x.ndim == nsp + 2 else 1, x.shape[-nsp - 1]) + (1,) * (2 - nsp) + x.shape[-nsp:])
    N, C, H, W = x4.shape
    size = (output_size,) * nsp if np.ndim(output_size) == 0 else output_size
    OH, OW = (1,) * (2 - nsp) + tuple(n if o is None else o for o, n in zip(size, x.shape[-nsp:]))
    out, idx = np.zeros((N, C, OH, OW), x.dtype), np.zeros((N, C, OH, OW), np.int64)
    for n, c, oh, ow in np.ndindex(N, C, OH, OW):
        h0, h1 = int(np.floor(oh * H / OH)), int(np.ceil((oh + 1) * H / OH))
        w0, w1 = int(np.floor(ow * W / OW)), int(np.ceil((ow + 1) * W / OW))
        window = x4[n, c, h0:h1, w0:w1]
        if kind == "avg":
            out[n, c, oh, ow] = window.mean()
            continue
        best, at = window[0, 0], 0
        for k, v in enumerate(window.reshape(-1)):
            if v > best or np.isnan(v):
                best, at = v, k
        out[n, c, oh, ow], idx[n, c, oh, ow] = best, (h0 + at // (w1 - w0)) * W + w0 + at % (w1 - w0)
    shape = x.shape[:-nsp] + out.shape[4 - nsp:]
    return (out.reshape(shape), idx.reshape(shape)) if return_indices else out.reshape(shape)
