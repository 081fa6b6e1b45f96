"""scaled_dot_product_attention (PyTorch's F.scaled_dot_product_attention), composed from matmul, softmax and
dropout, and the attention core that nn.MultiheadAttention shares with it.

A composite on purpose: its cost is the two batched GEMMs and one fused softmax, which are primitives already;
the backward (and double backward) comes from theirs.
"""
import math

import numpy as np

from .._tensor import Tensor
from ..backend.dtypes import FLOAT, bool_
from ..errors import DTypeError, ShapeError, fmt_shape
from ..autograd.interpreter import current
from . import _shape_rules as shape_rules
from ._registry import Sample, op
from .creation import full, zeros
from .dropout import dropout
from .index import where
from .linalg import matmul
from .softmax import softmax

_NEG_INF = float("-inf")


def attention(query, key, value, bias=None, dropout_p=0.0, scale=None, safe=True):
    """(softmax(query @ key^T * scale + bias) with dropout, its product with value).

    bias: an additive float mask broadcasting to the scores (-inf where not attended) or None. With `safe`, rows
    whose every entry is masked give zero weights (PyTorch's SDPA) rather than nan (its need_weights path)."""
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = matmul(query * scale, key.transpose(-2, -1))  # scaling q (L*E) is cheaper than the scores (L*S)
    dead = None
    if bias is not None:
        if safe:
            dead = (bias == _NEG_INF).all(-1, keepdim=True)
            if current().static_value(dead.any()) is not False:  # (unknown while tracing: the safe form)
                bias = where(dead, 0.0, bias)  # finite rows, so the softmax and its gradient stay finite
            else:
                dead = None
        scores = scores + bias
    weights = softmax(scores, -1)
    if dead is not None:
        weights = where(dead, 0.0, weights)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, True)
    return matmul(weights, value), weights


def causal_bias(L, S, like):
    """0 on and below the diagonal (top-left aligned, as PyTorch), -inf above: query i sees keys 0..i."""
    return full((L, S), _NEG_INF, dtype=like.dtype, device=like.device).triu(1)


def bool_to_bias(mask, attend, like):
    """A bool mask as an additive float mask: -inf where not attended (`attend` says what True means)."""
    blocked = ~mask if attend else mask
    return zeros(mask.shape, dtype=like.dtype, device=like.device).masked_fill(blocked, _NEG_INF)


def _check_sdpa(query, key, value, attn_mask, is_causal, enable_gqa):
    name = "scaled_dot_product_attention"
    for label, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: expected {label} to be a Tensor, got {type(t).__name__}")
        if t.ndim < 2:
            raise ShapeError(f"{name}: {label} must be (..., length, features), got shape {fmt_shape(t.shape)}")
    if query.dtype.category != FLOAT or not query.dtype == key.dtype == value.dtype:
        raise DTypeError(f"{name}: expected query, key and value to have the same floating-point dtype, got "
                         f"{query.dtype.name}, {key.dtype.name} and {value.dtype.name}")
    shapes = f"query {fmt_shape(query.shape)}, key {fmt_shape(key.shape)}, value {fmt_shape(value.shape)}"
    if key.shape[-1] != query.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ShapeError(f"{name}: expected query (..., L, E), key (..., S, E), value (..., S, Ev); got {shapes}")
    batch, heads = [tuple(t.shape[:-2]) for t in (query, key, value)], ()
    if enable_gqa and min(map(len, batch)) >= 1:
        hq, hk, hv = (b[-1] for b in batch)
        if hk != hv or hq % hk:
            raise ShapeError(f"{name}: with enable_gqa the query heads (dim -3) must be a multiple of the key/value "
                             f"heads, which must agree; got {shapes}")
        batch, heads = [b[:-1] for b in batch], (hq,)
    scores = (shape_rules.broadcast_shapes(f"{name}: batch dims of {shapes}", *batch) + heads
              + (query.shape[-2], key.shape[-2]))
    if attn_mask is None:
        return
    if is_causal:
        raise ValueError(f"{name}: explicit attn_mask should not be set when is_causal=True")
    if not isinstance(attn_mask, Tensor):
        raise TypeError(f"{name}: expected attn_mask to be a Tensor, got {type(attn_mask).__name__}")
    if attn_mask.dtype is not bool_ and attn_mask.dtype != query.dtype:
        raise DTypeError(f"{name}: expected attn_mask to be a bool tensor or of the query's dtype "
                         f"{query.dtype.name}, got {attn_mask.dtype.name}")
    if attn_mask.ndim > len(scores) or any(m not in (1, s) for m, s in zip(attn_mask.shape[::-1], scores[::-1])):
        raise ShapeError(f"{name}: attn_mask {fmt_shape(attn_mask.shape)} must broadcast to the scores (..., L, S) = "
                         f"{fmt_shape(scores)} ({shapes})")


def _repeat_heads(t, n):
    """(..., H, S, E) -> (..., H * n, S, E), each head repeated n times in a row (grouped-query attention)."""
    shape = tuple(t.shape)
    return t.unsqueeze(-3).expand(shape[:-2] + (n,) + shape[-2:]).reshape(shape[:-3] + (shape[-3] * n,) + shape[-2:])


def _np_sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False):
    if enable_gqa:
        k, v = (np.repeat(t, q.shape[-3] // t.shape[-3], axis=-3) for t in (k, v))
    s = q @ np.swapaxes(k, -1, -2) * (1 / np.sqrt(q.shape[-1]) if scale is None else scale)
    if is_causal:
        attn_mask = np.tril(np.ones(s.shape[-2:], bool))
    if attn_mask is not None:
        s = s + (np.where(attn_mask, 0, -np.inf) if attn_mask.dtype == bool else attn_mask)
    dead = np.isneginf(s).all(-1, keepdims=True)
    e = np.exp(s - np.where(dead, 0, s.max(-1, keepdims=True)))
    return np.where(dead, 0, e / np.where(dead, 1, e.sum(-1, keepdims=True))) @ v


def _samples(rng):
    r = rng.standard_normal
    mask = rng.random((3, 5)) > 0.3
    mask[:, 0] = True
    dead = mask.copy()
    dead[1] = False
    return [Sample(r((2, 3, 4)), r((2, 5, 4)), r((2, 5, 6))),
            Sample(r((2, 2, 3, 4)), r((2, 2, 5, 4)), r((2, 2, 5, 4)), attn_mask=mask, note="bool mask"),
            Sample(r((2, 3, 4)), r((2, 5, 4)), r((2, 5, 4)), attn_mask=r((2, 3, 5)), note="float mask"),
            Sample(r((2, 4, 3)), r((2, 3, 3)), r((2, 3, 2)), is_causal=True, note="causal, L > S"),
            Sample(r((2, 3, 4)), r((1, 5, 4)), r((5, 4)), scale=0.3, note="broadcast batch, scale"),
            Sample(r((2, 4, 3)).swapaxes(1, 2), r((2, 4, 5)).swapaxes(1, 2), r((2, 5, 2)), note="non-contiguous"),
            Sample(r((1, 4, 2, 3)), r((1, 2, 3, 3)), r((1, 2, 3, 3)), enable_gqa=True, note="grouped-query"),
            Sample(r((3, 4)), r((5, 4)), r((5, 2)), attn_mask=dead, note="a fully masked row gives zeros")]


@op(samples=_samples, ref=_np_sdpa, torch=lambda torch, *a, **k: torch.nn.functional.scaled_dot_product_attention(
    *a, **k))
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """softmax(query @ key^T * scale + mask) @ value over (..., L, E), (..., S, E), (..., S, Ev) inputs.

    attn_mask: bool (True = attend) or float (added to the scores), broadcasting to (..., L, S); is_causal: query
    i attends keys 0..i; dropout_p applies to the weights whenever > 0; scale defaults to 1/sqrt(E); rows with
    nothing to attend give zeros."""
    _check_sdpa(query, key, value, attn_mask, is_causal, enable_gqa)
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        n = query.shape[-3] // key.shape[-3]
        key, value = _repeat_heads(key, n), _repeat_heads(value, n)
    bias = attn_mask
    if is_causal:
        bias = causal_bias(query.shape[-2], key.shape[-2], query)
    elif attn_mask is not None and attn_mask.dtype is bool_:
        bias = bool_to_bias(attn_mask, True, query)
    # a causal mask leaves every query key 0 to attend: no row is fully masked, so the check for one is skipped
    return attention(query, key, value, bias, dropout_p, scale, safe=not is_causal)[0]
