"""Convolutions: conv1d/conv2d (public), and the three primitives every convolution and its derivatives use.

Everything runs on 2-D spatial primitives (conv1d is a conv2d over a (1, L) image):
- `conv2d`: im2col + GEMM. The (zero-)padded input's windows are an `as_strided` view; one copy turns a block of
  the batch into (n, groups, C/groups*kh*kw, OH*OW) columns, and one batched matmul writes the output in place.
- `conv_transpose2d`: the adjoint of conv2d in its input (so conv2d's input gradient, and the public
  conv_transpose*d): a GEMM back to columns, then col2im, phase by phase for strided ones.
- `conv2d_weight_grad`: the adjoint of conv2d in its weight: a GEMM of the column matrix with grad_out.
The kernels on raw arrays are in ops/conv_kernels.py.
The family is closed under differentiation (each vjp is written with the other two), so double backward works.

Padding attrs are ((top, bottom), (left, right)) and always *exact*: the windows end at the last padded row, so
conv2d and conv_transpose2d map sizes onto each other both ways. The public ops trim the rows a strided conv never
reaches (bottom/right may go negative: the input is cropped there), and conv_transpose's output_padding is a
negative bottom/right padding (the output grows by rows no window writes to).
"""
import numpy as np

from .._tensor import Tensor
from ..backend.dtypes import FLOAT
from ..backend.low_precision import in_float32
from ..errors import DTypeError, ShapeError, fmt_shape
from ._registry import Aval, Sample, bind, op, primitive
from .conv_kernels import conv2d_kernel, conv_transpose2d_kernel, in_size, out_size, weight_grad_kernel

# ---- shape rules ----------------------------------------------------------------------------------------------
def _check_operands(name, x, w, channels, groups):
    if len(x.shape) != 4 or len(w.shape) != 4:
        raise ShapeError(f"{name}: expected a 4-D input and weight, got input {fmt_shape(x.shape)} and weight "
                         f"{fmt_shape(w.shape)}")
    if x.shape[1] != channels or w.shape[0] % groups:
        raise ShapeError(f"{name}: input {fmt_shape(x.shape)} does not fit weight {fmt_shape(w.shape)} with "
                         f"groups={groups}")


def _positive(name, shape, x, w):
    if min(shape[2:]) < 1:
        raise ShapeError(f"{name}: the output size {fmt_shape(shape[2:])} is not positive (input "
                         f"{fmt_shape(x.shape)}, weight {fmt_shape(w.shape)})")
    return shape


def _conv_infer(x, w, b=None, *, stride, padding, dilation, groups):
    _check_operands("conv2d", x, w, w.shape[1] * groups, groups)
    spatial = tuple(out_size(x.shape[2 + i], w.shape[2 + i], stride[i], dilation[i], padding[i]) for i in (0, 1))
    return Aval(_positive("conv2d", (x.shape[0], w.shape[0]) + spatial, x, w), x.dtype, x.device)


def _conv_transpose_infer(g, w, b=None, *, stride, padding, dilation, groups):
    _check_operands("conv_transpose2d", g, w, w.shape[0], groups)
    spatial = tuple(in_size(g.shape[2 + i], w.shape[2 + i], stride[i], dilation[i], padding[i]) for i in (0, 1))
    return Aval(_positive("conv_transpose2d", (g.shape[0], w.shape[1] * groups) + spatial, g, w), g.dtype, g.device)


def _weight_grad_infer(x, g, *, kernel, stride, padding, dilation, groups):
    return Aval((g.shape[1], x.shape[1] // groups) + tuple(kernel), g.dtype, g.device)


# each operand is kept only for the other's gradient (see matmul_p)
conv2d_p = primitive("conv2d", _conv_infer, save_inputs=(0, 1), save_when={0: (1,), 1: (0,)})(
    in_float32(conv2d_kernel))
conv_transpose2d_p = primitive("conv_transpose2d", _conv_transpose_infer, save_inputs=(0, 1),
                               save_when={0: (1,), 1: (0,)})(
    in_float32(conv_transpose2d_kernel))
conv2d_weight_grad_p = primitive("conv2d_weight_grad", _weight_grad_infer, save_inputs=(0, 1))(
    in_float32(weight_grad_kernel))


def _bias_grad(ctx, g):
    from .reduce import sum_p

    return bind(sum_p, g, dims=(0, 2, 3), keepdim=False) if len(ctx.needs) > 2 and ctx.needs[2] else None


@conv2d_p.defvjp
def _(ctx, g):
    x, w = ctx.saved
    gx = bind(conv_transpose2d_p, g, w, **ctx.attrs) if ctx.needs[0] else None
    gw = bind(conv2d_weight_grad_p, x, g, kernel=tuple(ctx.shapes[1][2:]), **ctx.attrs) if ctx.needs[1] else None
    return gx, gw, _bias_grad(ctx, g)


@conv_transpose2d_p.defvjp
def _(ctx, v):
    g, w = ctx.saved  # conv_transpose2d(g, w) = J_x^T g of conv2d: <v, T(g, w)> = <conv2d(v, w), g>
    gg = bind(conv2d_p, v, w, **ctx.attrs) if ctx.needs[0] else None
    gw = bind(conv2d_weight_grad_p, v, g, kernel=tuple(ctx.shapes[1][2:]), **ctx.attrs) if ctx.needs[1] else None
    return gg, gw, _bias_grad(ctx, v)


@conv2d_weight_grad_p.defvjp
def _(ctx, u):
    x, g = ctx.saved  # <u, weight_grad(x, g)> = <conv2d(x, u), g>
    attrs = {k: v for k, v in ctx.attrs.items() if k != "kernel"}
    gx = bind(conv_transpose2d_p, g, u, **attrs) if ctx.needs[0] else None
    gg = bind(conv2d_p, x, u, **attrs) if ctx.needs[1] else None
    return gx, gg


# ---- public calls: argument checks and normalization (shared with conv_transpose.py) ---------------------------
def int_tuple(name, arg, value, nd, minimum):
    """An int or a sequence of nd (or 1) ints, each >= minimum, as an nd-tuple."""
    vals = (value,) if isinstance(value, (int, np.integer)) else tuple(value) if isinstance(value, (tuple, list)) \
        else ()
    vals = vals * nd if len(vals) == 1 else vals
    if len(vals) != nd or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals):
        raise TypeError(f"{name}: {arg} must be an int or a tuple of {nd} ints, got {value!r}")
    if min(vals) < minimum:
        raise ValueError(f"{name}: {arg} must be {'positive' if minimum else 'non-negative'}, got {value!r}")
    return tuple(int(v) for v in vals)


def check_call(name, nd, x, w, b, groups, transposed):
    """Types, dtypes, ranks and channels of a public call; errors name the op and the shapes as given."""
    for t, what in ((x, "input"), (w, "weight"), (b, "bias")):
        if not isinstance(t, Tensor) and (t is not None or what != "bias"):
            raise TypeError(f"{name}: {what} must be a Tensor, got {type(t).__name__}")
    xs, ws = fmt_shape(x.shape), fmt_shape(w.shape)
    if x.dtype.category != FLOAT or w.dtype.category != FLOAT:
        raise DTypeError(f"{name}: expected floating-point input and weight, got {x.dtype.name} input {xs} and "
                         f"{w.dtype.name} weight {ws}")
    for t, what in ((w, "weight"), (b, "bias")):
        if t is not None and t.dtype is not x.dtype:
            raise DTypeError(f"{name}: input and {what} must have the same dtype, got {x.dtype.name} input {xs} and "
                             f"{t.dtype.name} {what} {fmt_shape(t.shape)}; convert one with .to()")
    dims = "".join(f", k{d}" for d in ("HW" if nd == 2 else "L"))
    if w.ndim != nd + 2:
        layout = "(C_in, C_out/groups" if transposed else "(C_out, C_in/groups"
        raise ShapeError(f"{name}: expected a {nd + 2}-D weight {layout}{dims}), got weight {ws}")
    if x.ndim not in (nd + 1, nd + 2):
        raise ShapeError(f"{name}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, got input {xs}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{name}: groups must be a positive int, got {groups!r}")
    c = x.shape[-nd - 1]
    if c % groups:
        raise ShapeError(f"{name}: input channels {c} (input {xs}) must be divisible by groups={groups}")
    split = w.shape[0]  # the weight dim that holds groups blocks: C_out for conv, C_in for conv_transpose
    if split % groups:
        raise ShapeError(f"{name}: {'in' if transposed else 'out'}_channels {split} (weight {ws}) must be divisible "
                         f"by groups={groups}")
    want = split if transposed else w.shape[1] * groups
    if c != want:
        raise ShapeError(f"{name}: expected input with {want} channels (weight {ws}, groups={groups}), got input {xs}")
    c_out = w.shape[1] * groups if transposed else split
    if b is not None and tuple(b.shape) != (c_out,):
        raise ShapeError(f"{name}: expected bias of shape ({c_out},), one per output channel, got bias "
                         f"{fmt_shape(b.shape)}")


def _conv_padding(name, nd, x, w, padding, stride, dilation):
    """Exact ((lo, hi), ...) pads for conv: ints, 'valid' or 'same' (lo gets the smaller half, as in PyTorch)."""
    kernel, spatial = w.shape[2:], x.shape[-nd:]
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"{name}: invalid padding string {padding!r}, expected 'valid' or 'same'")
        if padding == "same" and any(s != 1 for s in stride):
            raise ValueError(f"{name}: padding='same' is not supported for strided convolutions (stride={stride})")
        total = [d * (k - 1) if padding == "same" else 0 for k, d in zip(kernel, dilation)]
        pads = [(t // 2, t - t // 2) for t in total]
    else:
        pads = [(p, p) for p in int_tuple(name, "padding", padding, nd, 0)]
    out = []
    for n, k, s, d, (lo, hi) in zip(spatial, kernel, stride, dilation, pads):
        if n + lo + hi < d * (k - 1) + 1:
            raise ShapeError(f"{name}: kernel {fmt_shape(kernel)} (dilation {fmt_shape(dilation)}) is larger than the "
                             f"padded input {fmt_shape(tuple(a + p + q for a, (p, q) in zip(spatial, pads)))} (input "
                             f"{fmt_shape(x.shape)}, padding={padding!r})")
        out.append((lo, hi - (n + lo + hi - d * (k - 1) - 1) % s))  # drop rows no strided window reaches
    return tuple(out)


def bind_conv(prim, nd, x, w, b, stride, dilation, groups, pads):
    """Bind a 2-D primitive on (possibly unbatched, possibly 1-D) operands and give back the caller's layout."""
    batched = x.ndim == nd + 2
    x4, w4 = x, w
    if nd == 1:  # a 1-D conv is a 2-D conv over a (1, L) image
        stride, dilation, pads = (1,) + stride, (1,) + dilation, ((0, 0),) + pads
        x4 = x4.reshape(*x.shape[:-1], 1, x.shape[-1])
        w4 = w4.reshape(*w.shape[:2], 1, w.shape[-1])
    if not batched:
        x4 = x4.reshape(1, *x4.shape)
    y = bind(prim, x4, w4, *(() if b is None else (b,)), stride=stride, padding=pads, dilation=dilation,
             groups=int(groups))
    if nd == 2 and batched:
        return y
    return y.reshape(*(y.shape[:2] if batched else y.shape[1:2]), *y.shape[4 - nd:])


def _conv(name, nd, input, weight, bias, stride, padding, dilation, groups):
    check_call(name, nd, input, weight, bias, groups, False)
    stride, dilation = int_tuple(name, "stride", stride, nd, 1), int_tuple(name, "dilation", dilation, nd, 1)
    pads = _conv_padding(name, nd, input, weight, padding, stride, dilation)
    return bind_conv(conv2d_p, nd, input, weight, bias, stride, dilation, groups, pads)


# ---- public ops -----------------------------------------------------------------------------------------------
def np_conv(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Numpy reference: a loop over output positions and kernel taps (tiny shapes only)."""
    nd = w.ndim - 2
    if x.ndim == nd + 1:
        return np_conv(x[None], w, b, stride, padding, dilation, groups)[0]
    tup = lambda v: (v,) * nd if isinstance(v, int) else tuple(v)  # noqa: E731
    st, dil, k = tup(stride), tup(dilation), w.shape[2:]
    if isinstance(padding, str):
        total = [d * (kk - 1) if padding == "same" else 0 for kk, d in zip(k, dil)]
        pads = [(t // 2, t - t // 2) for t in total]
    else:
        pads = [(p, p) for p in tup(padding)]
    xp = np.pad(x, [(0, 0), (0, 0)] + pads)
    size = [(xp.shape[2 + i] - dil[i] * (k[i] - 1) - 1) // st[i] + 1 for i in range(nd)]
    og, cg = w.shape[0] // groups, w.shape[1]
    out = np.zeros((x.shape[0], w.shape[0], *size))
    for pos in np.ndindex(*size):
        for tap in np.ndindex(*k):
            at = tuple(p * s + t * d for p, s, t, d in zip(pos, st, tap, dil))
            for g in range(groups):
                xv = xp[(slice(None), slice(g * cg, (g + 1) * cg)) + at]
                out[(slice(None), slice(g * og, (g + 1) * og)) + pos] += xv @ w[(slice(g * og, (g + 1) * og),
                                                                                 slice(None)) + tap].T
    return out if b is None else out + b.reshape((-1,) + (1,) * nd)


def _conv2d_samples(rng):
    r = rng.standard_normal
    return [Sample(r((2, 2, 5, 5)), r((3, 2, 3, 3)), r(3)),
            Sample(r((1, 2, 5, 6)), r((2, 2, 2, 3)), None, 2, 1, note="stride, padding, non-square kernel, no bias"),
            Sample(r((1, 2, 6, 5)), r((2, 2, 3, 2)), r(2), stride=(2, 1), padding=(1, 0), dilation=(2, 1),
                   note="per-dim stride/padding/dilation"),
            Sample(r((1, 4, 4, 4)), r((4, 2, 2, 2)), r(4), groups=2, note="groups"),
            Sample(r((1, 3, 4, 5)), r((6, 1, 3, 3)), None, padding="same", groups=3, note="depthwise, same"),
            Sample(r((1, 2, 5, 5)), r((2, 2, 2, 2)), r(2), padding="same", dilation=2, note="same, asymmetric"),
            Sample(r((2, 1, 4, 5)), r((2, 1, 3, 2)), None, padding="valid"),
            Sample(r((1, 1, 7, 7)), r((2, 1, 3, 3)), r(2), stride=3, padding=(1, 2), note="rows no window reaches"),
            Sample(r((2, 4, 4)), r((2, 2, 3, 3)), r(2), padding=1, note="unbatched"),
            Sample(r((1, 5, 5, 2)).transpose(0, 3, 1, 2), r((2, 2, 2, 2)), note="non-contiguous"),
            Sample(r((0, 2, 4, 4)), r((3, 2, 3, 3)), r(3), note="empty batch")]


def _conv1d_samples(rng):
    r = rng.standard_normal
    return [Sample(r((2, 3, 7)), r((4, 3, 3)), r(4)),
            Sample(r((1, 2, 9)), r((2, 2, 2)), None, 2, 3, 2, note="stride, padding, dilation"),
            Sample(r((2, 4, 5)), r((4, 1, 3)), r(4), padding="same", groups=4, note="depthwise, same"),
            Sample(r((1, 4, 6)), r((2, 2, 4)), None, padding="same", groups=2, note="same with an even kernel"),
            Sample(r((3, 6)), r((2, 3, 2)), r(2), stride=2, padding="valid", note="unbatched")]



@op(samples=_conv2d_samples, ref=np_conv, torch=lambda torch, *a, **k: torch.nn.functional.conv2d(*a, **k))
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) of (N, C_in, H, W) or (C_in, H, W) input with (C_out, C_in/groups, kH, kW)
    weight. padding: an int, a pair, 'valid' or 'same' (stride 1 only)."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


@op(samples=_conv1d_samples, ref=np_conv, torch=lambda torch, *a, **k: torch.nn.functional.conv1d(*a, **k))
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution of (N, C_in, L) or (C_in, L) input with (C_out, C_in/groups, kL) weight."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)
