"""interpolate (PyTorch's F.interpolate): nearest, nearest-exact, (bi/tri)linear, bicubic and area resizing of
(N, C, d1[, d2[, d3]]) inputs.

Every mode is separable: along each spatial axis, output position o is a weighted sum of a few input positions
(its "taps": 1 for nearest, 2 for linear, 4 for bicubic, a window for area). One primitive, `resample`, applies
the taps axis by axis with `take` (a gather) and multiply-adds. Its gradient is the transposed linear map, and
the transpose of a tap table is again a tap table (input i collects from the outputs that read it), so the vjp
is the same primitive with `transpose=True` - a gather too, with no scatter-add - and double backward is free.
Tap tables depend only on sizes, scales and mode, so they are computed once (numpy, cached) and are graph
constants. Source positions follow PyTorch's CPU kernels, in the same precision (float32 for float32 inputs), so
nearest indices agree exactly, including at non-integer scale factors.
"""
import functools
import math

import numpy as np

from .._tensor import Tensor
from ..backend.dtypes import FLOAT
from ..errors import DTypeError, ShapeError, UnsupportedError, fmt_shape
from ._registry import Aval, Sample, bind, op, primitive

# mode -> the input ranks it accepts (PyTorch: linear is 1-d, bilinear/bicubic 2-d, trilinear 3-d)
_MODES = {"nearest": (3, 4, 5), "nearest-exact": (3, 4, 5), "area": (3, 4, 5), "linear": (3,), "bilinear": (4,),
          "bicubic": (4,), "trilinear": (5,)}
_CUBIC_A = -0.75


# ---- tap tables (numpy, cached): idx (K, n_out) int64 and weights (K, n_out) ---------------------------------
def _ratio(n_in, n_out, scale, align_corners, ft):
    """PyTorch's area_pixel_compute_scale: input step per output step, in the kernels' precision."""
    if align_corners:
        return ft(n_in - 1) / ft(n_out - 1) if n_out > 1 else ft(0)
    return ft(1.0 / scale) if scale is not None and scale > 0 else ft(n_in) / ft(n_out)


def _source(ratio, dst, align_corners, clamp_negative):
    """PyTorch's area_pixel_compute_source_index: the real-valued input position of each output position."""
    if align_corners:
        return ratio * dst
    src = ratio * (dst + dst.dtype.type(0.5)) - dst.dtype.type(0.5)
    return np.maximum(src, 0) if clamp_negative else src


def _floor_and_frac(src, n_in):
    """PyTorch's guard_index_and_lambda: floor index (at most n_in - 1) and the fraction past it in [0, 1]."""
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    return i0, np.clip(src - i0, 0, 1).astype(src.dtype)


def _cubic_weights(t):
    a = _CUBIC_A
    near = lambda x: ((a + 2) * x - (a + 3)) * x * x + 1  # noqa: E731  |x| <= 1
    far = lambda x: ((a * x - 5 * a) * x + 8 * a) * x - 4 * a  # noqa: E731  1 < |x| < 2
    return np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)])


def _size_shortcuts(mode, ndim):
    """Whether PyTorch's kernel copies when a size does not change, whatever the scale factor (its linear kernels,
    and its 2-d nearest kernel, which also takes every other input when the size doubles; the 1-d and 3-d nearest
    kernels do not)."""
    return mode in ("linear", "bilinear", "trilinear", "area") or (mode == "nearest" and ndim == 4)


@functools.lru_cache(maxsize=512)
def _taps(mode, n_in, n_out, scale, align_corners, dtype, shortcuts):
    ft = np.dtype(dtype).type
    dst = np.arange(n_out).astype(ft)
    ones = np.ones((1, n_out), dtype)
    if mode == "area":  # adaptive average pooling: output o averages input [floor(o*in/out), ceil((o+1)*in/out))
        o = np.arange(n_out)
        start, end = o * n_in // n_out, -(-(o + 1) * n_in // n_out)
        k = np.arange((end - start).max())[:, None]
        return np.minimum(start + k, n_in - 1), np.where(start + k < end, 1 / (end - start), 0).astype(dtype)
    if shortcuts and n_in == n_out:
        return np.arange(n_out)[None], ones
    ratio = _ratio(n_in, n_out, scale, align_corners, ft)
    if mode == "nearest":
        if shortcuts and n_out == 2 * n_in:
            return np.arange(n_out)[None] // 2, ones
        return np.minimum(np.floor(dst * ratio).astype(np.int64), n_in - 1)[None], ones
    if mode == "nearest-exact":
        return np.minimum(np.floor((dst + ft(0.5)) * ratio).astype(np.int64), n_in - 1)[None], ones
    if mode == "bicubic":
        i0, t = _floor_and_frac(_source(ratio, dst, align_corners, clamp_negative=False), n_in)
        return np.clip(i0 + np.arange(-1, 3)[:, None], 0, n_in - 1), _cubic_weights(t).astype(dtype)
    i0, t = _floor_and_frac(_source(ratio, dst, align_corners, clamp_negative=True), n_in)  # (bi/tri)linear
    return np.stack([i0, i0 + (i0 < n_in - 1)]), np.stack([1 - t, t]).astype(dtype)


@functools.lru_cache(maxsize=512)
def _transposed_taps(mode, n_in, n_out, scale, align_corners, dtype, shortcuts):
    """The taps of the transposed map: input i collects weight w from every output o whose tap (i, w) it is.
    Rows are padded with weight-0 taps to the largest count."""
    idx, w = _taps(mode, n_in, n_out, scale, align_corners, dtype, shortcuts)
    src = np.broadcast_to(np.arange(n_out), idx.shape).ravel()
    dst, wt = idx.ravel(), w.ravel()
    keep = wt != 0
    order = np.argsort(dst[keep], kind="stable")
    src, dst, wt = src[keep][order], dst[keep][order], wt[keep][order]
    counts = np.bincount(dst, minlength=n_in)
    rank = np.arange(dst.size) - np.repeat(np.cumsum(counts) - counts, counts)
    t_idx = np.zeros((max(int(counts.max(initial=0)), 1), n_in), np.int64)
    t_w = np.zeros(t_idx.shape, dtype)
    t_idx[rank, dst], t_w[rank, dst] = src, wt
    return t_idx, t_w


# ---- the primitive ---------------------------------------------------------------------------------------------
def _resample_infer(x, *, mode, in_sizes, out_sizes, scales, align_corners, transpose):
    want, got = (out_sizes, in_sizes) if transpose else (in_sizes, out_sizes)
    if tuple(x.shape[2:]) != tuple(want):
        raise ShapeError(f"resample: expected spatial size {fmt_shape(want)}, got input {fmt_shape(x.shape)}")
    return Aval(tuple(x.shape[:2]) + tuple(got), x.dtype, x.device)


def _resample_impl(xp, x, *, mode, in_sizes, out_sizes, scales, align_corners, transpose):
    # weights in the input's precision (no float64 upcast); integer inputs (nearest only) use float32 positions
    wdtype = x.dtype.str if x.dtype.kind == "f" else "float32"
    table = _transposed_taps if transpose else _taps
    shortcuts = _size_shortcuts(mode, x.ndim)
    if shortcuts and in_sizes == out_sizes:
        return x.copy()  # a new tensor, as PyTorch's
    for axis in reversed(range(2, x.ndim)):  # last axis first, as PyTorch's kernels nest the weights
        a = axis - 2
        if shortcuts and in_sizes[a] == out_sizes[a]:
            continue  # the identity along this axis
        idx, w = table(mode, in_sizes[a], out_sizes[a], scales[a], align_corners, wdtype, shortcuts)
        bshape = (-1,) + (1,) * (x.ndim - 1 - axis)
        out = None
        for k in range(idx.shape[0]):
            term = xp.take(x, xp.asarray(idx[k]), axis=axis)
            if mode not in ("nearest", "nearest-exact") or transpose:
                term *= xp.asarray(w[k]).reshape(bshape)
            out = term if out is None else xp.add(out, term, out=out)
        x = out
    return x


resample_p = primitive("resample", _resample_infer)(_resample_impl)
resample_p.defvjp(lambda ctx, g: (bind(resample_p, g, **{**ctx.attrs, "transpose": not ctx.attrs["transpose"]}),))


# ---- the public op ---------------------------------------------------------------------------------------------
def _per_axis(name, value, input, dim, cast):
    if isinstance(value, (list, tuple)):
        if len(value) != dim:
            raise ShapeError(f"interpolate: {name} {tuple(value)} must have one entry per spatial dim of input "
                             f"{fmt_shape(input.shape)} ({dim} spatial dims)")
        return tuple(cast(v) for v in value)
    return (cast(value),) * dim


def _as_int(v):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"interpolate: size entries must be ints, got {v!r} ({type(v).__name__})")
    return int(v)


def _check_mode(input, mode, align_corners, antialias):
    if mode not in _MODES:
        raise ValueError(f"interpolate: unknown mode {mode!r}; expected one of {', '.join(map(repr, _MODES))}")
    if input.ndim not in _MODES[mode]:
        raise ShapeError(f"interpolate: mode {mode!r} needs a {' or '.join(f'{r}-D' for r in _MODES[mode])} input "
                         f"(N, C, spatial...), got shape {fmt_shape(input.shape)}")
    if align_corners is not None and mode in ("nearest", "nearest-exact", "area"):
        raise ValueError(f"interpolate: align_corners can only be set with the interpolating modes linear | bilinear "
                         f"| bicubic | trilinear, not with mode {mode!r}")
    if antialias:
        raise UnsupportedError("interpolate: antialias=True is not supported yet")
    if mode not in ("nearest", "nearest-exact") and input.dtype.category != FLOAT:
        raise DTypeError(f"interpolate: mode {mode!r} needs a floating-point input, got {input.dtype.name}")


def _output_sizes(input, size, scale_factor, mode, recompute_scale_factor):
    """(out_sizes, scales): PyTorch's rules; a scale factor given by the user (and not recomputed) is the ratio the
    kernels use, so a non-integer one gives other positions than size= would."""
    dim, in_sizes = input.ndim - 2, tuple(input.shape[2:])
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: " + ("only one of size or scale_factor should be defined" if size is not None
                                            else "either size or scale_factor should be defined"))
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor is not meaningful with an explicit size")
        out, scales = _per_axis("size", size, input, dim, _as_int), (None,) * dim
    else:
        scales = _per_axis("scale_factor", scale_factor, input, dim, float)
        out = tuple(math.floor(n * s) for n, s in zip(in_sizes, scales))
        if recompute_scale_factor or mode == "area":
            scales = (None,) * dim
    if min(in_sizes + out, default=1) <= 0:
        raise ShapeError(f"interpolate: input and output sizes should be greater than 0, but got input "
                         f"{fmt_shape(input.shape)} and output spatial size {fmt_shape(out)}")
    return in_sizes, out, scales


def _samples(rng):
    r = rng.standard_normal
    return [Sample(r((2, 3, 5)), size=8), Sample(r((2, 3, 5)), scale_factor=1.7, mode="linear"),
            Sample(r((1, 2, 3, 4)), scale_factor=2, mode="bilinear", align_corners=True),
            Sample(r((1, 2, 4, 3)), size=(3, 7), mode="bilinear", note="down and up"),
            Sample(r((1, 1, 3, 4)), scale_factor=(1.5, 0.8), mode="nearest-exact"),
            Sample(r((1, 1, 4, 3)), size=(6, 5), mode="bicubic", align_corners=False),
            Sample(r((1, 1, 5, 7)), size=(2, 3), mode="area"),
            Sample(r((1, 2, 2, 3, 2)), scale_factor=1.5, mode="trilinear"),
            Sample(r((1, 2, 5, 4)).swapaxes(2, 3), size=(3, 6), mode="bilinear", note="non-contiguous"),
            Sample(r((0, 2, 3)), size=4, mode="linear", note="empty batch")]


@op(samples=_samples, torch=lambda torch, *a, **k: torch.nn.functional.interpolate(*a, **k))
def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None,
                antialias=False):
    """Resize the spatial dims of (N, C, d1, ...) to `size` or by `scale_factor`; PyTorch's modes and indexing."""
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate: expected a Tensor input, got {type(input).__name__}")
    _check_mode(input, mode, align_corners, antialias)
    in_sizes, out_sizes, scales = _output_sizes(input, size, scale_factor, mode, recompute_scale_factor)
    return bind(resample_p, input, mode=mode, in_sizes=in_sizes, out_sizes=out_sizes, scales=scales,
                align_corners=bool(align_corners), transpose=False)
