"""Dropout: multiply by a drawn mask of zeros (probability p) and 1/(1-p), so the gradient flows through the mask.

The mask is one draw primitive (no tensor inputs), so a captured graph draws a fresh mask on every run.
"""
import numpy as np

from ..errors import DTypeError, ShapeError, fmt_shape
from ._registry import Sample, op, primitive
from .random import _Replay, _draw, _draw_infer


def _dropout_mask_impl(xp, *, shape, dtype, device, generator, p):
    # float32 uniforms whatever the dtype: the same seed gives the same mask for float32 and float64 inputs
    keep = generator.uniform(shape, np.float32) >= p
    return xp.multiply(keep, 0.0 if p == 1 else 1.0 / (1.0 - p), dtype=dtype.np)


dropout_mask_p = primitive("dropout_mask", _draw_infer)(_dropout_mask_impl)


def _masked(op, input, p, mask_shape, inplace, generator):
    """input times a mask of zeros (probability p) and 1/(1-p), drawn with `mask_shape` (broadcast to input)."""
    if not input.is_floating_point():
        raise DTypeError(f"{op}: expected a floating-point input, got {input.dtype.name}")
    mask = _draw(dropout_mask_p, op, mask_shape, input.dtype, generator, input.device, p=float(p))
    return input.mul_(mask) if inplace else input * mask


def _check_p(op, p):
    if not 0 <= p <= 1:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got p={p}")


def _np_dropout(unbatched_ndim=None, channels=False):
    """The numpy reference: keep an element (or a channel) where its float32 uniform draw is >= p."""

    def ref(x, p=0.5, training=True, inplace=False, *, generator=None):
        if not training or p == 0:
            return x
        lead = 1 if x.ndim == unbatched_ndim else 2
        shape = x.shape[:lead] + (1,) * (x.ndim - lead) if channels else x.shape
        keep = generator.rng.random(shape, dtype=np.float32) >= p
        return x * keep / (1 - p) if p < 1 else x * 0

    return ref


def _dropout_samples(rng):
    r = rng.standard_normal
    return [Sample(r((4, 5)), 0.3, generator=_Replay()), Sample(r(()), 0.5, generator=_Replay(), note="0-d"),
            Sample(r((4, 3)).T, 0.5, generator=_Replay(), note="non-contiguous"),
            Sample(r((0, 3)), 0.5, generator=_Replay(), note="empty"),
            Sample(r((3,)), 0.0, generator=_Replay(), note="p=0 is the identity"),
            Sample(r((3,)), 1.0, generator=_Replay(), note="p=1 zeroes everything"),
            Sample(r((2, 3)), 0.5, False, generator=_Replay(), note="eval mode")]


@op(samples=_dropout_samples, ref=_np_dropout())
def dropout(input, p=0.5, training=True, inplace=False, *, generator=None):
    """Zero each element with probability p and scale the rest by 1/(1-p); the identity when not training."""
    _check_p("dropout", p)
    if not training or p == 0:
        return input
    return _masked("dropout", input, p, input.shape, inplace, generator)


def _feature_dropout(op, input, p, training, inplace, generator, unbatched_ndim):
    """Dropout of whole channels: the mask has shape (N, C, 1, ...), or (C, 1, ...) for an unbatched input."""
    _check_p(op, p)
    if not training or p == 0:
        return input
    lead = 1 if input.ndim == unbatched_ndim else 2
    return _masked(op, input, p, tuple(input.shape[:lead]) + (1,) * (input.ndim - lead), inplace, generator)


def _check_rank(op, input, ranks):
    if input.ndim not in ranks:
        raise ShapeError(f"{op}: expected a {' or '.join(f'{r}-D' for r in ranks)} input, got shape "
                         f"{fmt_shape(input.shape)}")


def _feature_samples(batched_shape, unbatched_shape):
    def samples(rng):
        x = rng.standard_normal(batched_shape)
        return [Sample(x, 0.4, generator=_Replay()),
                Sample(rng.standard_normal(unbatched_shape), 0.5, generator=_Replay(), note="unbatched"),
                Sample(x, 0.5, False, generator=_Replay(), note="eval mode")]

    return samples


def _feature_op(name, ranks, unbatched_ndim, batched_shape, unbatched_shape, doc):
    def fn(input, p=0.5, training=True, inplace=False, *, generator=None):
        _check_rank(name, input, ranks)
        return _feature_dropout(name, input, p, training, inplace, generator, unbatched_ndim)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return op(name, samples=_feature_samples(batched_shape, unbatched_shape),
              ref=_np_dropout(unbatched_ndim, channels=True))(fn)


dropout1d = _feature_op("dropout1d", (2, 3), 2, (2, 3, 4), (3, 4),
                        "Zero whole channels of (N, C, L) or (C, L) inputs with probability p; scale the rest.")
# a 3-D input to dropout2d is taken as batched (N, C, L), as PyTorch does
dropout2d = _feature_op("dropout2d", (2, 3, 4), None, (2, 3, 2, 2), (3, 2, 2),
                        "Zero whole channels of (N, C, H, W) inputs with probability p; scale the rest.")
dropout3d = _feature_op("dropout3d", (4, 5), 4, (2, 2, 2, 2, 2), (2, 2, 2, 2),
                        "Zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs with probability p.")
