"""pad: constant, reflect, replicate and circular padding in PyTorch's order (last dim first, (left, right) pairs).

Negative pads crop. Like PyTorch, reflect and replicate pad the input and then crop, while circular crops first and
then wraps around the cropped input. The non-constant modes are, per padded dim, a map from output positions to
input positions: a core block copied as is, and border positions, each a copy of one input slice. The forward copies
those slices, and the backward (`pad_fold`, the adjoint) adds them back: no gather, no add.at; a loop over the
border positions only (like a loop over kernel positions), with each step one wide array op.
Constant padding's gradient is a slice of the output gradient (or, with crops, the pad with negated amounts).
"""
import functools

import numpy as np

from ..errors import ShapeError, fmt_shape
from ._registry import Aval, Sample, bind, op, primitive

_MODES = ("constant", "reflect", "replicate", "circular")


def _padded_shape(shape, pads, sign=1):
    return tuple(n + sign * (lo + hi) for n, (lo, hi) in zip(shape, pads))


def _source(n, lo, hi, mode):
    """For each output position along a dim of size n padded by (lo, hi): the input position it copies."""
    if mode == "circular":
        c0 = max(-lo, 0)
        m = n - c0 - max(-hi, 0)
        return c0 + np.arange(-max(lo, 0), m + max(hi, 0)) % m
    p = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(p, 0, n - 1)
    return np.where(p < 0, -p, np.where(p >= n, 2 * (n - 1) - p, p))  # reflect (the edge is not repeated)


@functools.lru_cache(maxsize=512)
def _layout(n, lo, hi, mode):
    """How a dim of size n padded by (lo, hi) is filled: the core (output start, input start, length) copied as a
    block, and (output position, input position) for each border position outside it."""
    src = _source(n, lo, hi, mode).tolist()
    start, kept = max(lo, 0), n - max(-lo, 0) - max(-hi, 0)
    border = tuple((j, src[j]) for j in range(len(src)) if not start <= j < start + kept)
    return (start, max(-lo, 0), kept), border


def _along(d, start, stop):
    return (slice(None),) * d + (slice(start, stop),)


# ---- primitives ---------------------------------------------------------------------------------------------------
def _pad_infer(x, *, pads, mode, value):
    return Aval(_padded_shape(x.shape, pads), x.dtype, x.device)


def _pad_impl(xp, x, *, pads, mode, value):
    if mode == "constant":
        out = xp.full(_padded_shape(x.shape, pads), value, dtype=x.dtype)
        dst, src = [], []
        for n, (lo, hi) in zip(x.shape, pads):
            kept = n - max(-lo, 0) - max(-hi, 0)
            dst.append(slice(max(lo, 0), max(lo, 0) + kept))
            src.append(slice(max(-lo, 0), max(-lo, 0) + kept))
        out[tuple(dst)] = x[tuple(src)]
        return out
    out = x
    for d, (lo, hi) in enumerate(pads):
        if lo or hi:  # one dim at a time; the next dim pads this result, corners included
            (a, c, kept), border = _layout(out.shape[d], lo, hi, mode)
            src, out = out, xp.empty(out.shape[:d] + (out.shape[d] + lo + hi,) + out.shape[d + 1:], dtype=x.dtype)
            out[_along(d, a, a + kept)] = src[_along(d, c, c + kept)]
            for j, s in border:  # single positions: wide strided copies, fast even along the last dim
                out[_along(d, j, j + 1)] = src[_along(d, s, s + 1)]
    return out.copy() if out is x else out  # a new tensor even when nothing is padded, as in PyTorch


def _fold_infer(g, *, pads, mode):
    return Aval(_padded_shape(g.shape, pads, -1), g.dtype, g.device)


def _fold_impl(xp, g, *, pads, mode):
    """The adjoint of a non-constant pad: every output position's gradient added back to its input position."""
    for d, (lo, hi) in enumerate(pads):
        if lo or hi:
            n = g.shape[d] - lo - hi
            (a, c, kept), border = _layout(n, lo, hi, mode)
            out = xp.empty(g.shape[:d] + (n,) + g.shape[d + 1:], dtype=g.dtype)
            out[_along(d, c, c + kept)] = g[_along(d, a, a + kept)]
            out[_along(d, 0, c)] = 0  # input positions cropped away (reflect and replicate may still read them)
            out[_along(d, c + kept, n)] = 0
            for j, s in border:
                out[_along(d, s, s + 1)] += g[_along(d, j, j + 1)]
            g = out
    return g


pad_p = primitive("pad", _pad_infer)(_pad_impl)
pad_fold_p = primitive("pad_fold", _fold_infer)(_fold_impl)


@pad_p.defvjp
def _(ctx, g):
    pads, mode = ctx.attrs["pads"], ctx.attrs["mode"]
    if mode != "constant":
        return bind(pad_fold_p, g, pads=pads, mode=mode),
    if all(lo >= 0 and hi >= 0 for lo, hi in pads):  # the interior: a view
        return g[tuple(slice(lo, lo + n) for n, (lo, _) in zip(ctx.shapes[0], pads))],
    return bind(pad_p, g, pads=tuple((-lo, -hi) for lo, hi in pads), mode="constant", value=0),


@pad_fold_p.defvjp
def _(ctx, g):
    return bind(pad_p, g, pads=ctx.attrs["pads"], mode=ctx.attrs["mode"], value=0),


# ---- arguments ----------------------------------------------------------------------------------------------------
def _pads(input, pad, mode):
    """PyTorch's flat (last-dim-first) pad sequence as (lo, hi) for every dim, checked against the mode."""
    try:
        flat = [int(p) for p in pad]
    except (TypeError, ValueError):
        raise TypeError(f"pad: pad must be a sequence of ints, got {pad!r}") from None
    shape = tuple(input.shape)
    if len(flat) % 2:
        raise ShapeError(f"pad: padding length must be divisible by 2, got {len(flat)} (pad {tuple(flat)})")
    if len(flat) > 2 * len(shape):
        raise ShapeError(f"pad: padding length {len(flat)} is too long for an input of {len(shape)} dims (shape "
                         f"{fmt_shape(shape)}); it can be at most {2 * len(shape)}")
    pairs = [(0, 0)] * (len(shape) - len(flat) // 2) + [tuple(flat[i:i + 2]) for i in range(len(flat) - 2, -1, -2)]
    for d, ((lo, hi), n) in enumerate(zip(pairs, shape)):
        if not (lo or hi):
            continue
        where = f"padding ({lo}, {hi}) at dim {d} of input {fmt_shape(shape)}"
        kept = n - max(-lo, 0) - max(-hi, 0)
        if mode == "constant" and kept < 0:  # constant padding crops first, as in PyTorch
            raise ShapeError(f"pad: {where} crops more than the size {n}")
        if mode != "constant" and n + lo + hi <= 0:
            raise ShapeError(f"pad: {where} leaves a size of {n + lo + hi}")
        if mode == "reflect" and max(lo, hi) >= n:
            raise ShapeError(f"pad: reflect padding must be less than the input size: {where}, size {n}")
        if mode == "replicate" and n == 0:
            raise ShapeError(f"pad: replicate padding of an empty dim: {where}")
        if mode == "circular" and max(lo, hi, 1) > kept:
            raise ShapeError(f"pad: circular padding wraps around more than once: {where} (size {max(kept, 0)} "
                             "after cropping)")
    return tuple(pairs)


# ---- samples and numpy reference ----------------------------------------------------------------------------------
def _samples(rng):
    r = rng.standard_normal
    x = r((2, 3, 4))
    return [Sample(r((2, 3)), (1, 2)), Sample(x, (1, 0, 2, 1), value=1.5), Sample(x, (-1, 2), note="crop"),
            Sample(x, (1, -1, -1, 0), note="pad and crop"), Sample(x, (0, 0, 0, 0, 1, 0), note="pad dim 0"),
            Sample(x, (2, 1), mode="reflect"), Sample(x, (3, 3), mode="reflect", note="both sides reach the edge"),
            Sample(x, (-1, 3), mode="reflect"), Sample(r((1, 2, 3, 3)), (1, 1, 2, 0), mode="reflect"),
            Sample(x, (2, 3), mode="replicate"), Sample(x, (3, -1), mode="replicate"),
            Sample(r((1, 2, 3, 3)), (1, 0, 1, 2), mode="replicate"),
            Sample(x, (1, 2), mode="circular"), Sample(x, (2, -1), mode="circular"), Sample(x, (4, 4), mode="circular"),
            Sample(r((1, 2, 3, 3)), (1, 2, 2, 1), mode="circular"),
            Sample(r((1, 1, 2, 3, 3)), (1, 1, 1, 0, 1, 1), mode="reflect", note="3 dims"),
            Sample(r((4, 3)).T, (1, 1), mode="reflect", note="non-contiguous"),
            Sample(np.arange(6).reshape(2, 3), (1, 1), value=2.5, note="int input: the value is truncated"),
            Sample(x, (), note="nothing to pad")]


def _np_pad(input, pad, mode="constant", value=None):
    pairs = [(0, 0)] * (input.ndim - len(pad) // 2) + [(pad[i], pad[i + 1]) for i in range(len(pad) - 2, -1, -2)]
    grow = [(max(lo, 0), max(hi, 0)) for lo, hi in pairs]
    crop = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for (lo, hi), n in zip(pairs, input.shape))
    if mode == "circular":  # crop, then wrap
        return np.pad(input[crop], grow, mode="wrap")
    crop = tuple(slice(max(-lo, 0), n + max(lo, 0) + max(hi, 0) - max(-hi, 0))
                 for (lo, hi), n in zip(pairs, input.shape))
    if mode == "constant":
        return np.pad(input, grow, constant_values=value or 0)[crop]
    return np.pad(input, grow, mode={"reflect": "reflect", "replicate": "edge"}[mode])[crop]


@op(samples=_samples, ref=_np_pad, torch=lambda torch, x, pad, **kw: torch.nn.functional.pad(x, pad, **kw))
def pad(input, pad, mode="constant", value=None):
    """Pad (or, with negative amounts, crop) the last len(pad) // 2 dims: pad = (left, right) for the last dim,
    then the one before, ... mode "constant" fills with `value` (0 by default); "reflect" mirrors without
    repeating the edge, "replicate" repeats the edge, "circular" wraps around."""
    if mode not in _MODES:
        raise ValueError(f"pad: mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r}")
    if mode != "constant" and value is not None:
        raise ValueError(f"pad: mode {mode!r} doesn't take a value argument (got value={value!r})")
    pads = _pads(input, pad, mode)
    return bind(pad_p, input, pads=pads, mode=mode, value=0 if value is None else value)
