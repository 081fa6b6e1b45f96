"""TransformerDecoderLayer, TransformerDecoder and Transformer: the same weights as PyTorch's layers give the same
outputs and gradients (inputs and every parameter, eval mode) under every mask kind; float64 gradcheck; the
causal mask helper, state_dict names, initialisation and errors."""
import numpy as np
import pytest

import eagerlab as el
import eagerlab.nn as nn
from eagerlab.errors import ShapeError

from .test_transformer import E, H, N, S, _bool_mask, _x, compare

pytestmark = [pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask"),  # PyTorch's own
              pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")]
T = 4  # target length (S is the memory / source length)


def _causal(n):
    return np.triu(np.full((n, n), -np.inf, np.float32), 1)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_decoder_layer_with_every_mask_matches_torch(norm_first, batch_first, activation):
    torch = pytest.importorskip("torch")
    kw = dict(dim_feedforward=16, norm_first=norm_first, batch_first=batch_first, activation=activation)
    seq = (lambda t: (N, t, E)) if batch_first else (lambda t: (t, N, E))

    def call(lib, m, tgt, mem, tm, mm, tkpm, mkpm):
        return m(tgt, mem, tgt_mask=tm, memory_mask=mm, tgt_key_padding_mask=tkpm, memory_key_padding_mask=mkpm)

    compare(torch, nn.TransformerDecoderLayer(E, H, **kw), torch.nn.TransformerDecoderLayer(E, H, **kw), call,
            [_x(*seq(T)), _x(*seq(S))],
            [_causal(T), _bool_mask(T, S, attend=False), _bool_mask(N, T, attend=False),
             _bool_mask(N, S, attend=False)], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("tgt_is_causal", [True, False])
def test_decoder_layer_causal_hint_unbatched_and_no_bias_match_torch(tgt_is_causal):
    torch = pytest.importorskip("torch")
    kw = dict(dim_feedforward=12, bias=False, activation="gelu")
    compare(torch, nn.TransformerDecoderLayer(E, H, **kw), torch.nn.TransformerDecoderLayer(E, H, **kw),
            lambda lib, m, tgt, mem, tm: m(tgt, mem, tgt_mask=tm, tgt_is_causal=tgt_is_causal),
            [_x(T, E), _x(S, E)], [_causal(T)], rtol=1e-4, atol=1e-4)


def test_decoder_of_two_layers_detects_the_causal_mask_and_matches_torch():
    torch = pytest.importorskip("torch")
    kw = dict(dim_feedforward=16, batch_first=True)
    ours = nn.TransformerDecoder(nn.TransformerDecoderLayer(E, H, **kw), 2, norm=nn.LayerNorm(E))
    theirs = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(E, H, **kw), 2, norm=torch.nn.LayerNorm(E))
    with el.no_grad():  # distinct layers and norm weights: the comparison sees any mix-up
        for p in ours.parameters():
            p.copy_(el.tensor(_x(*p.shape) * 0.3))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    compare(torch, ours, theirs,
            lambda lib, m, tgt, mem, tm, mkpm: m(tgt, mem, tgt_mask=tm, memory_key_padding_mask=mkpm),
            [_x(N, T, E), _x(N, S, E)], [_causal(T), _bool_mask(N, S, attend=False)], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_seq2seq_matches_torch(batch_first):
    torch = pytest.importorskip("torch")
    kw = dict(d_model=E, nhead=H, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=16,
              batch_first=batch_first)
    ours, theirs = nn.Transformer(**kw), torch.nn.Transformer(**kw)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
           [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    seq = (lambda t: (N, t, E)) if batch_first else (lambda t: (t, N, E))
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(T).numpy()

    def call(lib, m, src, tgt, tm, skpm, tkpm):
        return m(src, tgt, tgt_mask=tm, src_key_padding_mask=skpm, tgt_key_padding_mask=tkpm,
                 memory_key_padding_mask=skpm)

    compare(torch, ours, theirs, call, [_x(*seq(S)), _x(*seq(T))],
            [tgt_mask, _bool_mask(N, S, attend=False), _bool_mask(N, T, attend=False)], rtol=1e-4, atol=1e-4)


def test_generate_square_subsequent_mask_and_init_follow_torch():
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(nn.Transformer.generate_square_subsequent_mask(5).numpy(),
                                  torch.nn.Transformer.generate_square_subsequent_mask(5).numpy())
    m = nn.Transformer.generate_square_subsequent_mask(3, dtype=el.float64)
    assert m.dtype == el.float64 and m.shape == (3, 3)
    model = nn.Transformer(16, 2, 1, 1, 32)
    w = model.decoder.layers[0].linear1.weight.detach().numpy()
    bound = np.sqrt(6 / (16 + 32))  # xavier_uniform_ on every matrix, biases left alone
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert model.encoder.norm is not None and model.decoder.norm is not None
    assert len(model.encoder.layers) == 1 and model.d_model == 16 and model.nhead == 2


def test_custom_encoder_decoder_and_errors():
    dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(E, H, 16), 1)
    model = nn.Transformer(E, H, 1, 1, 16, custom_decoder=dec)
    assert model.decoder is dec
    src, tgt = el.randn(S, N, E), el.randn(T, N, E)
    assert model(src, tgt).shape == (T, N, E)
    with pytest.raises(ShapeError, match=r"Transformer: the batch sizes of src \(5, 3, 8\) and tgt \(4, 2, 8\) must"):
        model(src, el.randn(T, 2, E))
    with pytest.raises(ShapeError, match=r"must equal d_model=8"):
        model(el.randn(S, N, 6), el.randn(T, N, 6))
    with pytest.raises(ValueError, match="TransformerDecoderLayer: activation should be relu/gelu, not 'tanh'"):
        nn.TransformerDecoderLayer(E, H, activation="tanh")
    with pytest.raises(TypeError, match="TransformerDecoder: the layer to repeat must be a Module, got int"):
        nn.TransformerDecoder(3, 2)
    with pytest.raises(ShapeError, match=r"^layers\.0\.multihead_attn \(MultiheadAttention .*key_padding_mask of "
                                         r"shape \(3, 5\)"):
        dec(tgt, src, memory_key_padding_mask=el.zeros(3, 4, dtype=el.bool))
    with pytest.raises(ValueError, match="is_causal=True is a hint"):
        dec(tgt, src, tgt_is_causal=True)


def test_decoder_layer_gradcheck_float64():
    layer = nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0, norm_first=True).double()
    tgt = el.randn(3, 2, 4, dtype=el.float64, requires_grad=True)
    mem = el.randn(2, 2, 4, dtype=el.float64, requires_grad=True)
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=el.float64)
    # the inputs and the cross-attention's weights (the path the encoder tests do not cover) keep it quick
    w = layer.multihead_attn.in_proj_weight
    assert el.autograd.gradcheck(lambda t, m, w: layer(t, m, tgt_mask=mask), (tgt, mem, w))


def test_multihead_attention_at_pytorchs_module_path():
    from eagerlab.nn.modules.activation import MultiheadAttention
    assert MultiheadAttention is nn.MultiheadAttention
