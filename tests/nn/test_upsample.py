"""F.interpolate, Upsample, UpsamplingNearest2d/Bilinear2d: every mode, align_corners, size and scale_factor
combination (non-integer scales included) against PyTorch, forward and gradient; exact values and the
transposed-map gradient without PyTorch; errors."""
import numpy as np
import pytest

import eagerlab as el
import eagerlab.nn as nn
import eagerlab.nn.functional as F
from eagerlab.errors import DTypeError, ShapeError, UnsupportedError

from eagerlab.testing import compare_with_torch

rng = np.random.default_rng(0)
SPATIAL = {3: (5,), 4: (4, 5), 5: (3, 4, 3)}
MODES = [("nearest", 3), ("nearest", 4), ("nearest", 5), ("nearest-exact", 3), ("nearest-exact", 4), ("linear", 3),
         ("bilinear", 4), ("bicubic", 4), ("trilinear", 5), ("area", 3), ("area", 4)]


def _specs(rank):
    grow = tuple(2 * s + 1 for s in SPATIAL[rank])
    shrink = tuple(max(s - 2, 1) for s in SPATIAL[rank])
    mixed = tuple((1.5, 0.75, 2.0)[:rank - 2])
    return [dict(size=grow), dict(size=shrink), dict(size=7), dict(scale_factor=2), dict(scale_factor=1.7),
            dict(scale_factor=0.6), dict(scale_factor=mixed), dict(scale_factor=1.1, note="size kept, scale != 1"),
            dict(scale_factor=2.2, note="size doubled by a scale != 2"),
            dict(scale_factor=1.7, recompute_scale_factor=True)]


CASES = [pytest.param(mode, rank, spec, ac, id=f"{mode}-{rank}d-{i}-{ac}") for mode, rank in MODES
         for i, spec in enumerate(_specs(rank))
         for ac in ([None] if mode in ("nearest", "nearest-exact", "area") else [False, True])]


def _torch_backward_disagrees(mode, rank, x_shape, out_shape, spec):
    """PyTorch's CPU backward takes shortcuts its forward does not (for nearest 1-d/3-d: copy when a size is kept,
    every other input when it doubles; for bicubic: copy when the size is kept), so where a scale factor other than
    out/in is given its gradient is not the derivative of its own forward (torch.autograd.gradcheck fails there).
    Those cases are checked with gradcheck instead."""
    if "scale_factor" not in spec or spec.get("recompute_scale_factor"):
        return False
    scales = spec["scale_factor"] if isinstance(spec["scale_factor"], tuple) else (spec["scale_factor"],) * (rank - 2)
    for n_in, n_out, s in zip(x_shape[2:], out_shape[2:], scales):
        if mode == "bicubic" and n_in == n_out and s != 1:
            return True
        if mode == "nearest" and rank != 4 and (n_in == n_out and s != 1 or n_out == 2 * n_in and s != 2):
            return True
    return False


@pytest.mark.parametrize("mode,rank,spec,align_corners", CASES)
def test_interpolate_matches_torch(mode, rank, spec, align_corners):
    torch = pytest.importorskip("torch")
    spec = {k: v for k, v in spec.items() if k != "note"}
    shape = (2, 3) + SPATIAL[rank]
    x = rng.standard_normal(shape)
    kw = dict(spec, mode=mode, align_corners=align_corners)
    got = F.interpolate(el.tensor(x.astype(np.float32)), **kw).numpy()
    want = torch.nn.functional.interpolate(torch.tensor(x.astype(np.float32)), **kw).numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)  # bicubic: 16 signed float32 terms

    ours, theirs = el.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    if _torch_backward_disagrees(mode, rank, shape, want.shape, spec):
        assert el.autograd.gradcheck(lambda t: F.interpolate(t, **kw), (ours,))
        return
    g = rng.standard_normal(want.shape)
    F.interpolate(ours, **kw).backward(el.tensor(g))
    torch.nn.functional.interpolate(theirs, **kw).backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "linear", "area"])
@pytest.mark.parametrize("n_in,n_out", [(1, 4), (3, 7), (4, 8), (7, 3), (5, 5), (6, 2)])
def test_gradient_is_the_transposed_map(mode, n_in, n_out):
    """The backward (a gather with transposed taps) is exactly A^T for the forward's matrix A."""
    eye = el.eye(n_in, dtype=el.float64).reshape(n_in, 1, n_in)
    a = F.interpolate(eye, size=n_out, mode=mode).reshape(n_in, n_out).numpy().T  # A: (n_out, n_in)
    x = el.zeros(1, 1, n_in, dtype=el.float64, requires_grad=True)
    g = rng.standard_normal(n_out)
    F.interpolate(x, size=n_out, mode=mode).backward(el.tensor(g).reshape(1, 1, n_out))
    np.testing.assert_allclose(x.grad.numpy().ravel(), a.T @ g, rtol=1e-12, atol=1e-12)


def test_known_values():
    x = el.tensor([[[1.0, 2.0]]])
    assert F.interpolate(x, scale_factor=2).tolist() == [[[1.0, 1.0, 2.0, 2.0]]]
    ramp = el.tensor([[[0.0, 1.0]]])
    assert F.interpolate(ramp, size=3, mode="linear", align_corners=True).tolist() == [[[0.0, 0.5, 1.0]]]
    assert F.interpolate(ramp, size=4, mode="linear").tolist() == [[[0.0, 0.25, 0.75, 1.0]]]
    grid = el.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
    assert F.interpolate(grid, size=(3, 3), mode="bilinear", align_corners=True)[0, 0, 1, 1].item() == 1.5
    assert F.interpolate(grid, size=(1, 1), mode="area").item() == 1.5
    x = el.ones(1, 1, 3, 3, requires_grad=True)
    F.interpolate(x, scale_factor=2).sum().backward()
    assert np.array_equal(x.grad.numpy(), np.full((1, 1, 3, 3), 4.0))
    ints = F.interpolate(el.arange(3).reshape(1, 1, 3), scale_factor=2)
    assert ints.dtype == el.int64 and ints.tolist() == [[[0, 0, 1, 1, 2, 2]]]


def test_float32_stays_float32_and_gradgradcheck():
    assert F.interpolate(el.randn(1, 2, 3, 3), scale_factor=1.5, mode="bicubic").dtype == el.float32
    x = el.randn(1, 1, 3, 4, dtype=el.float64, requires_grad=True)
    assert el.autograd.gradgradcheck(lambda t: F.interpolate(t, size=(5, 3), mode="bilinear"), (x,))


@pytest.mark.parametrize("layer,kw", [("Upsample", dict(scale_factor=2)), ("Upsample", dict(size=(3, 7))),
                                      ("Upsample", dict(scale_factor=1.5, mode="bilinear")),
                                      ("Upsample", dict(size=6, mode="bicubic", align_corners=True)),
                                      ("UpsamplingNearest2d", dict(scale_factor=3)),
                                      ("UpsamplingBilinear2d", dict(size=(5, 6)))])
def test_upsample_layers_match_torch(layer, kw):
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, layer)(**kw), getattr(torch.nn, layer)(**kw)
    assert repr(ours) == repr(theirs)
    compare_with_torch(ours, theirs, rng.standard_normal((2, 3, 4, 5)).astype(np.float32))


def test_deprecated_aliases_warn():
    x = el.randn(1, 1, 2, 2)
    with pytest.warns(UserWarning, match="upsample is deprecated"):
        assert F.upsample(x, scale_factor=2).shape == (1, 1, 4, 4)
    with pytest.warns(UserWarning, match="upsample_bilinear is deprecated"):
        y = F.upsample_bilinear(x, size=3)
    assert np.allclose(y.numpy(), F.interpolate(x, size=3, mode="bilinear", align_corners=True).numpy())


def test_errors():
    x = el.randn(1, 2, 4, 4)
    with pytest.raises(ValueError, match="unknown mode 'cubic'"):
        F.interpolate(x, scale_factor=2, mode="cubic")
    with pytest.raises(ShapeError, match=r"mode 'bilinear' needs a 4-D input .*got shape \(1, 2, 4\)"):
        F.interpolate(el.randn(1, 2, 4), scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(ValueError, match="either size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners can only be set .* not with mode 'nearest'"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(ShapeError, match=r"size \(2, 3, 4\) must have one entry per spatial dim of input "
                                         r"\(1, 2, 4, 4\) \(2 spatial dims\)"):
        F.interpolate(x, size=(2, 3, 4))
    with pytest.raises(TypeError, match="size entries must be ints"):
        F.interpolate(x, size=(2.5, 3))
    with pytest.raises(UnsupportedError, match="antialias"):
        F.interpolate(x, scale_factor=0.5, mode="bilinear", antialias=True)
    with pytest.raises(DTypeError, match="mode 'linear' needs a floating-point input, got int64"):
        F.interpolate(el.arange(4).reshape(1, 1, 4), size=3, mode="linear")
    with pytest.raises(ShapeError, match=r"sizes should be greater than 0.*output spatial size \(0, 1\)"):
        F.interpolate(x, scale_factor=(0.2, 0.3))
    with pytest.raises(ValueError, match="recompute_scale_factor is not meaningful with an explicit size"):
        F.interpolate(x, size=3, recompute_scale_factor=True)
    with pytest.raises(ShapeError, match=r"^Upsample: interpolate: mode 'trilinear' needs a 5-D input"):
        nn.Upsample(scale_factor=2, mode="trilinear")(x)
