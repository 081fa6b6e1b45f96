"""MultiheadAttention, TransformerEncoderLayer/TransformerEncoder, LayerNorm and F.scaled_dot_product_attention:
the same weights as PyTorch's layers give the same outputs and gradients (inputs and every parameter, eval mode);
float64 gradcheck; initialisation; errors that name the layer and the shapes."""
import copy

import numpy as np
import pytest

import eagerlab as el
import eagerlab.nn as nn
import eagerlab.nn.functional as F
from eagerlab.errors import DTypeError, ShapeError

from eagerlab.testing import load_into_torch

rng = np.random.default_rng(0)
E, H, L, S, N = 8, 2, 4, 5, 3


def _x(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def _bool_mask(*shape, attend=True):
    """A random bool mask in which every row keeps at least one key (True = masked for MHA, i.e. attend=False)."""
    m = rng.random(shape) < 0.35
    m[..., 0] = False
    return m if not attend else ~m


def compare(torch, layer, torch_layer, call, inputs, consts=(), rtol=2e-5, atol=2e-5):
    """call(lib, module, *tensors) on both frameworks; the float arrays in `inputs` become differentiable leaves,
    those in `consts` (masks) do not. Outputs, input gradients and parameter gradients must agree."""
    load_into_torch(layer, torch_layer)
    layer.eval(), torch_layer.eval()  # dropout off
    ours = [el.tensor(a, requires_grad=True) for a in inputs] + [el.tensor(c) for c in consts]
    theirs = [torch.tensor(a, requires_grad=True) for a in inputs] + [torch.tensor(c) for c in consts]
    out, want = call(el, layer, *ours), call(torch, torch_layer, *theirs)
    out, want = (out, want) if isinstance(out, tuple) else ((out,), (want,))
    for o, w in zip(out, want):
        assert (o is None) == (w is None)
        if o is not None:
            np.testing.assert_allclose(o.detach().numpy(), w.detach().numpy(), rtol=rtol, atol=atol)
    seed = rng.standard_normal(tuple(out[0].shape)).astype(np.float32)
    loss = (out[0] * el.tensor(seed)).sum() + (out[1].sum() if len(out) > 1 and out[1] is not None else 0)
    tloss = (want[0] * torch.tensor(seed)).sum() + (want[1].sum() if len(want) > 1 and want[1] is not None else 0)
    loss.backward(), tloss.backward()
    for o, w in zip(ours[:len(inputs)], theirs):
        np.testing.assert_allclose(o.grad.numpy(), w.grad.numpy(), rtol=rtol, atol=atol)
    torch_params = dict(torch_layer.named_parameters())
    assert sorted(torch_params) == sorted(name for name, _ in layer.named_parameters())
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), torch_params[name].grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=name)


def _mha(lib, **kw):
    return lib.nn.MultiheadAttention(E, H, **kw)


# ---- MultiheadAttention ----------------------------------------------------------------------------------------
MASKS = {  # name -> (key_padding_mask, attn_mask) builders for (N, S) and (L, S) / (N * H, L, S)
    "none": lambda: (None, None),
    "bool_attn_2d": lambda: (None, _bool_mask(L, S, attend=False)),
    "float_attn_3d": lambda: (None, _x(N * H, L, S)),
    "bool_padding": lambda: (_bool_mask(N, S, attend=False), None),
    "float_padding": lambda: (np.where(_bool_mask(N, S, attend=False), -np.inf, 0).astype(np.float32), None),
    "bool_both_3d": lambda: (_bool_mask(N, S, attend=False), _bool_mask(N * H, L, S, attend=False)),
    "float_both": lambda: (_x(N, S), _x(L, S)),
}


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("masks", sorted(MASKS))
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
def test_mha_cross_attention_matches_torch(batch_first, masks, need_weights, average):
    torch = pytest.importorskip("torch")
    kpm, am = MASKS[masks]()
    consts = [m for m in (kpm, am) if m is not None]
    seq = (lambda n, t: (N, t, n) if batch_first else (t, N, n))

    def call(lib, m, q, k, v, *cs):
        it = iter(cs)
        return m(q, k, v, key_padding_mask=next(it) if kpm is not None else None, need_weights=need_weights,
                 attn_mask=next(it) if am is not None else None, average_attn_weights=average)

    compare(torch, _mha(el, batch_first=batch_first), _mha(torch, batch_first=batch_first), call,
            [_x(*seq(E, L)), _x(*seq(E, S)), _x(*seq(E, S))], consts)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_self_attention_and_shared_key_value_paths(batch_first, need_weights):
    """query is key is value (one projection GEMM) and key is value (two): same results as PyTorch's paths."""
    torch = pytest.importorskip("torch")
    x = _x(N, L, E) if batch_first else _x(L, N, E)
    mask = _bool_mask(L, L, attend=False)
    compare(torch, _mha(el, batch_first=batch_first), _mha(torch, batch_first=batch_first),
            lambda lib, m, x, am: m(x, x, x, attn_mask=am, need_weights=need_weights), [x], [mask])
    mem = _x(N, S, E) if batch_first else _x(S, N, E)
    compare(torch, _mha(el, batch_first=batch_first), _mha(torch, batch_first=batch_first),
            lambda lib, m, q, kv: m(q, kv, kv, need_weights=need_weights), [x, mem])


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")  # PyTorch's, for bool + float masks
@pytest.mark.parametrize("kw", [dict(kdim=3, vdim=6), dict(kdim=3), dict(bias=False), dict(add_bias_kv=True),
                                dict(add_zero_attn=True), dict(add_bias_kv=True, add_zero_attn=True, kdim=5)])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_options_match_torch(kw, need_weights):
    torch = pytest.importorskip("torch")
    kdim, vdim = kw.get("kdim", E), kw.get("vdim", E)
    kpm, am = _bool_mask(N, S, attend=False), _x(L, S)
    compare(torch, _mha(el, **kw), _mha(torch, **kw),
            lambda lib, m, q, k, v, kpm, am: m(q, k, v, key_padding_mask=kpm, attn_mask=am, need_weights=need_weights),
            [_x(L, N, E), _x(S, N, kdim), _x(S, N, vdim)], [kpm, am])


@pytest.mark.parametrize("mask_rank", [2, 3])
def test_mha_unbatched_matches_torch(mask_rank):
    torch = pytest.importorskip("torch")
    am = _bool_mask(L, S, attend=False) if mask_rank == 2 else _bool_mask(H, L, S, attend=False)
    compare(torch, _mha(el), _mha(torch),
            lambda lib, m, q, k, v, kpm, am: m(q, k, v, key_padding_mask=kpm, attn_mask=am, average_attn_weights=False),
            [_x(L, E), _x(S, E), _x(S, E)], [_bool_mask(S, attend=False), am])


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_causal_hint_matches_torch(need_weights):
    torch = pytest.importorskip("torch")
    causal = np.triu(np.ones((L, L), bool), 1)
    compare(torch, _mha(el), _mha(torch), lambda lib, m, x, am: m(x, x, x, attn_mask=am, is_causal=True,
                                                                   need_weights=need_weights), [_x(L, N, E)], [causal])


def test_functional_mha_with_static_key_value_matches_torch():
    torch = pytest.importorskip("torch")
    arrays = [_x(L, N, E), _x(S, N, E), _x(3 * E, E), _x(3 * E), _x(E, E), _x(E), _x(N * H, S, E // H),
              _x(N * H, S, E // H)]
    kpm = _bool_mask(N, S, attend=False)

    def run(lib, fn):
        q, k, w, b, wo, bo, sk, sv = (lib.tensor(a) for a in arrays)
        return fn(q, k, k, E, H, w, b, None, None, False, 0.0, wo, bo, key_padding_mask=lib.tensor(kpm),
                  static_k=sk, static_v=sv, average_attn_weights=False)

    want = run(torch, torch.nn.functional.multi_head_attention_forward)
    for o, w in zip(run(el, F.multi_head_attention_forward), want):
        np.testing.assert_allclose(o.numpy(), w.numpy(), rtol=1e-5, atol=1e-5)


def test_mha_fully_masked_rows_follow_torch():
    """A query with no key to attend gives nan through the need_weights path and zeros through the fused path,
    as in PyTorch."""
    m = nn.MultiheadAttention(E, H)
    x = el.randn(L, 2, E)
    kpm = el.tensor([[True] * L, [False] * L])
    with el.no_grad():
        out, w = m(x, x, x, key_padding_mask=kpm)
        assert np.isnan(out.numpy()[:, 0]).all() and np.isfinite(out.numpy()[:, 1]).all()
        out, w = m(x, x, x, key_padding_mask=kpm, need_weights=False)
        assert w is None and np.allclose(out.numpy()[:, 0], m.out_proj.bias.detach().numpy())


def test_mha_parameters_init_and_state_dict_names():
    torch = pytest.importorskip("torch")
    for kw in ({}, dict(kdim=3, vdim=5, bias=False), dict(add_bias_kv=True)):
        ours, theirs = nn.MultiheadAttention(E, H, **kw), torch.nn.MultiheadAttention(E, H, **kw)
        assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
               [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    m = nn.MultiheadAttention(64, 4)
    w = m.in_proj_weight.detach().numpy()
    bound = np.sqrt(6 / (64 + 3 * 64))  # xavier_uniform_ on (3E, E)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert not m.in_proj_bias.detach().numpy().any() and not m.out_proj.bias.detach().numpy().any()


def test_mha_dropout_only_in_training():
    m = nn.MultiheadAttention(E, H, dropout=0.5)
    x = el.randn(L, N, E)
    with el.no_grad():
        el.manual_seed(1)
        a = m(x, x, x)[0].numpy()
        el.manual_seed(2)
        assert not np.allclose(a, m(x, x, x)[0].numpy())
        m.eval()
        assert np.allclose(m(x, x, x)[0].numpy(), m(x, x, x)[0].numpy())


def test_mha_gradcheck_float64():
    m = nn.MultiheadAttention(4, 2, kdim=3).double()
    q, k, v = (el.randn(*s, dtype=el.float64, requires_grad=True) for s in ((3, 2, 4), (2, 2, 3), (2, 2, 4)))
    kpm = el.tensor([[False, True], [False, False]])

    def fn(q, k, v, *params):
        out, w = m(q, k, v, key_padding_mask=kpm)
        return out, w

    assert el.autograd.gradcheck(fn, (q, k, v, *m.parameters()))


def test_mha_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"embed_dim \(10\) must be divisible by num_heads \(3\)"):
        nn.MultiheadAttention(10, 3)
    m = nn.MultiheadAttention(E, H)
    x = el.randn(L, N, E)
    with pytest.raises(ShapeError, match=r"MultiheadAttention embed_dim=8, num_heads=2: .*2-D attn_mask has shape "
                                         r"\(3, 4\), but should be \(4, 4\)"):
        m(x, x, x, attn_mask=el.zeros(3, 4))
    with pytest.raises(ShapeError, match=r"3-D attn_mask has shape \(3, 4, 4\), but should be \(6, 4, 4\)"):
        m(x, x, x, attn_mask=el.zeros(3, 4, 4))
    with pytest.raises(ShapeError, match=r"key_padding_mask of shape \(3, 4\) \(batch, keys\), got \(4, 3\)"):
        m(x, x, x, key_padding_mask=el.zeros(4, 3, dtype=el.bool))
    with pytest.raises(ShapeError, match=r"embedding dimension 8, got query \(4, 3, 6\)"):
        m(el.randn(4, 3, 6), x, x)
    with pytest.raises(DTypeError, match="key_padding_mask of dtype int64"):
        m(x, x, x, key_padding_mask=el.zeros(3, 4, dtype=el.int64))
    with pytest.raises(ValueError, match="is_causal=True is a hint"):
        m(x, x, x, is_causal=True)
    with pytest.raises(ShapeError, match=r"key \(4, 3, 8\) has 8 features, but its projection weight \(8, 5\)"):
        nn.MultiheadAttention(E, H, kdim=5)(x, x, x)
    layer = nn.TransformerEncoderLayer(E, H, 16)
    with pytest.raises(ShapeError, match=r"^self_attn \(MultiheadAttention embed_dim=8, num_heads=2\) "
                                         r"multi_head_attention_forward: the 2-D attn_mask"):
        layer(x, src_mask=el.zeros(2, 2))


# ---- scaled_dot_product_attention (values against PyTorch are in the generic op tests) ---------------------------
def test_sdpa_dropout_and_errors():
    q, ones = el.randn(2, 3, 4), el.ones(2, 3, 4)
    assert np.allclose(F.scaled_dot_product_attention(q, q, ones).numpy(), 1.0)  # weights sum to 1
    out = F.scaled_dot_product_attention(q, q, ones, dropout_p=0.5).numpy()  # weights are dropped, not values
    assert not np.allclose(out, 1.0) and np.isfinite(out).all()
    assert not F.scaled_dot_product_attention(q, q, ones, dropout_p=1.0).numpy().any()
    with pytest.raises(ShapeError, match=r"scaled_dot_product_attention: expected query \(\.\.\., L, E\).*query "
                                         r"\(2, 3, 4\), key \(2, 3, 5\)"):
        F.scaled_dot_product_attention(q, el.randn(2, 3, 5), q)
    with pytest.raises(ShapeError, match=r"attn_mask \(4, 3\) must broadcast to the scores .* \(2, 3, 3\)"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=el.ones(4, 3, dtype=el.bool))
    with pytest.raises(DTypeError, match="attn_mask to be a bool tensor or of the query's dtype float32, got int64"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=el.ones(3, 3, dtype=el.int64))
    with pytest.raises(ValueError, match="attn_mask should not be set when is_causal=True"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=el.ones(3, 3, dtype=el.bool), is_causal=True)
    with pytest.raises(ShapeError, match="enable_gqa"):
        F.scaled_dot_product_attention(el.randn(1, 3, 2, 4), el.randn(1, 2, 2, 4), el.randn(1, 2, 2, 4),
                                       enable_gqa=True)


# ---- LayerNorm (temporary composite; these tests check the fused op that replaces it) ---------------------------
@pytest.mark.parametrize("kw", [dict(), dict(elementwise_affine=False), dict(bias=False), dict(eps=1e-2)])
@pytest.mark.parametrize("shape", [(8,), (3, 8)])
def test_layer_norm_matches_torch(kw, shape):
    torch = pytest.importorskip("torch")
    layer, tlayer = nn.LayerNorm(shape, **kw), torch.nn.LayerNorm(shape, **kw)
    if layer.weight is not None:
        with el.no_grad():
            layer.weight.copy_(el.tensor(_x(*shape)))
    compare(torch, layer, tlayer, lambda lib, m, x: m(x), [_x(2, 4, *shape) * 3 + 1])
    assert repr(layer) == repr(tlayer)


def test_layer_norm_errors_and_gradcheck():
    with pytest.raises(ShapeError, match=r"LayerNorm: layer_norm: normalized_shape \(8,\) does not match the last dims of "
                                         r"input \(2, 7\)"):
        nn.LayerNorm(8)(el.zeros(2, 7))
    layer = nn.LayerNorm(4).double()
    with el.no_grad():
        layer.weight.copy_(el.randn(4, dtype=el.float64))
    x = el.randn(3, 4, dtype=el.float64, requires_grad=True)
    assert el.autograd.gradcheck(lambda x, *p: layer(x), (x, *layer.parameters()))


# ---- TransformerEncoderLayer / TransformerEncoder -----------------------------------------------------------------
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu", "callable"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_matches_torch(norm_first, activation, batch_first):
    torch = pytest.importorskip("torch")
    act = {"relu": ("relu", "relu"), "gelu": ("gelu", "gelu"),
           "callable": (nn.GELU(approximate="tanh"), torch.nn.GELU(approximate="tanh"))}[activation]
    kw = dict(dim_feedforward=16, norm_first=norm_first, batch_first=batch_first)
    ours, theirs = nn.TransformerEncoderLayer(E, H, activation=act[0], **kw), \
        torch.nn.TransformerEncoderLayer(E, H, activation=act[1], **kw)
    x = _x(N, S, E) if batch_first else _x(S, N, E)
    compare(torch, ours, theirs, lambda lib, m, x, am, kpm: m(x, src_mask=am, src_key_padding_mask=kpm), [x],
            [_bool_mask(S, S, attend=False), _bool_mask(N, S, attend=False)], rtol=1e-4, atol=1e-4)


def test_encoder_layer_unbatched_and_no_bias():
    torch = pytest.importorskip("torch")
    kw = dict(dim_feedforward=12, bias=False)
    compare(torch, nn.TransformerEncoderLayer(E, H, **kw), torch.nn.TransformerEncoderLayer(E, H, **kw),
            lambda lib, m, x: m(x), [_x(S, E)], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("mask", ["causal", "padding"])
def test_encoder_of_two_layers_with_final_norm_matches_torch(mask):
    torch = pytest.importorskip("torch")
    kw = dict(dim_feedforward=16, batch_first=True)
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, **kw), 2, norm=nn.LayerNorm(E))
    theirs = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(E, H, **kw), 2, norm=torch.nn.LayerNorm(E),
                                         enable_nested_tensor=False)
    with el.no_grad():  # distinct layers, distinct norm weights: the comparison sees any mix-up
        for p in ours.parameters():
            p.copy_(el.tensor(_x(*p.shape) * 0.3))
    if mask == "causal":
        m = np.triu(np.full((S, S), -np.inf, np.float32), 1)
        call = lambda lib, enc, x, m: enc(x, mask=m)  # noqa: E731  (detected as causal)
        consts = [m]
    else:
        call = lambda lib, enc, x, kpm: enc(x, src_key_padding_mask=kpm)  # noqa: E731
        consts = [_bool_mask(N, S, attend=False)]
    compare(torch, ours, theirs, call, [_x(N, S, E)], consts, rtol=1e-4, atol=1e-4)


def test_encoder_deep_copies_layers_and_state_dict_names():
    torch = pytest.importorskip("torch")
    layer = nn.TransformerEncoderLayer(E, H, 16)
    enc = nn.TransformerEncoder(layer, 3)
    ws = [m.linear1.weight for m in enc.layers]
    assert len({id(w) for w in ws}) == 3 and all(w is not layer.linear1.weight for w in ws)
    assert all(np.array_equal(w.detach().numpy(), layer.linear1.weight.detach().numpy()) for w in ws)
    with el.no_grad():
        ws[0].add_(1.0)
    assert not np.array_equal(ws[0].detach().numpy(), ws[1].detach().numpy())
    assert enc.layers[1].activation is F.relu
    theirs = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(E, H, 16), 3, enable_nested_tensor=False)
    assert list(enc.state_dict()) == list(theirs.state_dict())
    copy.deepcopy(enc).load_state_dict(enc.state_dict())


def test_encoder_layer_training_dropout_and_errors():
    layer = nn.TransformerEncoderLayer(E, H, 16, dropout=0.5)
    x = el.randn(S, N, E)
    with el.no_grad():
        el.manual_seed(3)
        a = layer(x).numpy()
        el.manual_seed(4)
        assert not np.allclose(a, layer(x).numpy())
    with pytest.raises(ValueError, match="activation should be relu/gelu, not 'tanh'"):
        nn.TransformerEncoderLayer(E, H, activation="tanh")
    with pytest.raises(ShapeError, match=r"^layers\.0\.self_attn \(MultiheadAttention embed_dim=8, num_heads=2\) "
                                         r".*key_padding_mask of shape \(3, 5\)"):
        nn.TransformerEncoder(layer, 2)(x, src_key_padding_mask=el.zeros(3, 4, dtype=el.bool))


def test_encoder_layer_gradcheck_float64():
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, activation="gelu", norm_first=True).double()
    x = el.randn(3, 2, 4, dtype=el.float64, requires_grad=True)
    mask = el.tensor(np.triu(np.ones((3, 3), bool), 1))
    assert el.autograd.gradcheck(lambda x, *p: layer(x, src_mask=mask), (x, *layer.parameters()))
