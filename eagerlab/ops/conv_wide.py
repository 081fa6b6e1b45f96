"""Wide im2col: convolution columns whose every row is one contiguous run of the input (CPU, stride 1).

im2col copies, for each kernel tap (c, i, j), an OH x OW window of the padded input, and numpy copies such a window
one output row at a time, OW elements. For small images (rows of 4 to 16 pixels) those short rows make the copy
the costliest part of a convolution. Computed at the full width W of the padded input instead, OH x W positions
of which the last W - OW of each row are junk dropped afterwards, a tap's window (tap (i, j) starts at row i*d,
column j*d) is one contiguous run of OH*W elements of an input plane. Each plane gets one zero row more at the
bottom, so that the last tap's run stays inside it.

The GEMM then computes W/OW more columns, the output is copied once more (dropping the junk) and a weight gradient
needs its output gradient widened with zeros, so `plan` weighs the two with a cost model fitted to measurements
(one thread, 2-core AMD EPYC, a 16-sample block's forward): LeNet's convolutions 202 -> 159 us (6 -> 16, 5x5,
10x10 out) and 124 -> 99 us (1 -> 6, 28x28 out) with it; the MNIST CNN's, with rows of 24-26 pixels, 32 output
channels from 9 column rows in the first, became slower (103 -> 181 us, 778 -> 813 us a 3-sample block) and keep
the usual columns. Strided convolutions would need the input split into phase planes first, a copy as slow as the
im2col it saves (dcgan's 4x4 stride-2 layers measured 2% faster to 27% slower): they keep the usual columns too.
"""
import numpy as np

# ns per column element (one thread, 2-core AMD EPYC): the usual copy's cost per output row and per element, the
# wide copy's, a multiply-add at OpenBLAS's ~97 GFLOP/s, and the copy that drops the junk, per output element
_USUAL_ROW, _USUAL, _WIDE, _MULTIPLY_ADD, _DROP = 5.0, 0.05, 0.1, 0.02, 0.3


class Plan:
    """The wide geometry of one convolution: dilation, plane (height, width) without the extra row, and `run`, the
    columns per sample and row of the columns: OH rows of the planes' full width."""

    __slots__ = ("dilation", "plane_hw", "run")

    def __init__(self, dilation, plane_hw, run):
        self.dilation, self.plane_hw, self.run = dilation, plane_hw, run


def plan(xp, channels, out_per_group, groups, kernel, out_hw, padded_hw, stride, dilation):
    """A Plan where the wide im2col applies and the cost model says it pays, else None."""
    (oh, ow), plane_w = out_hw, padded_hw[1]
    if xp is not np or stride != (1, 1) or oh * ow <= 1:  # one output pixel: the usual columns are a view of x
        return None
    rows = channels // groups * kernel[0] * kernel[1]
    usual = _USUAL_ROW / ow + _USUAL
    wide = _WIDE + out_per_group * _MULTIPLY_ADD * (plane_w - ow) / ow + out_per_group / rows * _DROP
    return Plan(dilation, padded_hw, oh * plane_w) if wide < usual else None


def planes(xp, x, plan):
    """A padded block x (m, C, Hp, Wp) with one zero row more at the bottom of each plane."""
    out = xp.zeros(x.shape[:2] + (x.shape[2] + 1, x.shape[3]), x.dtype)
    out[:, :, :-1] = x
    return out


def columns(xp, planes_, plan, groups, kernel, batch_inner=False):
    """The wide columns of the block: (m, groups, C/groups*kh*kw, run), rows in (c, i, j) order like
    conv_kernels._columns; batch_inner: (groups, rows, m*run)."""
    m, c = planes_.shape[:2]
    cg, (d0, d1), run = c // groups, plan.dilation, plan.run
    sm, sc, s_row, s_col = planes_.strides
    view = xp.lib.stride_tricks.as_strided(
        planes_, (m, groups, cg, *kernel, run), (sm, cg * sc, sc, d0 * s_row, d1 * s_col, s_col))
    rows = cg * kernel[0] * kernel[1]
    if batch_inner:
        return view.transpose(1, 2, 3, 4, 0, 5).reshape(groups, rows, m * run)
    return view.reshape(m, groups, rows, run)


def drop_junk(wide, out, plan, out_hw):
    """out (m, groups, O/groups, OH*OW) = the wide GEMM result (m, groups, O/groups, OH*plane_w) without its junk
    columns."""
    (oh, ow), plane_w = out_hw, plan.plane_hw[1]
    out.reshape(out.shape[:3] + (oh, ow))[...] = wide.reshape(wide.shape[:3] + (oh, plane_w))[..., :ow]


def widen(xp, g, plan, batch_inner=False):
    """An output gradient block (m, groups, O/groups, OH, OW) at the wide columns' width, zero in the junk columns:
    (m, groups, O/groups, OH*plane_w), or with batch_inner (groups, O/groups, m*OH*plane_w)."""
    m, groups, og, oh, ow = g.shape
    plane_w = plan.plane_hw[1]
    if batch_inner:
        out = xp.zeros((groups, og, m, oh, plane_w), g.dtype)
        out[..., :ow] = g.transpose(1, 2, 0, 3, 4)
        return out.reshape(groups, og, m * oh * plane_w)
    out = xp.zeros((m, groups, og, oh, plane_w), g.dtype)
    out[..., :ow] = g
    return out.reshape(m, groups, og, oh * plane_w)
