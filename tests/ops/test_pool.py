"""Pooling against torch.nn.functional: every option combination in float32 and float64 (values, indices, input
gradients), realistic shapes, ties, NaN and -inf, integer inputs, double backward, and the typed errors."""
import itertools

import numpy as np
import pytest

import eagerlab as el
from eagerlab.errors import DTypeError, ShapeError

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-5, atol=1e-5)}


def _run(name, x, *args, seed=1, grad=True, **kw):
    """Call the op on both libraries with x as a differentiable leaf (when float and grad); backward a random
    cotangent. Returns [(ours, theirs)] for every output and, when differentiable, the input gradient."""
    grad = grad and x.dtype.kind == "f"
    ours_x, theirs_x = el.tensor(x, requires_grad=grad), torch.tensor(x, requires_grad=grad)
    ours, theirs = getattr(el, name)(ours_x, *args, **kw), getattr(F, name)(theirs_x, *args, **kw)
    ours, theirs = (ours, theirs) if isinstance(theirs, tuple) else ((ours,), (theirs,))
    pairs = [(o.detach().numpy(), t.detach().numpy()) for o, t in zip(ours, theirs)]
    if grad and theirs[0].numel():
        cot = np.random.default_rng(seed).standard_normal(tuple(theirs[0].shape)).astype(x.dtype)
        ours[0].backward(el.tensor(cot))
        theirs[0].backward(torch.tensor(cot))
        pairs.append((ours_x.grad.numpy(), theirs_x.grad.numpy()))
    return pairs


def _check(name, x, *args, grad=True, **kw):
    """Both raise (any error: the combination is invalid in PyTorch too), or agree on shape, dtype and values
    (and the input gradient, unless grad=False)."""
    try:
        getattr(F, name)(torch.tensor(x), *args, **kw)
    except RuntimeError:
        with pytest.raises((ValueError, ShapeError)):
            getattr(el, name)(el.tensor(x), *args, **kw)
        return
    for got, want in _run(name, x, *args, grad=grad, **kw):
        assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, want.shape, got.dtype, want.dtype)
        if got.dtype.kind == "f":
            np.testing.assert_allclose(got, want, **TOL[got.dtype.type])
        else:
            np.testing.assert_array_equal(got, want)


def _distinct(rng, shape, dtype):
    """Random values with no two equal in a plane (ties get their own tests)."""
    planes = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    x = np.stack([rng.permutation(int(np.prod(shape[-2:]))) for _ in range(planes)]).reshape(shape)
    return (x / 7.0 - 3.0).astype(dtype)


DTYPES = [np.float64, np.float32]

# ---- max_pool over an option grid ------------------------------------------------------------------------------
MAX2D = list(itertools.product([2, 3, (2, 3)], [None, 1, 2, (1, 2)], [0, 1, (1, 0)], [1, 2], [False, True]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode", MAX2D)
def test_max_pool2d_grid(kernel, stride, padding, dilation, ceil_mode, dtype, rng):
    x = _distinct(rng, (2, 3, 9, 8), dtype)
    _check("max_pool2d", x, kernel, stride, padding, dilation, ceil_mode, return_indices=True)
    _check("max_pool2d", -x, kernel, stride, padding, dilation, ceil_mode, grad=False)  # the values-only kernel


MAX1D = list(itertools.product([1, 3, 4], [None, 1, 3], [0, 1, 2], [1, 3], [False, True]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode", MAX1D)
def test_max_pool1d_grid(kernel, stride, padding, dilation, ceil_mode, dtype, rng):
    x = _distinct(rng, (2, 3, 1, 11), dtype)[:, :, 0]
    _check("max_pool1d", x, kernel, stride, padding, dilation, ceil_mode, return_indices=True)


# ---- avg_pool over an option grid ------------------------------------------------------------------------------
AVG2D = list(itertools.product([2, 3, (3, 2)], [None, 1, (2, 1)], [0, 1], [False, True], [True, False],
                               [None, 5, -2]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel,stride,padding,ceil_mode,count_include_pad,divisor", AVG2D)
def test_avg_pool2d_grid(kernel, stride, padding, ceil_mode, count_include_pad, divisor, dtype, rng):
    x = rng.standard_normal((2, 3, 8, 7)).astype(dtype)
    _check("avg_pool2d", x, kernel, stride, padding, ceil_mode, count_include_pad, divisor)


AVG1D = list(itertools.product([1, 3, 4], [None, 2, 3], [0, 1, 2], [False, True], [True, False]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel,stride,padding,ceil_mode,count_include_pad", AVG1D)
def test_avg_pool1d_grid(kernel, stride, padding, ceil_mode, count_include_pad, dtype, rng):
    x = rng.standard_normal((2, 3, 10)).astype(dtype)
    _check("avg_pool1d", x, kernel, stride, padding, ceil_mode, count_include_pad)


# ---- adaptive pooling --------------------------------------------------------------------------------------------
ADAPTIVE_IN = [(5, 7), (8, 8), (3, 4), (1, 6)]
ADAPTIVE_OUT = [1, 2, 3, (None, 3), (4, 5), (7, 9), (2, None), (0, 3)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size,out", list(itertools.product(ADAPTIVE_IN, ADAPTIVE_OUT)))
def test_adaptive_pool2d(size, out, dtype, rng):
    x = _distinct(rng, (2, 3) + size, dtype)
    _check("adaptive_avg_pool2d", x, out)
    _check("adaptive_max_pool2d", x, out, return_indices=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("length,out", list(itertools.product([1, 5, 8, 13], [1, 2, 3, 5, 8, 20])))
def test_adaptive_pool1d(length, out, dtype, rng):
    x = _distinct(rng, (2, 3, 1, length), dtype)[:, :, 0]
    _check("adaptive_avg_pool1d", x, out)
    _check("adaptive_max_pool1d", x, out, return_indices=True)


# ---- realistic shapes ---------------------------------------------------------------------------------------------
REALISTIC = [("max_pool2d", (64, 32, 24, 24), (2,), {}), ("max_pool2d", (64, 64, 12, 12), (2,), {}),
             ("max_pool2d", (8, 64, 56, 56), (3, 2, 1), {}),
             ("max_pool2d", (16, 16, 28, 28), (2,), {"ceil_mode": True}),
             ("avg_pool2d", (64, 32, 24, 24), (2,), {}), ("avg_pool2d", (8, 64, 56, 56), (3, 2, 1), {}),
             ("avg_pool2d", (8, 32, 17, 17), (3, 1, 1), {"count_include_pad": False}),
             ("avg_pool2d", (8, 32, 5, 4), ((2, 4),), {}), ("adaptive_avg_pool1d", (8, 32, 50), (1,), {}),
             ("adaptive_avg_pool2d", (16, 512, 7, 7), (1,), {}),
             ("adaptive_avg_pool2d", (8, 64, 15, 15), ((7, 6),), {}),
             ("adaptive_max_pool2d", (8, 64, 15, 15), (4,), {}), ("max_pool1d", (32, 64, 100), (3, 2, 1), {}),
             ("avg_pool1d", (32, 64, 100), (4,), {})]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,shape,args,kw", REALISTIC, ids=[f"{c[0]}-{c[1]}" for c in REALISTIC])
def test_realistic_shapes_match_torch(name, shape, args, kw, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    if name.startswith(("max", "adaptive_max")):
        kw = dict(kw, return_indices=True)
    _check(name, x, *args, **kw)


@pytest.mark.parametrize("name,args,kw", [("max_pool2d", ([2, 3],), {"stride": []}),
                                          ("max_pool2d", ((2,),), {"stride": (1,), "padding": [1]}),
                                          ("avg_pool2d", (np.int64(3),), {"stride": np.int32(2), "padding": (1, 0)}),
                                          ("max_pool1d", ([3],), {"stride": [2], "dilation": (2,)}),
                                          ("adaptive_avg_pool2d", ([3, None],), {}),
                                          ("adaptive_max_pool2d", ([3, 4],), {"return_indices": True})])
def test_argument_forms(name, args, kw, rng):
    """Lists, 1-tuples broadcast to every axis, numpy ints, stride=[] meaning the kernel size: as PyTorch takes them."""
    x = _distinct(rng, (2, 3, 8, 9), np.float64)
    _check(name, x.reshape(2, 3, 72) if name.endswith("1d") else x, *args, **kw)


@pytest.mark.parametrize("name,args", [("avg_pool2d", (1, 1, 0, False, True, 2)), ("avg_pool1d", (1,)),
                                       ("max_pool2d", (1,)), ("adaptive_avg_pool2d", ((4, 5),)),
                                       ("adaptive_max_pool2d", ((4, 5),))])
def test_the_input_is_never_modified(name, args, rng):
    """1x1 windows make the sum the input itself: it must still be a new array (the divisor is applied in place)."""
    x = rng.standard_normal((2, 3, 4, 5))
    x = x.reshape(2, 3, 20) if name.endswith("1d") else x
    before = x.copy()
    t = el.tensor(x, requires_grad=True)
    out = getattr(el, name)(t, *args)
    out.backward(el.ones_like(out))
    np.testing.assert_array_equal(t.detach().numpy(), before)
    _check(name, x, *args)


def test_float32_stays_float32(rng):
    x = el.tensor(rng.standard_normal((2, 3, 8, 8)).astype(np.float32), requires_grad=True)
    outs = [el.max_pool2d(x, 2), el.avg_pool2d(x, 3, 2, 1), el.adaptive_avg_pool2d(x, 3), el.adaptive_max_pool2d(x, 3)]
    assert all(o.dtype is el.float32 for o in outs)
    sum(o.sum() for o in outs).backward()
    assert x.grad.dtype is el.float32


# ---- ties, NaN, -inf, integers ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,args", [("max_pool2d", (2,)), ("max_pool2d", (3, 1, 1)), ("max_pool2d", ((2, 3), 1)),
                                       ("max_pool2d", (3, 2, 1, 2, True)), ("adaptive_max_pool2d", ((4, 3),)),
                                       ("max_pool1d", (3, 1, 1))])
def test_ties_pick_the_first_maximum(name, args, rng):
    """Plateaus and repeated values: indices and gradients go to the first maximum of each window, as in PyTorch."""
    x = rng.integers(0, 3, (2, 2, 7, 6)).astype(np.float64)
    x[0, 0] = 1.0  # one whole plane is a plateau
    if name == "max_pool1d":
        x = x.reshape(2, 2, 42)
    for got, want in _run(name, x, *args, return_indices=True):
        np.testing.assert_array_equal(got, want)


def test_nan_wins_and_the_last_nan_is_picked():
    x = np.zeros((1, 1, 5, 7))  # adaptive windows of 2 and 3 rows, 2 and 3 columns
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = x[0, 0, 3, 5] = x[0, 0, 2, 0] = x[0, 0, 2, 1] = np.nan
    x[0, 0, 2, 2] = 5.0
    for name, args in [("max_pool2d", (2,)), ("max_pool2d", (3, 1, 1)), ("max_pool2d", (4, 2, 0, 1, True)),
                       ("adaptive_max_pool2d", ((3, 4),)), ("adaptive_max_pool2d", ((2, 3),)),
                       ("adaptive_max_pool2d", (1,))]:
        ours = getattr(el, name)(el.tensor(x), *args, return_indices=True)
        theirs = getattr(F, name)(torch.tensor(x), *args, return_indices=True)
        np.testing.assert_array_equal(ours[0].numpy(), theirs[0].numpy())
        np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())


def test_all_minus_inf_windows_point_inside_the_input():
    """Padding never wins, even against -inf: indices are the first tap inside the input, as in PyTorch."""
    x = np.full((1, 2, 5, 5), -np.inf)
    for args in [(2, 2, 1), (3, 2, 1), (3, 1, 1, 2), (2, 2, 1, 1, True)]:
        ours = el.max_pool2d(el.tensor(x), *args, return_indices=True)
        theirs = F.max_pool2d(torch.tensor(x), *args, return_indices=True)
        np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8])
def test_max_pool2d_integer_inputs(dtype, rng):
    x = rng.integers(0, 100, (2, 3, 7, 7)).astype(dtype)
    x[0, 0] = np.iinfo(dtype).min  # a plane at the type's lowest value, with padding around it
    for args in [(2,), (3, 2, 1), (2, 1, 1, 2, True)]:
        _check("max_pool2d", x, *args, return_indices=True)
        _check("max_pool2d", x, *args)


def test_avg_pool_int64_truncates_toward_zero(rng):
    x = rng.integers(-50, 50, (2, 3, 7, 7))
    for args in [(2,), (3, 2, 1), (3, 2, 1, True, False), (2, 1, 0, False, True, 3), (2, 1, 1, False, True, -4)]:
        _check("avg_pool2d", x, *args)
    _check("avg_pool1d", x[:, :, 0], 3, 2, 1)


def test_max_pool1d_int_needs_return_indices_as_in_torch(rng):
    x = rng.integers(0, 9, (2, 3, 8))
    _check("max_pool1d", x, 2, return_indices=True)
    with pytest.raises(DTypeError, match=r"max_pool1d: expected a floating-point input, got int64"):
        el.max_pool1d(el.tensor(x), 2)


# ---- shapes: unbatched, empty batch ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name,shape,args", [("max_pool2d", (3, 7, 6), (2,)), ("avg_pool2d", (3, 7, 6), (3, 2, 1)),
                                             ("max_pool1d", (3, 9), (2,)), ("avg_pool1d", (3, 9), (2, 1, 1)),
                                             ("adaptive_avg_pool2d", (3, 7, 6), ((3, 4),)),
                                             ("adaptive_max_pool1d", (3, 9), (4,)),
                                             ("max_pool2d", (0, 3, 7, 6), (2,)), ("avg_pool1d", (0, 3, 9), (2,)),
                                             ("adaptive_avg_pool2d", (0, 3, 7, 6), (3,))])
def test_unbatched_and_empty_batch(name, shape, args, rng):
    kw = {"return_indices": True} if "max" in name else {}
    _check(name, _distinct(rng, shape, np.float64) if 0 not in shape else np.zeros(shape), *args, **kw)


# ---- double backward ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,args", [("max_pool2d", (3, 2, 1)), ("avg_pool2d", (3, 2, 1, True, False)),
                                       ("adaptive_avg_pool2d", ((3, 4),)), ("adaptive_max_pool2d", ((3, 4),)),
                                       ("max_pool1d", (2, 1))])
def test_double_backward_matches_torch(name, args, rng):
    x = _distinct(rng, (2, 3, 7, 8), np.float64)
    if name.endswith("1d"):
        x = x.reshape(2, 3, 56)
    cot = rng.standard_normal(tuple(getattr(F, name)(torch.tensor(x), *args).shape))
    ours_x, theirs_x = el.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours_g, theirs_g = el.tensor(cot, requires_grad=True), torch.tensor(cot, requires_grad=True)
    gx, = el.autograd.grad([getattr(el, name)(ours_x, *args)], [ours_x], [ours_g], create_graph=True)
    tgx, = torch.autograd.grad(getattr(F, name)(theirs_x, *args), theirs_x, theirs_g, create_graph=True)
    v = rng.standard_normal(x.shape)
    (gx * el.tensor(v)).sum().backward()
    (tgx * torch.tensor(v)).sum().backward()
    np.testing.assert_allclose(ours_g.grad.numpy(), theirs_g.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---- errors -------------------------------------------------------------------------------------------------------
ERRORS = [
    ("max_pool2d", (1, 1, 3, 3), (4,), {}, ShapeError,
     r"max_pool2d: input \(1, 1, 3, 3\) is too small for kernel \(4, 4\).*output would be \(0, 0\)"),
    ("avg_pool1d", (2, 3), (4,), {}, ShapeError, r"avg_pool1d: input \(2, 3\) is too small for kernel \(4,\)"),
    ("max_pool2d", (3, 3), (2,), {}, ShapeError,
     r"max_pool2d: expected input \(N, C, H, W\) or \(C, H, W\), got \(3, 3\)"),
    ("max_pool2d", (1, 1, 1, 3, 3), (2,), {}, ShapeError, r"max_pool2d: expected input .* got \(1, 1, 1, 3, 3\)"),
    ("max_pool1d", (4,), (2,), {}, ShapeError, r"max_pool1d: expected input \(N, C, L\) or \(C, L\), got \(4,\)"),
    ("avg_pool2d", (1, 0, 4, 4), (2,), {}, ShapeError, r"avg_pool2d: expected non-empty channel and spatial dims"),
    ("adaptive_avg_pool2d", (1, 1, 0, 4), (2,), {}, ShapeError,
     r"adaptive_avg_pool2d: expected non-empty .* \(1, 1, 0, 4\)"),
    ("max_pool2d", (1, 1, 4, 4), (2,), {"padding": 2}, ValueError,
     r"max_pool2d: padding \(2, 2\) must be at most half of kernel_size \(2, 2\)"),
    ("max_pool2d", (1, 1, 9, 9), (3,), {"padding": 2, "dilation": 2}, ValueError,
     r"max_pool2d: padding \(2, 2\) must be at most half of kernel_size \(3, 3\)"),
    ("avg_pool2d", (1, 1, 4, 4), (3,), {"padding": (1, 2)}, ValueError,
     r"avg_pool2d: padding \(1, 2\) must be at most half"),
    ("max_pool2d", (1, 1, 4, 4), (2,), {"stride": 0}, ValueError, r"max_pool2d: stride must be positive, got \(0, 0\)"),
    ("avg_pool1d", (1, 1, 4), (2,), {"stride": -1}, ValueError, r"avg_pool1d: stride must be positive, got \(-1,\)"),
    ("max_pool2d", (1, 1, 4, 4), (0,), {}, ValueError, r"max_pool2d: kernel_size must be positive"),
    ("max_pool2d", (1, 1, 4, 4), (2,), {"dilation": 0}, ValueError, r"max_pool2d: dilation must be positive"),
    ("max_pool2d", (1, 1, 4, 4), (2,), {"padding": -1}, ValueError, r"max_pool2d: padding must be non-negative"),
    ("max_pool2d", (1, 1, 4, 4), ((2, 2, 2),), {}, ValueError,
     r"max_pool2d: kernel_size must be an int or a tuple of 2 ints, got \(2, 2, 2\)"),
    ("max_pool1d", (1, 1, 4), ((2, 2),), {}, ValueError,
     r"max_pool1d: kernel_size must be an int or a tuple of 1 ints"),
    ("max_pool2d", (1, 1, 4, 4), (2.0,), {}, TypeError,
     r"max_pool2d: kernel_size must be an int or a tuple of 2 ints, got 2.0"),
    ("avg_pool2d", (1, 1, 4, 4), (2,), {"divisor_override": 0}, ValueError,
     r"avg_pool2d: divisor_override must not be zero"),
    ("avg_pool2d", (1, 1, 4, 4), (2,), {"divisor_override": 2.5}, TypeError,
     r"avg_pool2d: divisor_override must be an int"),
    ("adaptive_avg_pool2d", (1, 1, 4, 4), ((-1, 2),), {}, ValueError,
     r"adaptive_avg_pool2d: output_size must be a non-negative int .* got \(-1, 2\) for input \(1, 1, 4, 4\)"),
    ("adaptive_max_pool2d", (1, 1, 4, 4), ((2,),), {}, ValueError,
     r"adaptive_max_pool2d: output_size must be .* got \(2,\)"),
    ("adaptive_avg_pool1d", (1, 1, 4), (None,), {}, TypeError, r"adaptive_avg_pool1d: output_size must be an int"),
    ("adaptive_avg_pool2d", (1, 1, 4, 4), (2.0,), {}, TypeError, r"adaptive_avg_pool2d: output_size must be an int"),
]


@pytest.mark.parametrize("name,shape,args,kw,exc,match", ERRORS, ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)])
def test_errors(name, shape, args, kw, exc, match):
    with pytest.raises(exc, match=match):
        getattr(el, name)(el.zeros(shape), *args, **kw)


@pytest.mark.parametrize("name,dtype,args", [("max_pool2d", "bool", (2,)), ("avg_pool2d", "int32", (2,)),
                                             ("avg_pool1d", "uint8", (2,)), ("adaptive_avg_pool2d", "int64", (2,)),
                                             ("adaptive_max_pool2d", "int64", (2,)), ("max_pool1d", "bool", (2,))])
def test_dtype_errors(name, dtype, args):
    x = el.zeros((1, 2, 4, 4) if "2d" in name else (1, 2, 4), dtype=getattr(el, dtype))
    with pytest.raises(DTypeError, match=rf"{name}: expected a floating-point.* input, got {dtype}"):
        getattr(el, name)(x, *args)
    with pytest.raises(RuntimeError):  # PyTorch refuses these too
        getattr(F, name)(torch.zeros(tuple(x.shape), dtype=getattr(torch, dtype)), *args)
