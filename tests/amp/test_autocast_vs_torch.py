"""The autocast op policy against PyTorch's: for each op of the policy (and ops outside it, which must run as is),
the output dtype under autocast(cpu, bfloat16) and autocast(cpu, float16) equals torch's, and the values agree
within the output dtype's rounding."""
import numpy as np
import pytest

import eagerlab as el
import eagerlab.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

_R = np.random.default_rng(0)


def _arr(*shape, positive=False):
    a = _R.standard_normal(shape).astype(np.float32)
    return np.abs(a) + 0.1 if positive else a


X, W, B, Y = _arr(4, 8), _arr(8, 8), _arr(8), _arr(4, 8)
IMG, K, K1 = _arr(2, 3, 6, 6), _arr(4, 3, 3, 3), _arr(4, 3, 3)
T = np.array([1, 0, 3, 7])
P = 1 / (1 + np.exp(-X))

# name -> (function of a namespace of (lib, functional), arguments). "bf" marks an operand given in bfloat16 (the
# autocast dtype's sibling, for ops that keep their input's type), "x" a plain float32 operand.
CASES = {
    "matmul": (lambda m, f, a, b: a @ b, (X, W)),
    "mm": (lambda m, f, a, b: m.mm(a, b), (X, W)),
    "bmm": (lambda m, f, a, b: m.bmm(a[None], b[None]), (X, W)),
    "linear": (lambda m, f, a, b, c: f.linear(a, b, c), (X, W, B)),
    "linear_no_bias": (lambda m, f, a, b: f.linear(a, b), (X, W)),
    "addmm": (lambda m, f, c, a, b: m.addmm(c, a, b), (B, X, W)),
    "baddbmm": (lambda m, f, c, a, b: m.baddbmm(c[None], a[None], b[None]), (X, X, W)),
    "einsum": (lambda m, f, a, b: m.einsum("ij,jk->ik", a, b), (X, W)),
    "tensordot": (lambda m, f, a, b: m.tensordot(a, b, 1), (X, W)),
    "conv1d": (lambda m, f, a, b: f.conv1d(a, b), (IMG[:, :, 0], K1)),
    "conv2d": (lambda m, f, a, b: f.conv2d(a, b, padding=1), (IMG, K)),
    "conv_transpose2d": (lambda m, f, a, b: f.conv_transpose2d(a, b.transpose(0, 1)), (IMG, K)),
    "sdpa": (lambda m, f, q, k: f.scaled_dot_product_attention(q[None], k[None], k[None]), (X, Y)),
    "mv": (lambda m, f, a, b: m.mv(a, b), (W, B)),
    "dot": (lambda m, f, a: m.dot(a, a), (B,)),
    "softmax": (lambda m, f, a: f.softmax(a, -1), (X,)),
    "softmax_bf": (lambda m, f, a: f.softmax(a.bfloat16(), -1), (X,)),
    "log_softmax_bf": (lambda m, f, a: f.log_softmax(a.bfloat16(), -1), (X,)),
    "exp_bf": (lambda m, f, a: a.bfloat16().exp(), (X,)),
    "sum_bf": (lambda m, f, a: a.bfloat16().sum(), (X,)),
    "layer_norm_bf": (lambda m, f, a, w: f.layer_norm(a.bfloat16(), (8,), w, w), (X, B)),
    "cross_entropy": (lambda m, f, a, t: f.cross_entropy(a.bfloat16(), t), (X, T)),
    "nll_loss": (lambda m, f, a, t: f.nll_loss(f.log_softmax(a.bfloat16(), -1), t), (X, T)),
    "mse_loss": (lambda m, f, a, b: f.mse_loss(a.bfloat16(), b.bfloat16()), (X, Y)),
    "l1_loss": (lambda m, f, a, b: f.l1_loss(a.bfloat16(), b.bfloat16()), (X, Y)),
    "smooth_l1_loss": (lambda m, f, a, b: f.smooth_l1_loss(a.bfloat16(), b.bfloat16()), (X, Y)),
    "huber_loss": (lambda m, f, a, b: f.huber_loss(a.bfloat16(), b.bfloat16()), (X, Y)),
    "kl_div": (lambda m, f, a, b: f.kl_div(a.bfloat16(), b.bfloat16(), reduction="batchmean"), (X, P)),
    "binary_cross_entropy": (lambda m, f, a, b: f.binary_cross_entropy(a.bfloat16(), b.bfloat16()), (P, P)),
    "bce_with_logits": (lambda m, f, a, b: f.binary_cross_entropy_with_logits(a.bfloat16(), b.bfloat16()), (X, P)),
    "cosine_embedding_loss": (lambda m, f, a, b, t: f.cosine_embedding_loss(a.bfloat16(), b.bfloat16(), t),
                              (X, Y, np.ones(4, np.float32))),
    "prod_bf": (lambda m, f, a: (a.bfloat16() * 0.5 + 1).prod(), (P,)),
    "pad_reflect": (lambda m, f, a: f.pad(a.bfloat16()[None], (1, 1), mode="reflect"), (X,)),
    "pad_replicate": (lambda m, f, a: f.pad(a.bfloat16()[None], (1, 1), mode="replicate"), (X,)),
    "pad_constant": (lambda m, f, a: f.pad(a.bfloat16(), (1, 1)), (X,)),
    "cat_promote": (lambda m, f, a, b: m.cat([a.bfloat16(), b]), (X, Y)),
    "add_mixed": (lambda m, f, a, b: a.bfloat16() + b, (X, Y)),
    "matmul_f64": (lambda m, f, a, b: a.double() @ b.double(), (X, W)),
    "matmul_int": (lambda m, f, a, b: a.long() @ b.long(), (X, W)),
    "mlp": (lambda m, f, a, w, b: f.cross_entropy(f.linear(f.relu(f.linear(a, w, b)), w), m.tensor([1, 0, 3, 7])),
            (X, W, B)),
}
# PyTorch 2.13's CPU autocast refuses cat of bfloat16 and float32 operands under float16 autocast
_TORCH_RAISES = {("cat_promote", "float16")}
_TOL = {"bfloat16": (2e-2, 2e-2), "float16": (2e-3, 2e-3), "float32": (1e-4, 1e-5), "float64": (1e-9, 1e-12),
        "int64": (0, 0)}


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_output_dtype_and_values_match_torch(case, dtype):
    if (case, dtype) in _TORCH_RAISES:
        pytest.skip("torch raises for this mix")
    fn, arrays = CASES[case]
    with torch.autocast("cpu", dtype=getattr(torch, dtype)):
        expected = fn(torch, TF, *[torch.from_numpy(a) for a in arrays])
    with el.autocast("cpu", dtype=getattr(el, dtype)):
        got = fn(el, F, *[el.tensor(a) for a in arrays])
    expected_dtype = str(expected.dtype).replace("torch.", "")
    assert got.dtype.name == expected_dtype, f"{case}: {got.dtype.name} vs torch {expected_dtype}"
    rtol, atol = _TOL[expected_dtype]
    if expected_dtype == "float32" and "bfloat16" in CASES[case][0].__code__.co_names:
        rtol, atol = _TOL["bfloat16"]  # float32 of bfloat16 operands: computed from numbers rounded to bfloat16
    want = expected.float().numpy() if expected.is_floating_point() else expected.numpy()
    # a sum of k roundings may differ by a few units of the output's magnitude (torch's float16 conv_transpose2d
    # rounds partial sums; ours rounds once, and is the closer to float64)
    np.testing.assert_allclose(got.float().numpy() if got.dtype.is_floating_point else got.numpy(), want,
                               rtol=rtol, atol=atol * max(1.0, float(np.abs(want).max(initial=0))))


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_gradients_flow_back_in_the_parameters_dtype_as_torch(dtype):
    def run(m, f, autocast):
        w = m.tensor(W, requires_grad=True)
        b = m.tensor(B, requires_grad=True)
        with autocast("cpu", dtype=getattr(m, dtype)):
            h = f.relu(f.linear(m.tensor(X), w, b))
            loss = f.cross_entropy(f.linear(h, w), m.tensor(T))
        loss.backward()
        return loss, w.grad, b.grad

    ours = run(el, F, el.autocast)
    theirs = run(torch, TF, torch.autocast)
    for a, b in zip(ours, theirs):
        assert a.dtype.name == str(b.dtype).replace("torch.", "") == "float32"
    np.testing.assert_allclose(ours[0].item(), theirs[0].item(), rtol=2e-2)
    for a, b in zip(ours[1:], theirs[1:]):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=5e-2, atol=3e-2)
