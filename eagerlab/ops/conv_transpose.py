"""conv_transpose1d/conv_transpose2d: the adjoint of conv in its input, i.e. the conv2d input-gradient primitive
(conv.py) with output_padding as a negative bottom/right padding."""
import numpy as np

from ..errors import ShapeError, fmt_shape
from ._registry import Sample, op
from .conv import bind_conv, check_call, conv_transpose2d_p, in_size, int_tuple


def _conv_transpose(name, nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    check_call(name, nd, input, weight, bias, groups, True)
    stride, dilation = int_tuple(name, "stride", stride, nd, 1), int_tuple(name, "dilation", dilation, nd, 1)
    pad = int_tuple(name, "padding", padding, nd, 0)
    extra = int_tuple(name, "output_padding", output_padding, nd, 0)
    if any(e >= max(s, d) for e, s, d in zip(extra, stride, dilation)):
        raise ValueError(f"{name}: output_padding {fmt_shape(extra)} must be smaller than either stride "
                         f"{fmt_shape(stride)} or dilation {fmt_shape(dilation)}")
    pads = tuple((p, p - e) for p, e in zip(pad, extra))
    size = tuple(in_size(n, k, s, d, p) for n, k, s, d, p in zip(input.shape[-nd:], weight.shape[2:], stride,
                                                                  dilation, pads))
    if min(size) < 1:
        raise ShapeError(f"{name}: the output size {fmt_shape(size)} is not positive (input {fmt_shape(input.shape)}, "
                         f"weight {fmt_shape(weight.shape)}, stride={stride}, padding={pad}, dilation={dilation})")
    return bind_conv(conv_transpose2d_p, nd, input, weight, bias, stride, dilation, groups, pads)


def np_conv_transpose(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Numpy reference: every input pixel scatters its kernel-weighted values into a full output, then cropped."""
    nd = w.ndim - 2
    if x.ndim == nd + 1:
        return np_conv_transpose(x[None], w, b, stride, padding, output_padding, groups, dilation)[0]
    tup = lambda v: (v,) * nd if isinstance(v, int) else tuple(v)  # noqa: E731
    st, pad, extra, dil, k = tup(stride), tup(padding), tup(output_padding), tup(dilation), w.shape[2:]
    full = [(n - 1) * s + d * (kk - 1) + 1 + e for n, s, d, kk, e in zip(x.shape[2:], st, dil, k, extra)]
    ig, og = w.shape[0] // groups, w.shape[1]
    out = np.zeros((x.shape[0], og * groups, *full))
    for pos in np.ndindex(*x.shape[2:]):
        for tap in np.ndindex(*k):
            at = tuple(p * s + t * d for p, s, t, d in zip(pos, st, tap, dil))
            for g in range(groups):
                xv = x[(slice(None), slice(g * ig, (g + 1) * ig)) + pos]
                out[(slice(None), slice(g * og, (g + 1) * og)) + at] += xv @ w[(slice(g * ig, (g + 1) * ig),
                                                                                slice(None)) + tap]
    out = out[(slice(None), slice(None)) + tuple(slice(p, f - p) for p, f in zip(pad, full))]
    return out if b is None else out + b.reshape((-1,) + (1,) * nd)


def _conv_transpose2d_samples(rng):
    r = rng.standard_normal
    return [Sample(r((2, 2, 3, 3)), r((2, 3, 2, 2)), r(3)),
            Sample(r((1, 2, 3, 3)), r((2, 2, 3, 3)), None, 2, 1, 1, note="stride, padding, output_padding"),
            Sample(r((1, 2, 3, 2)), r((2, 2, 2, 3)), r(2), stride=(2, 1), padding=(0, 1), output_padding=(1, 0),
                   dilation=(1, 2), note="per-dim options, non-square kernel"),
            Sample(r((1, 4, 3, 3)), r((4, 1, 2, 2)), r(2), groups=2, note="groups"),
            Sample(r((2, 3, 3)), r((2, 2, 3, 3)), r(2), stride=2, note="unbatched"),
            Sample(r((1, 1, 3, 3)), r((1, 2, 2, 2)), None, dilation=2, output_padding=1,
                   note="output_padding >= stride (allowed below the dilation)"),
            Sample(r((0, 2, 3, 3)), r((2, 3, 2, 2)), r(3), note="empty batch")]


def _conv_transpose1d_samples(rng):
    r = rng.standard_normal
    return [Sample(r((2, 3, 4)), r((3, 2, 3)), r(2)),
            Sample(r((1, 2, 5)), r((2, 3, 3)), None, 3, 1, 2, note="stride, padding, output_padding"),
            Sample(r((2, 4, 4)), r((4, 1, 2)), r(2), groups=2, dilation=3, note="groups, dilation"),
            Sample(r((2, 5)), r((2, 2, 3)), r(2), stride=2, padding=1, note="unbatched")]


@op(samples=_conv_transpose2d_samples, ref=np_conv_transpose,
    torch=lambda torch, *a, **k: torch.nn.functional.conv_transpose2d(*a, **k))
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution of (N, C_in, H, W) or (C_in, H, W) input with (C_in, C_out/groups, kH, kW) weight;
    the output is (H - 1)*stride - 2*padding + dilation*(kH - 1) + output_padding + 1 high (likewise wide)."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


@op(samples=_conv_transpose1d_samples, ref=np_conv_transpose,
    torch=lambda torch, *a, **k: torch.nn.functional.conv_transpose1d(*a, **k))
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution of (N, C_in, L) or (C_in, L) input with (C_in, C_out/groups, kL) weight."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)
