"""F.multi_head_attention_forward: nn.MultiheadAttention's computation, with PyTorch's signature and semantics.

Inputs are sequence-first (L, N, E) or unbatched (L, E). Internally heads get their own dim, (N, H, L, head_dim),
so masks broadcast over batch and heads instead of being expanded to (N * H, L, S). The attention core is the
one scaled_dot_product_attention uses (ops/attention.py).
"""
from ..backend.dtypes import bool_
from ..errors import DTypeError, ShapeError, fmt_shape
from ..ops.attention import attention, bool_to_bias, causal_bias
from ..ops.creation import zeros
from ..ops.join import cat
from ..ops.linalg import linear

_NAME = "multi_head_attention_forward"


def _canonical_mask(mask, mask_name, query):
    """A bool mask (True = do NOT attend, PyTorch's MultiheadAttention convention) as an additive float mask of
    the query's dtype; float masks are taken as they are."""
    if mask is None:
        return None
    if mask.dtype is bool_:
        return bool_to_bias(mask, False, query)
    if mask.dtype != query.dtype:
        raise DTypeError(f"{_NAME}: only bool masks and float masks of the query's dtype {query.dtype.name} are "
                         f"supported, got {mask_name} of dtype {mask.dtype.name}")
    return mask


def _check_ranks(query, key, value, key_padding_mask, attn_mask):
    """True for batched (L, N, E) inputs, False for unbatched (L, E) ones; ShapeError for other ranks."""
    shapes = f"query {fmt_shape(query.shape)}, key {fmt_shape(key.shape)}, value {fmt_shape(value.shape)}"
    if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
        raise ShapeError(f"{_NAME}: expected query, key and value all batched (3-D) or all unbatched (2-D), got "
                         f"{shapes}")
    batched = query.ndim == 3
    if key_padding_mask is not None and key_padding_mask.ndim != query.ndim - 1:
        raise ShapeError(f"{_NAME}: for {'batched' if batched else 'unbatched'} inputs ({shapes}) key_padding_mask "
                         f"must be {query.ndim - 1}-D, got shape {fmt_shape(key_padding_mask.shape)}")
    if attn_mask is not None and attn_mask.ndim not in (2, 3):
        raise ShapeError(f"{_NAME}: attn_mask must be 2-D (L, S) or 3-D (N * num_heads, L, S), got shape "
                         f"{fmt_shape(attn_mask.shape)}")
    return batched


def _heads_mask(attn_mask, N, H, L, S):
    """attn_mask (L, S) or (N * H, L, S) as (1, 1, L, S) or (N, H, L, S)."""
    if attn_mask is None:
        return None
    want = (L, S) if attn_mask.ndim == 2 else (N * H, L, S)
    if tuple(attn_mask.shape) != want:
        raise ShapeError(f"{_NAME}: the {attn_mask.ndim}-D attn_mask has shape {fmt_shape(attn_mask.shape)}, but "
                         f"should be {fmt_shape(want)} (L={L} queries, S={S} keys, N={N} batch, {H} heads)")
    return attn_mask.reshape((1, 1, L, S) if attn_mask.ndim == 2 else (N, H, L, S))


def _in_projection(query, key, value, E, in_proj_weight, in_proj_bias, separate, q_proj_weight, k_proj_weight,
                   v_proj_weight):
    """q, k, v projections; self-attention (query is key is value) is one GEMM, key is value two."""
    b = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
    if separate:
        for label, t, w in (("key", key, k_proj_weight), ("value", value, v_proj_weight)):
            if t.shape[-1] != w.shape[1]:
                raise ShapeError(f"{_NAME}: {label} {fmt_shape(t.shape)} has {t.shape[-1]} features, but its "
                                 f"projection weight {fmt_shape(w.shape)} expects {w.shape[1]}")
        return linear(query, q_proj_weight, b[0]), linear(key, k_proj_weight, b[1]), linear(value, v_proj_weight, b[2])
    if query is key and key is value:
        return linear(query, in_proj_weight, in_proj_bias).chunk(3, -1)
    if key is value:
        w_q, w_kv = in_proj_weight.split([E, 2 * E])
        b_q, b_kv = (None, None) if in_proj_bias is None else in_proj_bias.split([E, 2 * E])
        return (linear(query, w_q, b_q),) + tuple(linear(key, w_kv, b_kv).chunk(2, -1))
    w = in_proj_weight.chunk(3)
    return linear(query, w[0], b[0]), linear(key, w[1], b[1]), linear(value, w[2], b[2])


def _pad_key(mask):
    """One more (attended) key: a zero column at the end of an additive mask."""
    return None if mask is None else cat([mask, zeros(tuple(mask.shape[:-1]) + (1,), dtype=mask.dtype,
                                                      device=mask.device)], -1)


def _check_embed(query, key, value, embed_dim, num_heads, separate):
    shapes = f"query {fmt_shape(query.shape)}, key {fmt_shape(key.shape)}, value {fmt_shape(value.shape)}"
    if query.shape[-1] != embed_dim:
        raise ShapeError(f"{_NAME}: expected query with embedding dimension {embed_dim}, got {shapes}")
    if embed_dim % num_heads:
        raise ShapeError(f"{_NAME}: embed_dim {embed_dim} must be divisible by num_heads {num_heads}")
    if (key.shape[:-1] if separate else key.shape) != (value.shape[:-1] if separate else value.shape):
        raise ShapeError(f"{_NAME}: key and value must have the same " + ("(S, N) dims" if separate else "shape")
                         + f", got {shapes}")
    if key.shape[1] != query.shape[1]:
        raise ShapeError(f"{_NAME}: query and key must have the same batch size (dim 1), got {shapes}")


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    """Multi-head attention over sequence-first inputs; returns (output (L, N, E), weights or None).

    Weights are (N, L, S) averaged over heads, or (N, num_heads, L, S); bool masks mean True = not attended."""
    batched = _check_ranks(query, key, value, key_padding_mask, attn_mask)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        key_padding_mask = None if key_padding_mask is None else key_padding_mask.unsqueeze(0)
    _check_embed(query, key, value, embed_dim_to_check, num_heads, use_separate_proj_weight)
    (L, N, E), S, H = query.shape, key.shape[0], num_heads
    hd = E // H
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", query)
    keys = static_k.shape[1] if static_k is not None and static_k.ndim == 3 else S
    if key_padding_mask is not None and tuple(key_padding_mask.shape) != (N, keys):
        raise ShapeError(f"{_NAME}: expected key_padding_mask of shape {fmt_shape((N, keys))} (batch, keys), got "
                         f"{fmt_shape(key_padding_mask.shape)}")
    if is_causal and attn_mask is None:
        raise ValueError(f"{_NAME}: is_causal=True is a hint that attn_mask is the causal mask; pass attn_mask too")
    causal = is_causal and key_padding_mask is None and not need_weights  # then the hint replaces the mask
    attn_mask = None if causal else _heads_mask(_canonical_mask(attn_mask, "attn_mask", query), N, H, L, S)

    q, k, v = _in_projection(query, key, value, E, in_proj_weight, in_proj_bias, use_separate_proj_weight,
                             q_proj_weight, k_proj_weight, v_proj_weight)
    if bias_k is not None and bias_v is not None:
        k, v = cat([k, bias_k.expand(1, N, E)]), cat([v, bias_v.expand(1, N, E)])
        attn_mask, key_padding_mask = _pad_key(attn_mask), _pad_key(key_padding_mask)
    # (len, N, E) -> (N, H, len, head_dim)
    q, k, v = (t.reshape(t.shape[0], N, H, hd).permute(1, 2, 0, 3) for t in (q, k, v))
    k = k if static_k is None else _static(static_k, "static_k", N, H, hd)
    v = v if static_v is None else _static(static_v, "static_v", N, H, hd)
    if add_zero_attn:
        k, v = (cat([t, zeros((N, H, 1, hd), dtype=t.dtype, device=t.device)], 2) for t in (k, v))
        attn_mask, key_padding_mask = _pad_key(attn_mask), _pad_key(key_padding_mask)
    S = k.shape[2]
    bias = causal_bias(L, S, q) if causal else attn_mask
    if key_padding_mask is not None:
        kpm = key_padding_mask.reshape(N, 1, 1, S)
        bias = kpm if bias is None else bias + kpm
    out, weights = attention(q, k, v, bias, dropout_p if training else 0.0, safe=not need_weights)
    out = linear(out.permute(2, 0, 1, 3).reshape(L, N, E), out_proj_weight, out_proj_bias)
    if need_weights:
        weights = weights.mean(1) if average_attn_weights else weights
        return (out, weights) if batched else (out.squeeze(1), weights.squeeze(0))
    return (out if batched else out.squeeze(1)), None


def _static(t, name, N, H, hd):
    if t.ndim != 3 or t.shape[0] != N * H or t.shape[2] != hd:
        raise ShapeError(f"{_NAME}: expected {name} of shape (N * num_heads, S, head_dim) = ({N * H}, S, {hd}), got "
                         f"{fmt_shape(t.shape)}")
    return t.reshape(N, H, t.shape[1], hd)
