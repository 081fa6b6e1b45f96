"""TransformerEncoderLayer, TransformerEncoder, TransformerDecoderLayer, TransformerDecoder and Transformer:
PyTorch's submodule names, so state_dicts interchange."""
import copy

from ...autograd.interpreter import current
from ...errors import ShapeError, fmt_shape
from ...ops.attention import causal_bias
from ...ops.creation import full
from .. import functional as F
from .. import init
from .._attention import _canonical_mask
from .activation import GELU, ReLU
from .attention import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


class _TransformerLayer(Module):
    """What the encoder and decoder layers share: the self-attention block and the feed-forward block, each ending
    in its dropout (PyTorch's names: dropout1 after self-attention, the last dropoutN after the feed-forward)."""

    _ff_dropout = None  # the name of the feed-forward block's final dropout

    def _build(self, attentions, d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
               norm_first, bias, factory):
        """The submodules in PyTorch's order (state_dict order): the attentions, linear1, dropout, linear2, one
        norm and one dropout per block."""
        for name in attentions:
            setattr(self, name, MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                   batch_first=batch_first, **factory))
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = norm_first
        blocks = range(1, len(attentions) + 2)
        for i in blocks:
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory))
        for i in blocks:
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = _resolve_activation(activation, type(self).__name__)

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False,
                           is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return getattr(self, self._ff_dropout)(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def _describe(self):
        return f"{type(self).__name__} d_model={self.self_attn.embed_dim}, nhead={self.self_attn.num_heads}"


class TransformerEncoderLayer(_TransformerLayer):
    """Self-attention then a feed-forward block (linear1 -> activation -> dropout -> linear2), each with a
    residual connection and LayerNorm: after the residual (norm_first=False, the original post-norm layer) or
    before the block (norm_first=True)."""

    _ff_dropout = "dropout2"

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu, layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        self._build(("self_attn",), d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                    batch_first, norm_first, bias, {"device": device, "dtype": dtype})
        # PyTorch's flag for its fused path; kept so code that reads it works
        self.activation_relu_or_gelu = 1 if self.activation is F.relu or isinstance(self.activation, ReLU) else \
            2 if self.activation is F.gelu or isinstance(self.activation, GELU) else 0

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        """src (S, N, E), or (N, S, E) with batch_first, or unbatched (S, E); masks as in MultiheadAttention."""
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))



class TransformerEncoder(Module):
    """num_layers deep copies of encoder_layer (`layers.0`, `layers.1`, ...) applied in turn, then `norm` if given.

    enable_nested_tensor and mask_check are accepted for PyTorch compatibility; eagerlab has no nested-tensor
    fast path, so they change nothing."""

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers, "TransformerEncoder")
        self.num_layers, self.norm = num_layers, norm
        self.enable_nested_tensor = self.use_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        """is_causal=None detects a causal `mask` (PyTorch's rule), so the layers may use the causal hint."""
        if is_causal is None:
            is_causal = _is_causal_mask(mask, src, self.layers)
        out = src
        for layer in self.layers:
            out = layer(out, src_mask=mask, is_causal=is_causal, src_key_padding_mask=src_key_padding_mask)
        return out if self.norm is None else self.norm(out)


def _resolve_activation(activation, layer):
    """'relu' / 'gelu' as the functional, a callable as it is."""
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise ValueError(f"{layer}: activation should be relu/gelu, not {activation!r}")
        return _ACTIVATIONS[activation]
    if not callable(activation):
        raise TypeError(f"{layer}: activation must be 'relu', 'gelu' or a callable, got {type(activation).__name__}")
    return activation


def _is_causal_mask(mask, x, layers):
    """True when `mask` (bool or additive float) is exactly the causal mask for x's sequence length (PyTorch's
    detection when is_causal=None), so the layers may take the causal hint."""
    mask = _canonical_mask(mask, "mask", x)
    if mask is None:
        return False
    first = layers[0] if len(layers) else None
    batch_first = getattr(getattr(first, "self_attn", None), "batch_first", False)
    size = x.shape[1 if batch_first and x.ndim == 3 else 0]
    if tuple(mask.shape) != (size, size):
        return False
    # while traced (eagerlab.function, export) the mask's values are not known: no hint then, and the layers apply
    # the mask as given, which computes the same
    return current().static_value((mask == causal_bias(size, size, mask)).all()) is True


def _clones(layer, num_layers, owner):
    if not isinstance(layer, Module):
        raise TypeError(f"{owner}: the layer to repeat must be a Module, got {type(layer).__name__}")
    return ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])


class TransformerDecoderLayer(_TransformerLayer):
    """Self-attention over the target, attention to the encoder's output (`memory`), then the feed-forward block;
    each with a residual connection and LayerNorm, after the residual (norm_first=False) or before the block."""

    _ff_dropout = "dropout3"

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu, layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        self._build(("self_attn", "multihead_attn"), d_model, nhead, dim_feedforward, dropout, activation,
                    layer_norm_eps, batch_first, norm_first, bias, {"device": device, "dtype": dtype})

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        """tgt (T, N, E) and memory (S, N, E) (batch first with batch_first, or unbatched); tgt_mask (T, T),
        memory_mask (T, S) and the padding masks as in MultiheadAttention; *_is_causal hint that the mask given
        is the causal one."""
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
        return self.norm3(x + self._ff_block(x))

    def _mha_block(self, x, memory, attn_mask, key_padding_mask, is_causal):
        x = self.multihead_attn(x, memory, memory, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                need_weights=False, is_causal=is_causal)[0]
        return self.dropout2(x)



class TransformerDecoder(Module):
    """num_layers deep copies of decoder_layer (`layers.0`, ...) applied in turn to the target, each attending to
    the same memory, then `norm` if given."""

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers, "TransformerDecoder")
        self.num_layers, self.norm = num_layers, norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        """tgt_is_causal=None detects a causal tgt_mask (PyTorch's rule)."""
        if tgt_is_causal is None:
            tgt_is_causal = _is_causal_mask(tgt_mask, tgt, self.layers)
        out = tgt
        for layer in self.layers:
            out = layer(out, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                        tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                        tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        return out if self.norm is None else self.norm(out)


class Transformer(Module):
    """The encoder-decoder Transformer (Vaswani et al. 2017): `encoder` (a TransformerEncoder with a final
    LayerNorm) reads src, `decoder` (a TransformerDecoder with a final LayerNorm) reads tgt and the encoder's
    output. Matrices are initialised xavier_uniform_, as in PyTorch."""

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6, dim_feedforward=2048,
                 dropout=0.1, activation=F.relu, custom_encoder=None, custom_decoder=None, layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        layer = dict(dim_feedforward=dim_feedforward, dropout=dropout, activation=activation,
                     layer_norm_eps=layer_norm_eps, batch_first=batch_first, norm_first=norm_first, bias=bias,
                     **factory)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(TransformerEncoderLayer(d_model, nhead, **layer), num_encoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(TransformerDecoderLayer(d_model, nhead, **layer), num_decoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory))
        self._reset_parameters()
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def _reset_parameters(self):
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        """src (S, N, E), tgt (T, N, E) (batch first with batch_first, or unbatched); returns (T, N, E)."""
        batch_dim = 0 if self.batch_first else 1
        if src.ndim == 3 and tgt.ndim == 3 and src.shape[batch_dim] != tgt.shape[batch_dim]:
            raise ShapeError(f"Transformer: the batch sizes of src {fmt_shape(src.shape)} and tgt "
                             f"{fmt_shape(tgt.shape)} must be equal (dim {batch_dim}, batch_first={self.batch_first})")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ShapeError(f"Transformer: the feature sizes of src {fmt_shape(src.shape)} and tgt "
                             f"{fmt_shape(tgt.shape)} must equal d_model={self.d_model}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """The (sz, sz) causal mask: 0 on and below the diagonal, -inf above (position i sees 0..i)."""
        return full((sz, sz), float("-inf"), dtype=dtype, device=device).triu(1)
