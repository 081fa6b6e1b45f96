"""`make_grid` and `save_image` (torchvision.utils' names and arguments): a batch of images tiled into one, and
written as a PNG. The PNG is encoded here with zlib and struct (8-bit, no filtering), so no imaging library is
needed."""
import math
import os
import struct
import zlib

import numpy as np

from .._tensor import Tensor
from ..errors import ShapeError, fmt_shape


def _host(tensor):
    return np.asarray(tensor.detach()._host() if isinstance(tensor, Tensor) else tensor, dtype=np.float32)


def _as_batch(tensor):
    """(B, C, H, W) float32 numpy from a tensor (2-, 3- or 4-d) or a list of (C, H, W) tensors."""
    if isinstance(tensor, (list, tuple)):
        batch = np.stack([_host(t) for t in tensor])
    else:
        batch = _host(tensor)
    if batch.ndim == 2:
        batch = batch[None]
    if batch.ndim == 3:
        batch = np.concatenate([batch] * 3) if batch.shape[0] == 1 else batch
        batch = batch[None]
    if batch.ndim != 4:
        raise ShapeError(f"make_grid: expected a 2-, 3- or 4-d tensor of images, got shape {fmt_shape(batch.shape)}")
    if batch.shape[1] == 1:
        batch = np.concatenate([batch] * 3, axis=1)
    return batch


def _normalize(batch, value_range, scale_each):
    def scale(x):
        lo, hi = (float(x.min()), float(x.max())) if value_range is None else value_range
        np.clip(x, lo, hi, out=x)
        x -= lo
        x /= max(hi - lo, 1e-5)

    if scale_each:
        for img in batch:
            scale(img)
    else:
        scale(batch)
    return batch


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False, pad_value=0.0):
    """The images of a (B, C, H, W) batch tiled `nrow` to a row with `padding` pixels of `pad_value` between them;
    `normalize` scales values into [0, 1] (by `value_range`, else by the min and max, of each image if
    `scale_each`). Returns a (C, H', W') tensor."""
    from ..ops.creation import from_numpy

    batch = _as_batch(tensor).copy()
    if normalize:
        batch = _normalize(batch, value_range, scale_each)
    if batch.shape[0] == 1:
        return from_numpy(batch[0])
    n, channels, h, w = batch.shape
    cols = min(nrow, n)
    rows = math.ceil(n / cols)
    cell_h, cell_w = h + padding, w + padding
    grid = np.full((channels, cell_h * rows + padding, cell_w * cols + padding), pad_value, dtype=np.float32)
    for k in range(n):
        top, left = (k // cols) * cell_h + padding, (k % cols) * cell_w + padding
        grid[:, top:top + h, left:left + w] = batch[k]
    return from_numpy(grid)


def _png_chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def encode_png(pixels):
    """PNG bytes of a (H, W) or (H, W, C) uint8 array, C in 1 (gray), 2 (gray + alpha), 3 (RGB), 4 (RGBA)."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    h, w, c = pixels.shape
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}.get(c)
    if color_type is None:
        raise ShapeError(f"save_image: a PNG holds 1 to 4 channels, got {c} (image shape {fmt_shape(pixels.shape)})")
    rows = np.concatenate([np.zeros((h, 1), np.uint8), pixels.reshape(h, w * c)], axis=1)  # filter type 0 per row
    header = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
            + _png_chunk(b"IEND", b""))


def save_image(tensor, fp, format=None, **grid_kwargs):
    """Write `tensor` (an image or a batch, values in [0, 1]) to `fp` (a path or a binary file) as a PNG, tiled by
    make_grid(tensor, **grid_kwargs)."""
    if format is not None and format.lower() != "png":
        raise ValueError(f"save_image: eagerlab writes PNG only, got format={format!r}")
    if isinstance(fp, (str, os.PathLike)) and not os.fspath(fp).lower().endswith(".png") and format is None:
        raise ValueError(f"save_image: eagerlab writes PNG only; name the file *.png (got {os.fspath(fp)!r})")
    grid = make_grid(tensor, **grid_kwargs)._host()
    pixels = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    data = encode_png(pixels)
    if isinstance(fp, (str, os.PathLike)):
        with open(fp, "wb") as f:
            f.write(data)
    else:
        fp.write(data)
