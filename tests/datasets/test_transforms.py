"""Transforms: values against PyTorch (torchvision's formulas), batch forms equal to per-item application,
reproducible random transforms under manual_seed, and errors."""
import numpy as np
import pytest

import eagerlab as el
from eagerlab.datasets import transforms as T
from eagerlab.errors import ShapeError


def image(*shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


# ---- ToTensor --------------------------------------------------------------------------------------------------------
def test_to_tensor_matches_torch_formula():
    torch = pytest.importorskip("torch")
    for arr in (image(5, 4), image(5, 4, 3)):
        want = torch.from_numpy(arr if arr.ndim == 3 else arr[:, :, None]).permute(2, 0, 1).float().div(255)
        for pic in (arr, el.from_numpy(arr)):
            got = T.ToTensor()(pic)
            assert got.dtype == el.float32 and got.shape == tuple(want.shape)
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert T.ToTensor()(image(2, 2)).numpy().flags.c_contiguous


def test_to_tensor_keeps_other_dtypes_and_follows_default_dtype():
    f = np.full((2, 3), 7.5, np.float64)
    out = T.ToTensor()(f)
    assert out.dtype == el.float64 and out.shape == (1, 2, 3) and out.numpy().max() == 7.5
    el.set_default_dtype(el.float64)
    assert T.ToTensor()(image(2, 2)).dtype == el.float64


def test_to_tensor_batch_form_equals_items():
    for batch in (image(3, 5, 4), image(3, 5, 4, 2)):
        got = T.ToTensor().apply_batch(el.from_numpy(batch))
        want = np.stack([T.ToTensor()(b).numpy() for b in batch])
        np.testing.assert_array_equal(got.numpy(), want)


def test_to_tensor_errors():
    with pytest.raises(TypeError, match="numpy array or a Tensor, got list"):
        T.ToTensor()([[1, 2]])
    with pytest.raises(ValueError, match="2/3 dimensional, got 4 dimensions"):
        T.ToTensor()(image(1, 2, 3, 4))


# ---- Normalize -------------------------------------------------------------------------------------------------------
def test_normalize_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).random((2, 3, 4, 5), dtype=np.float32)
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
    want = (torch.from_numpy(x) - torch.tensor(mean).view(-1, 1, 1)) / torch.tensor(std).view(-1, 1, 1)
    got = T.Normalize(mean, std)(el.from_numpy(x.copy()))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    assert got.dtype == el.float32
    inplace = el.from_numpy(x.copy())
    assert T.Normalize(mean, std, inplace=True)(inplace) is inplace
    np.testing.assert_allclose(inplace.numpy(), want.numpy(), rtol=1e-6)
    one = T.Normalize((0.5,), (0.5,)).apply_batch(el.from_numpy(x))  # one value broadcasts over channels
    np.testing.assert_allclose(one.numpy(), (x - 0.5) / 0.5, rtol=1e-6)


def test_normalize_is_differentiable():
    x = el.ones(1, 2, 2, requires_grad=True)
    T.Normalize((0.0,), (2.0,))(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((1, 2, 2), 0.5))


def test_normalize_errors():
    with pytest.raises(TypeError, match="should be a float tensor, got eagerlab.int64"):
        T.Normalize((0,), (1,))(el.ones(1, 2, 2, dtype=el.int64))
    with pytest.raises(ValueError, match=r"std evaluated to zero"):
        T.Normalize((0, 0), (1, 0))(el.ones(2, 2, 2))
    with pytest.raises(ValueError, match=r"\(\.\.\., C, H, W\), got shape \(2, 2\)"):
        T.Normalize((0,), (1,))(el.ones(2, 2))
    with pytest.raises(ShapeError, match="mean has 2 values but the image has 3 channels"):
        T.Normalize((0, 0), (1,))(el.ones(3, 2, 2))
    with pytest.raises(TypeError, match="img should be a Tensor, got ndarray"):
        T.Normalize((0,), (1,))(np.ones((1, 2, 2)))


# ---- Compose, Lambda -------------------------------------------------------------------------------------------------
def test_compose_lambda_and_batched():
    tf = T.Compose([T.ToTensor(), T.Lambda(lambda t: t + 1)])
    assert tf(image(2, 2)).shape == (1, 2, 2) and "Lambda()" in repr(tf) and "ToTensor()" in repr(tf)
    assert T.batched(tf) is None and T.batched(T.RandomHorizontalFlip()) is None
    both = T.batched(T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))]))
    assert both(el.from_numpy(image(4, 3, 3))).shape == (4, 1, 3, 3)
    assert T.batched(None)(5) == 5
    with pytest.raises(TypeError, match="lambd should be callable, got 'int'"):
        T.Lambda(3)


# ---- random transforms -----------------------------------------------------------------------------------------------
def test_random_horizontal_flip():
    x = el.from_numpy(image(1, 3, 4))
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(x).numpy(), x.numpy()[..., ::-1])
    assert T.RandomHorizontalFlip(p=0.0)(x) is x
    el.manual_seed(3)
    flips = [T.RandomHorizontalFlip()(x) is not x for _ in range(400)]
    assert 150 < sum(flips) < 250
    el.manual_seed(3)
    assert [T.RandomHorizontalFlip()(x) is not x for _ in range(400)] == flips
    with pytest.raises(TypeError, match="RandomHorizontalFlip: img should be a Tensor"):
        T.RandomHorizontalFlip()(image(2, 2))


def test_random_crop_windows_and_reproducibility():
    arr = image(2, 6, 7)
    x = el.from_numpy(arr)
    el.manual_seed(0)
    crops = [T.RandomCrop(4)(x).numpy() for _ in range(30)]
    windows = {(i, j) for i in range(3) for j in range(4)}
    seen = set()
    for c in crops:
        assert c.shape == (2, 4, 4)
        match = [(i, j) for i, j in windows if np.array_equal(arr[:, i:i + 4, j:j + 4], c)]
        assert match
        seen.add(match[0])
    assert len(seen) > 4  # the offsets vary
    el.manual_seed(0)
    assert all(np.array_equal(T.RandomCrop(4)(x).numpy(), c) for c in crops)
    assert T.RandomCrop((6, 7))(x) is x


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_random_crop_padding_modes(mode):
    arr = image(5, 5)
    full = T.RandomCrop((9, 11), padding=(3, 2), padding_mode=mode, fill=9)(el.from_numpy(arr))
    kw = {"constant_values": 9} if mode == "constant" else {}
    np.testing.assert_array_equal(full.numpy(), np.pad(arr, ((2, 2), (3, 3)), mode=mode, **kw))
    four = T.RandomCrop((5 + 2 + 4, 5 + 1 + 3), padding=(1, 2, 3, 4), padding_mode=mode, fill=9)(el.from_numpy(arr))
    np.testing.assert_array_equal(four.numpy(), np.pad(arr, ((2, 4), (1, 3)), mode=mode, **kw))


def test_random_crop_pad_if_needed_and_errors():
    small = el.from_numpy(image(3, 2))
    out = T.RandomCrop((5, 4), pad_if_needed=True)(small)
    assert out.shape == (5, 4)
    with pytest.raises(ValueError, match=r"required crop size \(5, 4\) is larger than input image size \(3, 2\)"):
        T.RandomCrop((5, 4))(small)
    with pytest.raises(ValueError, match="padding must be an int or a sequence of 1, 2 or 4"):
        T.RandomCrop(3, padding=(1, 2, 3))
    with pytest.raises(ValueError, match="padding_mode should be one of"):
        T.RandomCrop(3, padding_mode="wrap")
    with pytest.raises(ValueError, match="size should be an int or a sequence of 1 or 2 ints"):
        T.RandomCrop((1, 2, 3))
    assert T.RandomCrop([3]).size == (3, 3)


# ---- Resize / CenterCrop ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
def test_resize_upscales_as_torchvision_does_on_tensors(mode):
    """torchvision resizes tensors with F.interpolate (half-pixel centres), rounding uint8 results back."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    img = image(2, 28, 20)
    kw = dict(align_corners=False) if mode != "nearest" else {}
    want = F.interpolate(torch.from_numpy(img).float()[:, None], size=(44, 32), mode=mode, **kw)[:, 0]
    want = want.round().clamp(0, 255).to(torch.uint8) if mode != "nearest" else want.to(torch.uint8)
    got = T.Resize(32, interpolation=mode)(el.from_numpy(img))  # the smaller edge 20 -> 32, 28 -> int(32 * 28 / 20)
    assert got.dtype == el.uint8 and got.shape == (2, 44, 32)
    diff = np.abs(got.numpy().astype(int) - want.numpy().astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 0.01  # float32 rounding decides a few .5 cases either way
    f = el.from_numpy(img.astype(np.float32) / 255)
    want_f = F.interpolate(torch.from_numpy(f.numpy())[:, None], size=(30, 25), mode=mode, **kw)[:, 0]
    np.testing.assert_allclose(T.Resize((30, 25), interpolation=mode)(f).numpy(), want_f.numpy(), rtol=1e-5,
                               atol=1e-6)


def test_resize_sizes_max_size_and_errors():
    img = el.from_numpy(image(1, 10, 40))
    assert T.Resize(20)(img).shape == (1, 20, 80)
    assert T.Resize(20, max_size=60)(img).shape == (1, 15, 60)
    assert T.Resize([12])(el.from_numpy(image(40, 10))).shape == (48, 12)  # (H, W) images too
    assert T.Resize(10)(img) is img
    assert T.Resize((5, 20), interpolation="nearest")(img).shape == (1, 5, 20)  # nearest may shrink
    assert T.Resize((5, 20), antialias=False)(img).shape == (1, 5, 20)
    with pytest.raises(el.errors.UnsupportedError, match=r"antialiased downscaling \(10x40 to 5x20\)"):
        T.Resize((5, 20))(img)
    with pytest.raises(ValueError, match="interpolation should be one of"):
        T.Resize(3, interpolation="lanczos")
    with pytest.raises(TypeError, match="size should be an int"):
        T.Resize(2.5)
    with pytest.raises(ShapeError, match=r"Resize: expected an image \(\.\.\., H, W\), got shape \(4,\)"):
        T.Resize(3)(el.zeros(4))


def test_center_crop_crops_the_middle_and_pads_small_images():
    arr = image(3, 7, 8)
    got = T.CenterCrop((3, 4))(el.from_numpy(arr))
    np.testing.assert_array_equal(got.numpy(), arr[:, 2:5, 2:6])  # round((7 - 3) / 2) = 2, round((8 - 4) / 2) = 2
    np.testing.assert_array_equal(T.CenterCrop(8)(el.from_numpy(arr)).numpy(),
                                  np.pad(arr, [(0, 0), (0, 1), (0, 0)])[:, :, :])  # pad (top 0, bottom 1)
    small = T.CenterCrop(5)(el.from_numpy(image(2, 2)))
    assert small.shape == (5, 5) and small.numpy()[:1].sum() == 0 and small.numpy()[1:3, 1:3].sum() > 0
    assert repr(T.CenterCrop(3)) == "CenterCrop(size=(3, 3))"
