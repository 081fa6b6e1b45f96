"""The convolution kernels on raw arrays (numpy or cupy, the `xp` they are given): im2col + GEMM for conv2d, GEMM +
col2im for conv_transpose2d, and the weight gradient; ops/conv.py binds them as primitives. On the CPU the batch
goes through in cache-sized blocks, on several threads where that pays (backend/parallel.py).

Padding is ((top, bottom), (left, right)) and always exact (see ops/conv.py): bottom/right may be negative.
"""
import numpy as np

from ..backend.blas import matmul as gemm
from ..backend.parallel import map_blocks
from . import conv_wide

# CPU: the batch goes through in blocks whose column matrix fits a core's L2 cache (measured: 2 MB blocks run the
# LeNet-sized conv's forward+backward ~25% faster than 8 MB blocks, and a whole 40 MB batch is slower still), and
# in at least _MIN_BLOCKS blocks, so that the blocks can run on several threads (backend/parallel.py)
_BLOCK_BYTES = 2 << 20
_MIN_BLOCKS = 4
# Small images fold the block's samples into one GEMM instead of one GEMM per sample: OpenBLAS runs a (128, 1024) @
# (1024, 16) product at ~75 GFLOP/s and (128, 1024) @ (1024, 256) at ~97 (one thread, 2-core AMD EPYC), while at
# 64 pixels the two forms are level and the folded one pays a transposing copy. Measured on dcgan's 4x4 layers
# (conv 64 -> 128 channels, 8x8 -> 4x4, batch 64, two threads): forward 2.45 -> 2.16 ms, input gradient 3.77 ->
# 3.23 ms; at 8x8 and above no change. The forward folds at most _FOLD_PIXELS output pixels; col2im at most
# _FOLD_RUN columns per sample, computing up to _FOLD_WASTE times as many (its zero tails, see _col2im).
_FOLD_PIXELS = 32
_FOLD_RUN = 32
_FOLD_WASTE = 2


def out_size(n, k, s, d, pads):
    """conv output length: windows spanning d*(k-1)+1 positions, every s positions, over the padded length."""
    return (n + pads[0] + pads[1] - d * (k - 1) - 1) // s + 1


def in_size(m, k, s, d, pads):
    """conv_transpose output length: the padded length m windows span, less the (exact) padding."""
    return (m - 1) * s + d * (k - 1) + 1 - pads[0] - pads[1]


# ---- kernels on raw arrays ----------------------------------------------------------------------------------
def _blocks(xp, n, bytes_per_sample):
    if xp is not np:  # a GPU wants one GEMM
        return [(0, n)] if n else []
    step = max(1, min(_BLOCK_BYTES // max(bytes_per_sample, 1), -(-n // _MIN_BLOCKS)))
    return [(lo, min(lo + step, n)) for lo in range(0, n, step)]


def _each_block(xp, n, bytes_per_sample, macs_per_sample, kernel):
    """kernel(lo, hi) over the batch's blocks, in order; on several threads where that pays (a GPU has one block)."""
    return map_blocks(kernel, _blocks(xp, n, bytes_per_sample), macs_per_sample * n)


def _padded_hw(x, padding):
    return tuple(x.shape[2 + i] + padding[i][0] + padding[i][1] for i in (0, 1))


def _pad(xp, x, padding):
    """x zero-padded by ((top, bottom), (left, right)); a negative bottom/right crops."""
    (t, b), (l, r) = padding
    n, c, h, w = x.shape
    hp, wp = h + t + b, w + l + r
    if t == l == 0 and b <= 0 and r <= 0:
        return x[:, :, :hp, :wp]
    out = xp.zeros((n, c, hp, wp), x.dtype)
    hs, ws = min(h, hp - t), min(w, wp - l)
    out[:, :, t:t + hs, l:l + ws] = x[:, :, :hs, :ws]
    return out


def _columns(xp, x, groups, kernel, out_hw, stride, dilation, batch_inner=False):
    """im2col of a padded block x (m, C, Hp, Wp): (m, groups, C/groups*kh*kw, OH*OW), row (c, i, j) holding tap
    (i, j) of channel c for every output pixel. Batch-major, so no GEMM operand or result needs transposing.
    batch_inner: (groups, C/groups*kh*kw, m*OH*OW) instead, the batch folded into the columns (the same one copy)."""
    m, c = x.shape[:2]
    s0, s1, s2, s3 = x.strides
    cg = c // groups
    view = xp.lib.stride_tricks.as_strided(
        x, (m, groups, cg, *kernel, *out_hw),
        (s0, cg * s1, s1, dilation[0] * s2, dilation[1] * s3, stride[0] * s2, stride[1] * s3))
    rows, pixels = cg * kernel[0] * kernel[1], out_hw[0] * out_hw[1]
    if batch_inner:
        return view.transpose(1, 2, 3, 4, 0, 5, 6).reshape(groups, rows, m * pixels)
    return view.reshape(m, groups, rows, pixels)


def conv2d_kernel(xp, x, w, b=None, *, stride, padding, dilation, groups):
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    oh, ow = (out_size(x.shape[2 + i], w.shape[2 + i], stride[i], dilation[i], padding[i]) for i in (0, 1))
    out = xp.empty((n, groups, o // groups, oh * ow), x.dtype)
    wg = w.reshape(groups, o // groups, -1)

    bias = None if b is None else b.reshape(groups, o // groups, 1)
    wide = conv_wide.plan(xp, x.shape[1], o // groups, groups, (kh, kw), (oh, ow), _padded_hw(x, padding), stride,
                          dilation)

    fold = wide is None and oh * ow <= _FOLD_PIXELS

    def block(lo, hi):
        x_block = _pad(xp, x[lo:hi], padding)
        if fold:
            cols = _columns(xp, x_block, groups, (kh, kw), (oh, ow), stride, dilation, batch_inner=True)
            out[lo:hi] = gemm(xp, wg, cols).reshape(groups, o // groups, hi - lo, oh * ow).transpose(2, 0, 1, 3)
        elif wide is None:
            gemm(xp, wg, _columns(xp, x_block, groups, (kh, kw), (oh, ow), stride, dilation), out=out[lo:hi])
        else:
            cols = conv_wide.columns(xp, conv_wide.planes(xp, x_block, wide), wide, groups, (kh, kw))
            conv_wide.drop_junk(gemm(xp, wg, cols), out[lo:hi], wide, (oh, ow))
        if bias is not None:  # while the block's output is in cache, and on the block's thread
            out[lo:hi] += bias

    _each_block(xp, n, w[0].size * groups * oh * ow * x.itemsize, w.size * oh * ow, block)
    return out.reshape(n, o, oh, ow)


def _phases(k, d, s, lo, n):
    """The col2im geometry of one spatial dim, in phases. Output position y = i*d - lo + o*s of tap i and input
    position o falls in phase r = (i*d - lo) mod s, at index q = base_i + o of that phase's grid (y = r + q*s), so
    within a phase every tap's contribution is a contiguous shift of the m inputs. Returns (spread, phases): for
    each phase r holding at least one tap (r, its grid length len(range(r, n, s)), the lowest base, {tap: base});
    spread is the widest base range of any phase."""
    found = {}
    for i in range(k):
        r, base = (i * d - lo) % s, (i * d - lo) // s
        found.setdefault(r, {})[i] = base
    phases = [(r, len(range(r, n, s)), min(taps.values()), taps) for r, taps in sorted(found.items())]
    return max(max(taps.values()) - low for _, _, low, taps in phases), phases


def conv_transpose2d_kernel(xp, g, w, b=None, *, stride, padding, dilation, groups):
    n, o, oh, ow = g.shape
    _, cg, kh, kw = w.shape
    h, wd = (in_size(g.shape[2 + i], w.shape[2 + i], stride[i], dilation[i], padding[i]) for i in (0, 1))
    # columns come out tap-major, (kh, kw, C/groups) per group, so each tap's add reads one contiguous run per sample
    # (~30% faster col2im than channel-major)
    if oh == ow == 1 and dilation == (1, 1):
        out = _one_pixel_col2im(xp, g, w, (h, wd), padding, groups)
    else:
        wt = w.reshape(groups, o // groups, cg, kh * kw).transpose(0, 3, 2, 1).reshape(groups, kh * kw * cg,
                                                                                       o // groups)
        out = _col2im(xp, g, wt, (kh, kw), (h, wd), stride, padding, dilation, groups)
    if b is not None:
        out += b.reshape(-1, 1, 1)
    return out


def _one_pixel_col2im(xp, g, w, out_hw, padding, groups):
    """col2im of a 1x1 input (a DCGAN generator's first layer, the input gradient of a convolution down to one
    pixel): no two taps overlap, so the output is one GEMM, g (n, O) @ w (O, C*kh*kw) per group, less the padding.
    Run as col2im it was one matrix-vector product per sample and an add per tap (4x PyTorch's time)."""
    n, o = g.shape[:2]
    _, cg, kh, kw = w.shape
    og, (h, wd), ((t, _), (l, _)) = o // groups, out_hw, padding
    taps = gemm(xp, g.reshape(n, groups, 1, og), w.reshape(groups, og, cg * kh * kw))
    taps = taps.reshape(n, groups * cg, kh, kw)[:, :, t:t + h, l:l + wd]
    if taps.shape[2:] == (h, wd):
        return xp.ascontiguousarray(taps)
    out = xp.zeros((n, groups * cg, h, wd), g.dtype)  # a negative bottom/right padding: rows no tap reaches
    out[:, :, :taps.shape[2], :taps.shape[3]] = taps
    return out


def _col2im(xp, g, wt, kernel, out_hw, stride, padding, dilation, groups):
    """The GEMM back to columns, then col2im phase by phase (_phases; a stride-1 conv has one phase).

    Every tap's add is one long contiguous run over the whole block: the GEMM's input rows are laid out `wide`
    (ow + spread columns, the extra ones zero) and its output rows `long` (a phase buffer's whole height times that
    width, the tail zero), and the columns come out tap-major, (tap, channel, sample, long row) per group, so that a
    phase's buffer, (channel, sample, long row), takes tap (i, j)'s contribution as the tap's rows shifted by its
    bases' offset, across all channels and samples at once: the zero tails absorb the shift (offset <= long - run).
    For small images that is several times faster than one short add per image row, and tap-major rather than
    sample-major columns make one add per tap instead of one per tap and sample (LeNet's second conv, 16 samples:
    358 -> 210 us a block). Each phase's part inside its grid is then copied to the output, at stride s."""
    n, o, oh, ow = g.shape
    (kh, kw), (h, wd), og = kernel, out_hw, o // groups
    cg = wt.shape[1] // (kh * kw)
    spread_h, rows = _phases(kh, dilation[0], stride[0], padding[0][0], h)
    spread_w, cols_ = _phases(kw, dilation[1], stride[1], padding[1][0], wd)
    wide_w = ow + spread_w
    height = spread_h + oh
    run, long = (oh - 1) * wide_w + ow, height * wide_w

    def covers(phases, count, extent):
        return ({r for r, length, _, _ in phases if length} == set(range(count))
                and all(low <= 0 and low + extent >= length for _, length, low, _ in phases))

    # the output needs zeroing first unless the phases' buffers cover every position (some rows or columns are
    # reached by no tap: dilated or strided kernels, or strided convs' trimmed rows)
    covered = covers(rows, min(stride[0], h), height) and covers(cols_, min(stride[1], wd), wide_w)
    out = (xp.empty if covered else xp.zeros)((n, cg * groups, h, wd), g.dtype)
    # small images: one GEMM for the block, its input laid out (og, sample, long row) with zero tails, so that it
    # computes the columns' zero tails too instead of a memset (up to _FOLD_WASTE times the work)
    fold = run <= _FOLD_RUN and long <= _FOLD_WASTE * run

    def block(lo, hi):
        m = hi - lo
        if fold:
            wide = xp.zeros((groups, og, m, height, wide_w), g.dtype)
            wide[..., :oh, :ow] = g[lo:hi].reshape(m, groups, og, oh, ow).transpose(1, 2, 0, 3, 4)
            cols = gemm(xp, wt, wide.reshape(groups, og, m * long))
        else:
            wide = xp.zeros((m, o, oh, wide_w), g.dtype)
            wide[..., :ow] = g[lo:hi]
            cols = xp.zeros((groups, kh * kw * cg, m, long), g.dtype)  # one memset: cheaper than zeroing the tails
            # the GEMM writes each sample's rows straight into the tap-major layout (a strided `out`)
            gemm(xp, wt, wide.reshape(m, groups, og, oh * wide_w)[..., :run],
                 out=cols.transpose(2, 0, 1, 3)[..., :run])
        run_all = cg * m * long  # one tap's rows over every channel and sample of a group
        cols = cols.reshape(groups, kh, kw, run_all)
        dest = out[lo:hi]
        for r_h, len_h, low_h, taps_h in rows:
            for r_w, len_w, low_w, taps_w in cols_:
                if not len_h or not len_w:
                    continue
                flat = xp.zeros((groups, run_all), g.dtype)
                for i, base_i in taps_h.items():
                    for j, base_j in taps_w.items():
                        shift = (base_i - low_h) * wide_w + base_j - low_w
                        flat[:, shift:] += cols[:, i, j, :run_all - shift]
                # the phase grid's index q in [0, len) is the buffer's row/column q - low
                top, left = max(0, -low_h), max(0, -low_w)
                bottom, right = min(height, len_h - low_h), min(wide_w, len_w - low_w)
                if bottom > top and right > left:
                    phase = flat.reshape(groups, cg, m, height, wide_w).transpose(2, 0, 1, 3, 4)
                    dest[:, :, r_h + (low_h + top) * stride[0]::stride[0], r_w + (low_w + left) * stride[1]::stride[1]][
                        :, :, :bottom - top, :right - left] = \
                        phase.reshape(m, groups * cg, height, wide_w)[:, :, top:bottom, left:right]

    _each_block(xp, n, wt.shape[1] * groups * long * g.itemsize, wt.size * groups * run, block)
    return out


# below this many weight-gradient entries per group (C/groups*kh*kw * O/groups), with at least _PER_SAMPLE_PIXELS
# output pixels, the weight gradient is one GEMM per sample and a sum (see weight_grad_kernel)
_PER_SAMPLE_ENTRIES = 1024
_PER_SAMPLE_PIXELS = 64


def weight_grad_kernel(xp, x, g, *, kernel, stride, padding, dilation, groups):
    n, o, oh, ow = g.shape
    c = x.shape[1]
    og, kg = o // groups, c // groups * kernel[0] * kernel[1]
    # Two forms, chosen by shape (measured on one OpenBLAS thread, 2-core AMD EPYC):
    # - one GEMM per block and group, the block's samples folded into the contraction, columns (kg, m*OH*OW) @
    #   grad_out^T: the faster for larger gradients (288x64 at 24x24 pixels, the MNIST CNN's second conv: 4.0 vs
    #   4.6 ms a 16-sample block), and the only sane one for small images, where per-sample GEMMs degenerate into
    #   outer products; it is also ~20% faster in OpenBLAS than grad_out @ columns^T;
    # - a GEMM per sample and a sum over the block's samples, where the gradient is small and the images are not:
    #   OpenBLAS runs a contraction over tens of thousands of entries into a tiny result at a third of its speed,
    #   and such calls do not overlap on two threads (LeNet's first conv, 25x6 at 28x28: 45 vs 133 us a block;
    #   the MNIST CNN's first, 9x32 at 26x26: 72 vs 252 us).
    per_sample = kg * og <= _PER_SAMPLE_ENTRIES and oh * ow >= _PER_SAMPLE_PIXELS
    gw_t = xp.zeros((groups, kg, og), g.dtype)
    wide = conv_wide.plan(xp, c, og, groups, kernel, (oh, ow), _padded_hw(x, padding), stride, dilation)

    def block(lo, hi):
        m, x_block = hi - lo, _pad(xp, x[lo:hi], padding)
        if wide is not None:  # both operands at the wide columns' width, the output gradient zero in the junk
            cols = conv_wide.columns(xp, conv_wide.planes(xp, x_block, wide), wide, groups, kernel, not per_sample)
            gb = conv_wide.widen(xp, g[lo:hi].reshape(m, groups, og, oh, ow), wide, not per_sample)
        else:
            cols = _columns(xp, x_block, groups, kernel, (oh, ow), stride, dilation, batch_inner=not per_sample)
            gb = g[lo:hi].reshape(m, groups, og, oh * ow)
            if not per_sample:
                gb = gb.transpose(1, 2, 0, 3).reshape(groups, og, -1)
        if per_sample:
            return gemm(xp, cols, gb.transpose(0, 1, 3, 2)).sum(axis=0)
        return gemm(xp, cols, gb.transpose(0, 2, 1))

    for part in _each_block(xp, n, kg * groups * oh * ow * x.itemsize, kg * o * oh * ow, block):
        gw_t += part  # in block order, so the sum's bits do not depend on the thread count
    return xp.ascontiguousarray(gw_t.transpose(0, 2, 1)).reshape(o, c // groups, *kernel)
