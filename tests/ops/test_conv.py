"""conv1d/conv2d/conv_transpose1d/conv_transpose2d against PyTorch: forward and input/weight/bias gradients over a
grid of options in float32 and float64, realistic shapes (several batch blocks), double backward, dtype rules,
and the typed errors."""
import itertools

import numpy as np
import pytest

import eagerlab as el
from eagerlab.errors import DTypeError, ShapeError
from eagerlab.ops import conv_kernels as conv_module

torch = pytest.importorskip("torch")
F = torch.nn.functional
OPS = {"conv1d": (el.conv1d, F.conv1d), "conv2d": (el.conv2d, F.conv2d),
       "conv_transpose1d": (el.conv_transpose1d, F.conv_transpose1d),
       "conv_transpose2d": (el.conv_transpose2d, F.conv_transpose2d)}
TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=2e-4, atol=2e-4)}


def _compare(name, x, w, b, dtype, **kw):
    """Forward and the gradients of <out, random seed> for input, weight and bias, against torch."""
    ours, theirs = OPS[name]
    arrays = [a.astype(dtype) for a in (x, w) + (() if b is None else (b,))]
    leaves = [el.tensor(a, requires_grad=True) for a in arrays]
    tleaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = ours(*leaves, **kw)
    tout = theirs(*tleaves, **kw)
    assert tuple(out.shape) == tuple(tout.shape) and out.dtype is el.as_dtype(dtype)
    scale = np.abs(tout.detach().numpy()).max(initial=1.0)  # float32 sums of many products: compare relative to size
    np.testing.assert_allclose(out.detach().numpy() / scale, tout.detach().numpy() / scale, **TOL[dtype])
    seed = np.random.default_rng(1).standard_normal(tuple(tout.shape)).astype(dtype)
    out.backward(el.tensor(seed))
    tout.backward(torch.tensor(seed))
    for a, t in zip(leaves, tleaves):
        assert a.grad.dtype is el.as_dtype(dtype)
        scale = np.abs(t.grad.numpy()).max(initial=1.0)
        np.testing.assert_allclose(a.grad.numpy() / scale, t.grad.numpy() / scale, **TOL[dtype])


def _conv2d_grid():
    for stride, padding, dilation, groups, bias in itertools.product(
            (1, 2, (2, 1)), (0, 1, (2, 0), "same", "valid"), (1, 2, (1, 3)), (1, 3), (True, False)):
        if padding == "same" and stride != 1:
            continue
        yield dict(stride=stride, padding=padding, dilation=dilation, groups=groups), bias


@pytest.mark.parametrize("kw,bias", list(_conv2d_grid()))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv2d_matches_torch(kw, bias, dtype, rng):
    x = rng.standard_normal((3, 6, 11, 10))
    w = rng.standard_normal((9, 6 // kw["groups"], 3, 2))
    _compare("conv2d", x, w, rng.standard_normal(9) if bias else None, dtype, **kw)


@pytest.mark.parametrize("stride,padding,dilation,groups", [
    (1, 0, 1, 1), (2, 1, 1, 1), (3, 2, 2, 1), (1, "same", 2, 2), (1, "same", 1, 4), (2, "valid", 1, 2), (1, 3, 3, 4)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv1d_matches_torch(stride, padding, dilation, groups, dtype, rng):
    x, w = rng.standard_normal((4, 8, 20)), rng.standard_normal((12, 8 // groups, 4))
    _compare("conv1d", x, w, rng.standard_normal(12), dtype, stride=stride, padding=padding, dilation=dilation,
             groups=groups)


def _transpose_grid():
    for stride, padding, extra, dilation, groups in itertools.product((1, 2, 3), (0, 1, 2), (0, 1), (1, 2), (1, 2)):
        if extra < max(stride, dilation):
            yield dict(stride=stride, padding=padding, output_padding=extra, dilation=dilation, groups=groups)


@pytest.mark.parametrize("kw", list(_transpose_grid()))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv_transpose2d_matches_torch(kw, dtype, rng):
    x, w = rng.standard_normal((2, 4, 5, 6)), rng.standard_normal((4, 6 // kw["groups"], 3, 2))
    _compare("conv_transpose2d", x, w, rng.standard_normal(6), dtype, **kw)


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1, output_padding=1), dict(stride=3, dilation=2),
                                dict(groups=3, padding=2), dict(stride=2, dilation=3, output_padding=2, groups=3)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv_transpose1d_matches_torch(kw, dtype, rng):
    x, w = rng.standard_normal((3, 6, 9)), rng.standard_normal((6, 2, 4))
    _compare("conv_transpose1d", x, w, rng.standard_normal(2 * kw.get("groups", 1)), dtype, **kw)


@pytest.mark.parametrize("name,x,w,kw", [
    ("conv2d", (64, 1, 28, 28), (32, 1, 3, 3), {}),  # LeNet on MNIST
    ("conv2d", (64, 32, 26, 26), (64, 32, 3, 3), {}),  # its second layer: the batch spans many blocks
    ("conv2d", (16, 3, 32, 32), (16, 3, 5, 5), dict(stride=2, padding=2)),
    ("conv2d", (8, 16, 16, 16), (16, 1, 3, 3), dict(padding=1, groups=16)),
    ("conv1d", (16, 8, 100), (16, 8, 5), dict(padding="same")),
    ("conv_transpose2d", (16, 32, 7, 7), (32, 16, 4, 4), dict(stride=2, padding=1)),
])
def test_realistic_shapes_float32(name, x, w, kw, rng):
    c_out = w[1] if "transpose" in name else w[0]
    _compare(name, rng.standard_normal(x), rng.standard_normal(w) * 0.1, rng.standard_normal(c_out), np.float32, **kw)


@pytest.mark.parametrize("name,kw", [("conv2d", dict(stride=2, padding=1, groups=2)),
                                     ("conv_transpose2d", dict(stride=2, padding=1, output_padding=1, groups=2))])
def test_batch_blocks_one_sample_each(name, kw, rng, monkeypatch):
    """The CPU kernels walk the batch in cache-sized blocks: blocks of one sample give the same results."""
    monkeypatch.setattr(conv_module, "_BLOCK_BYTES", 1)
    _compare(name, rng.standard_normal((5, 4, 9, 8)), rng.standard_normal((4, 2, 3, 3)), rng.standard_normal(4),
             np.float64, **kw)


@pytest.mark.parametrize("form", ["folded", "per_sample"])
@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1, groups=2), dict(dilation=2, padding=(2, 0))])
def test_both_weight_gradient_forms_match_torch(form, kw, rng, monkeypatch):
    """The weight gradient is one GEMM over a block's samples or a GEMM per sample and a sum, chosen by shape:
    forced either way, both give PyTorch's gradient."""
    per_sample = form == "per_sample"
    monkeypatch.setattr(conv_module, "_PER_SAMPLE_ENTRIES", 1 << 30 if per_sample else 0)
    monkeypatch.setattr(conv_module, "_PER_SAMPLE_PIXELS", 0)
    monkeypatch.setattr(conv_module, "_BLOCK_BYTES", 4000)  # several blocks
    for dtype in (np.float64, np.float32):
        w = rng.standard_normal((6, 4 // kw.get("groups", 1), 3, 3))
        _compare("conv2d", rng.standard_normal((6, 4, 12, 11)), w, rng.standard_normal(6), dtype, **kw)


@pytest.mark.parametrize("wide", [True, False])
@pytest.mark.parametrize("kw,kernel", [
    (dict(), (5, 5)),
    (dict(padding=(1, 2), groups=2), (4, 3)),
    (dict(dilation=2, padding=2), (3, 3)),
    (dict(dilation=(1, 3), padding="same"), (2, 2)),  # uneven padding
    (dict(stride=2, padding=1), (4, 4)),  # strided: always the usual columns
])
def test_wide_columns_match_torch_and_the_usual_columns(wide, kw, kernel, rng, monkeypatch):
    """Wide im2col (ops/conv_wide.py) where it applies, forced on or off: PyTorch's forward and gradients."""
    from eagerlab.ops import conv_wide

    if wide:
        monkeypatch.setattr(conv_wide, "_USUAL_ROW", 1e9)  # the cost model always says it pays
    else:
        monkeypatch.setattr(conv_wide, "plan", lambda *args: None)
    used, columns = [], conv_wide.columns
    monkeypatch.setattr(conv_wide, "columns", lambda *a, **k: used.append(1) or columns(*a, **k))
    monkeypatch.setattr(conv_module, "_BLOCK_BYTES", 30000)  # several blocks
    groups = kw.get("groups", 1)
    x, w = rng.standard_normal((5, 4, 13, 12)), rng.standard_normal((4, 4 // groups, *kernel))
    for dtype in (np.float64, np.float32):
        _compare("conv2d", x, w, rng.standard_normal(4), dtype, **kw)
    assert bool(used) == (wide and "stride" not in kw)


def test_unbatched_and_empty_batch(rng):
    _compare("conv2d", rng.standard_normal((3, 7, 6)), rng.standard_normal((4, 3, 3, 3)), None, np.float64, padding=1)
    _compare("conv1d", rng.standard_normal((3, 7)), rng.standard_normal((4, 3, 3)), rng.standard_normal(4), np.float64)
    _compare("conv_transpose2d", rng.standard_normal((4, 3, 3)), rng.standard_normal((4, 2, 2, 2)), None, np.float64,
             stride=2)
    _compare("conv2d", rng.standard_normal((0, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4),
             np.float64)


def test_kernel_as_large_as_the_input_and_1x1(rng):
    _compare("conv2d", rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 4, 5)), None, np.float64)
    _compare("conv2d", rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((6, 3, 1, 1)), None, np.float64,
             stride=2)


@pytest.mark.parametrize("fold", [True, False])
@pytest.mark.parametrize("name,x,w,kw", [
    ("conv2d", (6, 4, 8, 8), (6, 4, 4, 4), dict(stride=2, padding=1)),  # dcgan's discriminator, 8x8 -> 4x4
    ("conv2d", (5, 4, 9, 7), (6, 2, 3, 2), dict(stride=2, dilation=(2, 1), groups=2)),
    ("conv2d", (5, 4, 6, 6), (6, 4, 3, 3), dict(padding=1)),  # stride 1, not wide
    ("conv_transpose2d", (6, 6, 4, 4), (6, 4, 4, 4), dict(stride=2, padding=1)),  # dcgan's generator, 4x4 -> 8x8
    ("conv_transpose2d", (5, 4, 3, 4), (4, 3, 3, 2), dict(stride=2, padding=1, output_padding=1, groups=2)),
    ("conv_transpose2d", (5, 4, 3, 3), (4, 2, 3, 3), dict(dilation=2, padding=(2, 1))),
])
def test_folded_and_per_sample_gemms_match_torch(fold, name, x, w, kw, rng, monkeypatch):
    """Small images run one GEMM for a block's samples, larger ones a GEMM per sample: forced either way, on
    several blocks, both give PyTorch's forward and gradients."""
    big = 1 << 30
    for constant in ("_FOLD_PIXELS", "_FOLD_RUN", "_FOLD_WASTE"):
        monkeypatch.setattr(conv_module, constant, big if fold else 0)
    monkeypatch.setattr(conv_module, "_BLOCK_BYTES", 3000)
    c_out = w[1] * kw.get("groups", 1) if "transpose" in name else w[0]
    for dtype in (np.float64, np.float32):
        _compare(name, rng.standard_normal(x), rng.standard_normal(w), rng.standard_normal(c_out), dtype, **kw)


@pytest.mark.parametrize("kw", [dict(), dict(padding=1), dict(stride=2, padding=(1, 0), output_padding=1),
                                dict(padding=(0, 1), groups=2), dict(stride=3, output_padding=2),
                                dict(dilation=2)])  # dilated: the usual col2im
def test_one_pixel_conv_transpose_matches_torch(kw, rng):
    """A 1x1 input (a DCGAN generator's first layer, the input gradient of a convolution down to one pixel) is one
    GEMM: padding crops, output padding adds rows no tap reaches."""
    groups = kw.get("groups", 1)
    for dtype in (np.float64, np.float32):
        _compare("conv_transpose2d", rng.standard_normal((5, 4, 1, 1)), rng.standard_normal((4, 3, 4, 3)),
                 rng.standard_normal(3 * groups), dtype, **kw)
    _compare("conv2d", rng.standard_normal((5, 4, 4, 3)), rng.standard_normal((6, 4, 4, 3)), None, np.float64)

def test_non_contiguous_input(rng):
    x = rng.standard_normal((2, 6, 7, 3))
    view = el.tensor(x).permute(0, 3, 1, 2)
    assert not view._data.flags.c_contiguous
    ours = el.conv2d(view, el.ones(2, 3, 2, 2, dtype=el.float64), padding=1)
    theirs = F.conv2d(torch.tensor(x).permute(0, 3, 1, 2), torch.ones(2, 3, 2, 2, dtype=torch.float64), padding=1)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name,x,w,kw", [
    ("conv2d", (2, 4, 6, 5), (6, 2, 3, 2), dict(stride=2, padding=1, groups=2)),
    ("conv2d", (1, 2, 5, 5), (2, 2, 2, 2), dict(padding="same", dilation=2)),
    ("conv_transpose2d", (2, 4, 3, 4), (4, 1, 3, 2), dict(stride=2, padding=1, output_padding=1, groups=2)),
])
def test_double_backward_matches_torch(name, x, w, kw, rng):
    ours, theirs = OPS[name]
    arrays = [rng.standard_normal(x), rng.standard_normal(w)]
    a, b = (el.tensor(v, requires_grad=True) for v in arrays)
    ta, tb = (torch.tensor(v, requires_grad=True) for v in arrays)
    out, tout = ours(a, b, **kw), theirs(ta, tb, **kw)
    seed = rng.standard_normal(tuple(tout.shape))
    ga, gb = el.autograd.grad([out], [a, b], [el.tensor(seed)], create_graph=True)
    tga, tgb = torch.autograd.grad(tout, (ta, tb), torch.tensor(seed), create_graph=True)
    ((ga * ga).sum() + (gb * gb * gb).sum()).backward()
    ((tga * tga).sum() + (tgb * tgb * tgb).sum()).backward()
    for o, t in ((ga, tga), (gb, tgb), (a.grad, ta.grad), (b.grad, tb.grad)):
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-9, atol=1e-10)


def test_float32_stays_float32(rng):
    x = el.tensor(rng.standard_normal((4, 3, 8, 8)).astype(np.float32), requires_grad=True)
    w = el.tensor(rng.standard_normal((5, 3, 3, 3)).astype(np.float32), requires_grad=True)
    b = el.tensor(rng.standard_normal(5).astype(np.float32), requires_grad=True)
    for y in (el.conv2d(x, w, b, padding=1), el.conv_transpose2d(el.conv2d(x, w, b), w.detach())):
        assert y.dtype is el.float32
    y = el.conv2d(x, w, b, stride=2, padding="valid")
    gx, gw, gb = el.autograd.grad([(y * y).sum()], [x, w, b], create_graph=True)
    assert gx.dtype is gw.dtype is gb.dtype is el.float32
    gx.sum().backward()
    assert w.grad.dtype is el.float32


def test_conv2d_backward_uses_the_conv_family(rng):
    x = el.tensor(rng.standard_normal((2, 3, 5, 5)), requires_grad=True)
    w = el.tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    y = el.conv2d(x, w)
    assert y.grad_fn.name() == "Conv2DBackward0"
    gx, gw = el.autograd.grad([y.sum()], [x, w], create_graph=True)
    assert gx.grad_fn.name() == "ConvTranspose2DBackward0" and gw.grad_fn.name() == "Conv2DWeightGradBackward0"


# ---- errors ----------------------------------------------------------------------------------------------------
def _t(shape, dtype=np.float32):
    return el.tensor(np.zeros(shape, dtype))


@pytest.mark.parametrize("call,exc,parts", [
    (lambda: el.conv2d(_t((8, 4, 32, 32)), _t((16, 3, 5, 5))), ShapeError,
     ["conv2d: expected input with 3 channels (weight (16, 3, 5, 5), groups=1), got input (8, 4, 32, 32)"]),
    (lambda: el.conv2d(_t((2, 8, 3, 32, 32)), _t((16, 3, 5, 5))), ShapeError,
     ["conv2d", "3-D (unbatched) or 4-D (batched) input", "(2, 8, 3, 32, 32)"]),
    (lambda: el.conv2d(_t((8, 3, 32, 32)), _t((16, 3, 5))), ShapeError, ["conv2d", "4-D weight", "(16, 3, 5)"]),
    (lambda: el.conv1d(_t((8, 3, 32, 32)), _t((16, 3, 5))), ShapeError, ["conv1d", "(8, 3, 32, 32)"]),
    (lambda: el.conv2d(_t((2, 6, 8, 8)), _t((6, 3, 3, 3)), groups=4), ShapeError,
     ["conv2d", "input channels 6", "groups=4"]),
    (lambda: el.conv2d(_t((2, 6, 8, 8)), _t((5, 3, 3, 3)), groups=2), ShapeError,
     ["conv2d", "out_channels 5", "(5, 3, 3, 3)", "groups=2"]),
    (lambda: el.conv_transpose2d(_t((2, 6, 8, 8)), _t((6, 3, 3, 3)), groups=4), ShapeError,
     ["conv_transpose2d", "input channels 6", "groups=4"]),
    (lambda: el.conv_transpose2d(_t((2, 5, 8, 8)), _t((6, 3, 3, 3))), ShapeError,
     ["conv_transpose2d: expected input with 6 channels", "(2, 5, 8, 8)"]),
    (lambda: el.conv2d(_t((1, 3, 4, 4)), _t((2, 3, 5, 5))), ShapeError,
     ["conv2d", "kernel (5, 5)", "padded input (4, 4)", "(1, 3, 4, 4)"]),
    (lambda: el.conv2d(_t((1, 3, 4, 4)), _t((2, 3, 3, 3)), dilation=2), ShapeError, ["conv2d", "dilation (2, 2)"]),
    (lambda: el.conv2d(_t((1, 3, 4, 4)), _t((2, 3, 3, 3)), _t(3)), ShapeError,
     ["conv2d", "bias of shape (2,)", "(3,)"]),
    (lambda: el.conv2d(_t((1, 3, 8, 8)), _t((2, 3, 3, 3)), stride=0), ValueError, ["conv2d", "stride", "positive"]),
    (lambda: el.conv2d(_t((1, 3, 8, 8)), _t((2, 3, 3, 3)), dilation=(1, -1)), ValueError, ["conv2d", "dilation"]),
    (lambda: el.conv2d(_t((1, 3, 8, 8)), _t((2, 3, 3, 3)), padding=-1), ValueError, ["conv2d", "padding"]),
    (lambda: el.conv2d(_t((1, 3, 8, 8)), _t((2, 3, 3, 3)), stride=(1, 2, 3)), TypeError, ["conv2d", "stride"]),
    (lambda: el.conv2d(_t((1, 3, 8, 8)), _t((2, 3, 3, 3)), groups=0), ValueError, ["conv2d", "groups"]),
    (lambda: el.conv2d(_t((1, 3, 8, 8)), _t((2, 3, 3, 3)), stride=2, padding="same"), ValueError,
     ["conv2d", "padding='same'", "strided"]),
    (lambda: el.conv1d(_t((1, 3, 8)), _t((2, 3, 3)), padding="full"), ValueError, ["conv1d", "'full'"]),
    (lambda: el.conv2d(_t((1, 3, 8, 8)), _t((2, 3, 3, 3), np.float64)), DTypeError,
     ["conv2d", "same dtype", "float32 input (1, 3, 8, 8)", "float64 weight (2, 3, 3, 3)"]),
    (lambda: el.conv2d(_t((1, 3, 8, 8)), _t((2, 3, 3, 3)), _t(2, np.float64)), DTypeError, ["conv2d", "bias"]),
    (lambda: el.conv2d(_t((1, 3, 8, 8), np.int64), _t((2, 3, 3, 3), np.int64)), DTypeError,
     ["conv2d", "floating-point", "int64 input (1, 3, 8, 8)"]),
    (lambda: el.conv2d(np.zeros((1, 3, 8, 8)), _t((2, 3, 3, 3))), TypeError, ["conv2d", "input must be a Tensor"]),
    (lambda: el.conv_transpose2d(_t((1, 3, 4, 4)), _t((3, 2, 3, 3)), stride=2, output_padding=2), ValueError,
     ["conv_transpose2d", "output_padding (2, 2)", "stride (2, 2)", "dilation (1, 1)"]),
    (lambda: el.conv_transpose2d(_t((1, 3, 1, 1)), _t((3, 2, 2, 2)), padding=1), ShapeError,
     ["conv_transpose2d", "output size (0, 0)", "(1, 3, 1, 1)"]),
    (lambda: el.conv_transpose1d(_t((1, 3, 4)), _t((3, 2, 2)), padding="same"), TypeError,
     ["conv_transpose1d", "padding"]),
])
def test_errors_are_typed_and_name_op_and_shapes(call, exc, parts):
    with pytest.raises(exc) as info:
        call()
    for p in parts:
        assert p in str(info.value), (p, str(info.value))
