"""Training under autocast: a compiled autocast step equals the eager one bit for bit; a nanoGPT-style script (its
dtype switch, GradScaler(enabled=...), `ctx = nullcontext() if device_type == 'cpu' else autocast(...)`, and
autocast on the CPU too) runs and learns; the seed MLP trained under autocast reaches float32's accuracy."""
import os
from contextlib import nullcontext

import numpy as np
import pytest

import eagerlab as el
import eagerlab.nn as nn
import eagerlab.nn.functional as F

MNIST_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "mnist")


def _mlp(seed=0):
    el.manual_seed(seed)
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 4))
    return model, el.optim.AdamW(model.parameters(), lr=1e-2)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_a_compiled_autocast_step_equals_the_eager_one(dtype):
    rng = np.random.default_rng(0)
    x, y = el.tensor(rng.standard_normal((16, 20)).astype(np.float32)), el.tensor(rng.integers(0, 4, 16))

    def step(model, opt, x, y):
        opt.zero_grad()
        with el.autocast("cpu", dtype=getattr(el, dtype)):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    eager, compiled = _mlp(), _mlp()
    compiled_step = el.function(lambda x, y: step(*compiled, x, y))
    for _ in range(3):
        assert step(*eager, x, y).item() == compiled_step(x, y).item()
    for a, b in zip(eager[0].parameters(), compiled[0].parameters()):
        assert a.dtype is el.float32 and (a == b).all()
    graph = str(compiled_step.get_concrete_function(x, y).graph)
    assert f"{dtype}" in graph and "cast" in graph  # the casts are graph nodes
    with el.autocast("cpu", dtype=getattr(el, dtype)):  # an ambient autocast is part of the signature
        assert (el.function(lambda x: eager[0](x))(x)).dtype.name == dtype


class _Block(nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)
        self.c_attn, self.c_proj = nn.Linear(n_embd, 3 * n_embd), nn.Linear(n_embd, n_embd)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(), nn.Linear(4 * n_embd, n_embd))
        self.n_head = n_head

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        # (nanoGPT calls .view here; eagerlab's view refuses split's non-contiguous chunks so far, reshape copies)
        q, k, v = (t.reshape(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))
        return x + self.mlp(self.ln_2(x))


class _GPT(nn.Module):
    def __init__(self, vocab=16, block=8, n_embd=16):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, n_embd), nn.Embedding(block, n_embd)
        self.h, self.ln_f = _Block(n_embd, 2), nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab, bias=False)
        self.wte.weight = self.lm_head.weight  # weight tying, as nanoGPT

    def forward(self, idx, targets):
        pos = el.arange(0, idx.size(1), dtype=el.long)
        logits = self.lm_head(self.ln_f(self.h(self.wte(idx) + self.wpe(pos))))
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return logits, loss


@pytest.mark.parametrize("dtype,cpu_autocast", [("bfloat16", False), ("bfloat16", True), ("float16", True)])
def test_a_nanogpt_style_loop_runs(dtype, cpu_autocast):
    device_type = "cuda" if el.cuda.is_available() else "cpu"
    assert not el.cuda.is_bf16_supported() or device_type == "cuda"
    device_type = "cpu"  # (this test runs the CPU path wherever it runs)
    ptdtype = {"float32": el.float32, "bfloat16": el.bfloat16, "float16": el.float16}[dtype]
    ctx = nullcontext() if device_type == "cpu" and not cpu_autocast else el.amp.autocast(
        device_type=device_type, dtype=ptdtype)
    scaler = el.amp.GradScaler("cpu", enabled=(dtype == "float16"))
    el.manual_seed(0)
    model = _GPT()
    optimizer = el.optim.AdamW(model.parameters(), lr=3e-2, betas=(0.9, 0.95), weight_decay=0.1)
    data = el.tensor(np.tile(np.arange(16), 8))  # a sequence the model can learn to continue
    losses = []
    for it in range(40):
        ix = el.randint(0, len(data) - 9, (4,))
        X = el.stack([data[i:i + 8] for i in ix.tolist()])
        Y = el.stack([data[i + 1:i + 9] for i in ix.tolist()])
        for _ in range(2):  # gradient accumulation
            with ctx:
                logits, loss = model(X, Y)
                loss = loss / 2
            scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item() * 2)
    assert logits.dtype is (ptdtype if cpu_autocast else el.float32) and loss.dtype is el.float32
    assert all(p.dtype is el.float32 for p in model.parameters())
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5]), losses


def _digits():
    """(x_train, y_train, x_test, y_test): MNIST's test files split 8000/2000 when present, else the shipped
    8x8 digits."""
    from eagerlab.datasets import MNIST, load_digits

    if os.path.exists(os.path.join(MNIST_DIR, "t10k-images-idx3-ubyte.gz")):
        ds = MNIST(MNIST_DIR, train=False)
        x = (np.asarray(ds.data, np.float32) / 255.0 - 0.1307) / 0.3081
        y = np.asarray(ds.targets, np.int64)
        order = np.random.default_rng(0).permutation(len(x))
        x, y = x[order].reshape(len(x), -1), y[order]
        return x[:8000], y[:8000], x[8000:], y[8000:]
    images, labels = load_digits()
    x = ((images / 16.0 - 0.5) / 0.5).reshape(len(images), -1).astype(np.float32)
    return x[:1400], labels[:1400], x[1400:], labels[1400:]


def _train_seed_mlp(x, y, xt, yt, dtype):
    el.manual_seed(0)
    model = nn.Sequential(nn.Linear(x.shape[1], 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))
    opt = el.optim.AdamW(model.parameters(), lr=2e-3)
    scaler = el.amp.GradScaler("cpu", enabled=dtype == "float16")
    ctx = nullcontext() if dtype == "float32" else el.autocast("cpu", dtype=getattr(el, dtype))
    loader = el.utils.data.DataLoader(el.utils.data.TensorDataset(el.tensor(x), el.tensor(y)), batch_size=128,
                                      shuffle=True)
    for _ in range(1 if len(x) >= 8000 else 10):  # the shipped digits (1400 here) take several epochs to 85% and more
        for images, labels in loader:
            opt.zero_grad()
            with ctx:
                loss = F.cross_entropy(model(images), labels)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
    model.eval()
    with el.no_grad(), ctx:
        return (model(el.tensor(xt)).argmax(1).numpy() == yt).mean()


def test_the_seed_mlp_under_autocast_reaches_float32_accuracy():
    data = _digits()
    reference = _train_seed_mlp(*data, "float32")
    assert reference > 0.85
    for dtype in ("bfloat16", "float16"):
        assert abs(_train_seed_mlp(*data, dtype) - reference) <= 0.005, dtype
