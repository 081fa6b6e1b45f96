"""Image transforms with torchvision.transforms' names and semantics, on tensors laid out (..., H, W) or
(..., C, H, W): Compose, ToTensor, Normalize, Lambda, RandomHorizontalFlip, RandomCrop, Resize, CenterCrop.

Random transforms draw from eagerlab's default generator, so `eagerlab.manual_seed` makes them reproducible (and
DataLoader workers seed it per worker). A transform that also works on a stacked batch, giving what applying it
to each item and stacking would, says so with an `apply_batch(batch)` method (ToTensor, Normalize, and Compose
of such transforms); datasets such as MNIST then transform whole batches at once on the DataLoader's fast path.
"""
import numbers

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import is_grad_enabled
from ..backend import CPU, default_generator, get_default_dtype
from ..errors import ShapeError, UnsupportedError, fmt_shape
from ..ops.resize import interpolate


def batched(transform):
    """A function applying `transform` to a stacked batch (identity for None), or None when it cannot."""
    if transform is None:
        return lambda batch: batch
    if isinstance(transform, Compose):
        fns = [batched(t) for t in transform.transforms]
        if any(f is None for f in fns):
            return None

        def apply(batch):
            for f in fns:
                batch = f(batch)
            return batch

        return apply
    return getattr(transform, "apply_batch", None)


class Compose:
    """Apply `transforms` one after the other."""

    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        return f"{type(self).__name__}(" + "".join(f"\n    {t}" for t in self.transforms) + "\n)"


def _tensor_input(name, img):
    if not isinstance(img, Tensor):
        raise TypeError(f"{name}: img should be a Tensor, got {type(img).__name__}")
    return img


class ToTensor:
    """An image as a float tensor C x H x W: a uint8 H x W or H x W x C numpy array or tensor is converted to the
    default float dtype and divided by 255; other dtypes keep their values and dtype (as torchvision)."""

    def __call__(self, pic):
        return self._convert(pic, lead=0)

    def apply_batch(self, batch):
        """N x H x W (or N x H x W x C) -> N x C x H x W."""
        return self._convert(batch, lead=1)

    def _convert(self, pic, lead):
        if isinstance(pic, Tensor):
            arr, dev = pic._data, pic._device
        elif isinstance(pic, np.ndarray):
            arr, dev = pic, CPU
        else:
            raise TypeError(f"ToTensor: pic should be a numpy array or a Tensor, got {type(pic).__name__}")
        if arr.ndim not in (lead + 2, lead + 3):
            raise ValueError(f"ToTensor: pic should be {lead + 2}/{lead + 3} dimensional, got {arr.ndim} dimensions "
                             f"(shape {fmt_shape(arr.shape)})")
        xp = dev.xp
        if arr.ndim == lead + 2:
            arr = arr[..., None]
        chw = xp.moveaxis(arr, -1, -3)
        if arr.dtype == np.uint8:
            out = chw.astype(get_default_dtype().np, order="C")
            out /= 255
        else:
            out = xp.ascontiguousarray(chw)
        return Tensor._make(out, dev)

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """(x - mean) / std per channel of a float tensor (..., C, H, W); works on batches unchanged."""

    def __init__(self, mean, std, inplace=False):
        self.mean = mean
        self.std = std
        self.inplace = inplace
        self._cache = {}

    def __call__(self, tensor):
        tensor = _tensor_input("Normalize", tensor)
        if not tensor.is_floating_point():
            raise TypeError(f"Normalize: input tensor should be a float tensor, got {tensor.dtype}")
        if tensor.ndim < 3:
            raise ValueError(f"Normalize: expected a tensor image of size (..., C, H, W), got shape "
                             f"{fmt_shape(tensor.shape)}")
        mean, std = self._stats(tensor)
        channels, dev = tensor.shape[-3], tensor._device
        for name, v in (("mean", mean), ("std", std)):
            if v.shape[0] not in (1, channels):
                raise ShapeError(f"Normalize: {name} has {v.shape[0]} values but the image has {channels} channels "
                                 f"(shape {fmt_shape(tensor.shape)})")
        if self.inplace:
            return tensor.sub_(Tensor._make(mean, dev)).div_(Tensor._make(std, dev))
        if tensor.requires_grad and is_grad_enabled():
            return (tensor - Tensor._make(mean, dev)) / Tensor._make(std, dev)
        return Tensor._make((tensor._data - mean) / std, dev)  # no graph to record: skip op dispatch

    def _stats(self, tensor):
        """mean and std as (C, 1, 1) arrays of the tensor's dtype and device, made once per dtype and device."""
        key = (tensor.dtype, tensor._device)
        hit = self._cache.get(key)
        if hit is not None and hit[0] is self.mean and hit[1] is self.std:
            return hit[2]
        xp, dt = tensor._device.xp, tensor.dtype.np
        stats = (xp.asarray(self.mean, dtype=dt).reshape(-1, 1, 1), xp.asarray(self.std, dtype=dt).reshape(-1, 1, 1))
        if not bool(stats[1].all()):
            raise ValueError(f"Normalize: std evaluated to zero after conversion to {tensor.dtype}, leading to "
                             f"division by zero (std={self.std})")
        self._cache[key] = (self.mean, self.std, stats)
        return stats

    apply_batch = __call__

    def __repr__(self):
        return f"Normalize(mean={self.mean}, std={self.std})"


class Lambda:
    """Apply a user function."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Lambda: argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return "Lambda()"


class RandomHorizontalFlip:
    """Flip the last (width) dim with probability p."""

    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, img):
        img = _tensor_input("RandomHorizontalFlip", img)
        # one float32 draw, the stream eagerlab.rand(1) would use (so seeding matches torch's recipe)
        if default_generator().uniform((1,), np.float32)[0] < self.p:
            return img.flip(-1)
        return img

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


def _pair(name, value, what):
    if isinstance(value, numbers.Number):
        return int(value), int(value)
    if isinstance(value, (list, tuple)) and len(value) == 1:
        return int(value[0]), int(value[0])
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return int(value[0]), int(value[1])
    raise ValueError(f"{name}: {what} should be an int or a sequence of 1 or 2 ints, got {value!r}")


class RandomCrop:
    """Crop a random size[0] x size[1] window of the last two dims, after optional padding.

    padding: int (all sides), (left/right, top/bottom) or (left, top, right, bottom); pad_if_needed pads an image
    smaller than `size`; padding_mode: "constant" (with `fill`), "edge", "reflect" or "symmetric".
    """

    _MODES = ("constant", "edge", "reflect", "symmetric")

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size = _pair("RandomCrop", size, "size")
        if padding is not None and not (isinstance(padding, numbers.Number)
                                        or (isinstance(padding, (list, tuple)) and len(padding) in (1, 2, 4))):
            raise ValueError(f"RandomCrop: padding must be an int or a sequence of 1, 2 or 4 ints, got {padding!r}")
        if padding_mode not in self._MODES:
            raise ValueError(f"RandomCrop: padding_mode should be one of {self._MODES}, got {padding_mode!r}")
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    def _pad(self, img, left, top, right, bottom):
        arr = img._data
        widths = [(0, 0)] * (arr.ndim - 2) + [(top, bottom), (left, right)]
        kw = {"constant_values": self.fill} if self.padding_mode == "constant" else {}
        return Tensor._make(img._device.xp.pad(arr, widths, mode=self.padding_mode, **kw), img._device)

    def __call__(self, img):
        img = _tensor_input("RandomCrop", img)
        if img.ndim < 2:
            raise ShapeError(f"RandomCrop: expected an image (..., H, W), got shape {fmt_shape(img.shape)}")
        if self.padding is not None:
            p = [self.padding] if isinstance(self.padding, numbers.Number) else list(self.padding)
            p = p * 4 if len(p) == 1 else (p * 2 if len(p) == 2 else p)
            img = self._pad(img, *(int(v) for v in p))
        th, tw = self.size
        h, w = img.shape[-2:]
        if self.pad_if_needed and w < tw:  # torchvision pads both sides by the shortfall
            img = self._pad(img, tw - w, 0, tw - w, 0)
        if self.pad_if_needed and h < th:
            img = self._pad(img, 0, th - h, 0, th - h)
        h, w = img.shape[-2:]
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: required crop size {(th, tw)} is larger than input image size {(h, w)}")
        if (h, w) == (th, tw):
            return img
        gen = default_generator()
        i = int(gen.integers(0, h - th + 1, (1,))[0])
        j = int(gen.integers(0, w - tw + 1, (1,))[0])
        return img[..., i:i + th, j:j + tw]

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


_RESIZE_MODES = {"nearest": "nearest", "nearest-exact": "nearest-exact", "bilinear": "bilinear", "bicubic": "bicubic"}


def _resized_size(name, h, w, size, max_size):
    """torchvision's rule: an int matches the smaller edge (keeping the aspect ratio, capped by max_size), a pair
    is (height, width)."""
    if isinstance(size, (list, tuple)) and len(size) == 2:
        return int(size[0]), int(size[1])
    short = size[0] if isinstance(size, (list, tuple)) and len(size) == 1 else size
    if not isinstance(short, numbers.Integral):
        raise TypeError(f"{name}: size should be an int or a sequence of 1 or 2 ints, got {size!r}")
    small, large = min(h, w), max(h, w)
    new_small, new_large = int(short), int(short * large / small)
    if max_size is not None and new_large > max_size:
        new_small, new_large = int(max_size * new_small / new_large), max_size
    return (new_small, new_large) if h <= w else (new_large, new_small)


class Resize:
    """Resize the last two dims (H, W) to `size`: an int matches the smaller edge, keeping the aspect ratio
    (at most max_size on the larger one); a pair is (height, width). interpolation: "bilinear" (default),
    "nearest", "nearest-exact", "bicubic" (or torchvision's InterpolationMode of that value). uint8 images are
    interpolated in float and rounded back, as torchvision does for tensors.

    Not supported yet: antialiased downscaling (antialias=True, torchvision's default, when an edge shrinks with
    bilinear or bicubic) raises; pass antialias=False to downscale without it."""

    def __init__(self, size, interpolation="bilinear", max_size=None, antialias=True):
        mode = getattr(interpolation, "value", interpolation)
        if mode not in _RESIZE_MODES:
            raise ValueError(f"Resize: interpolation should be one of {sorted(_RESIZE_MODES)}, got {interpolation!r}")
        self.size, self.mode, self.max_size, self.antialias = size, mode, max_size, antialias
        _resized_size("Resize", 1, 1, size, max_size)  # checks size now

    def __call__(self, img):
        img = _tensor_input("Resize", img)
        if img.ndim < 2:
            raise ShapeError(f"Resize: expected an image (..., H, W), got shape {fmt_shape(img.shape)}")
        h, w = img.shape[-2:]
        out = _resized_size("Resize", h, w, self.size, self.max_size)
        if out == (h, w):
            return img
        if self.antialias and self.mode in ("bilinear", "bicubic") and (out[0] < h or out[1] < w):
            raise UnsupportedError(f"Resize: antialiased downscaling ({h}x{w} to {out[0]}x{out[1]}) is not "
                                   "supported yet; pass antialias=False")
        batch = img.reshape(-1, 1, h, w)
        x = batch if batch.dtype.is_floating_point else batch.to(get_default_dtype())
        y = interpolate(x, size=out, mode=_RESIZE_MODES[self.mode],
                        align_corners=False if self.mode in ("bilinear", "bicubic") else None)
        if not batch.dtype.is_floating_point:  # back to the integer dtype: rounded (half to even), in range
            xp, a = img._device.xp, y._data
            if self.mode in ("bilinear", "bicubic"):
                a = xp.rint(a)
            if self.mode == "bicubic":
                info = np.iinfo(batch._data.dtype)
                a = xp.clip(a, info.min, info.max)
            y = Tensor._make(a.astype(batch._data.dtype), img._device)
        return y.reshape(*img.shape[:-2], *out)

    def __repr__(self):
        return f"Resize(size={self.size}, interpolation={self.mode}, max_size={self.max_size}, " \
               f"antialias={self.antialias})"


class CenterCrop:
    """Crop the central size[0] x size[1] window of the last two dims; an image smaller than that is first padded
    with zeros on both sides (as torchvision)."""

    def __init__(self, size):
        self.size = _pair("CenterCrop", size, "size")

    def __call__(self, img):
        img = _tensor_input("CenterCrop", img)
        if img.ndim < 2:
            raise ShapeError(f"CenterCrop: expected an image (..., H, W), got shape {fmt_shape(img.shape)}")
        th, tw = self.size
        h, w = img.shape[-2:]
        if th > h or tw > w:
            left, top = max(tw - w, 0) // 2, max(th - h, 0) // 2
            right, bottom = max(tw - w + 1, 0) // 2, max(th - h + 1, 0) // 2
            arr = img._data
            widths = [(0, 0)] * (arr.ndim - 2) + [(top, bottom), (left, right)]
            img = Tensor._make(img._device.xp.pad(arr, widths), img._device)
            h, w = img.shape[-2:]
        i, j = int(round((h - th) / 2.0)), int(round((w - tw) / 2.0))
        return img[..., i:i + th, j:j + tw]

    def __repr__(self):
        return f"CenterCrop(size={self.size})"
