"""A small GPT's training step (the shapes of nanoGPT's character-level Shakespeare run on CPU: 2 pre-norm blocks,
4 heads, width 128, context 64, batch 12, 65-symbol vocabulary, tied input/output embedding, no biases), forward +
backward + gradient clipping + AdamW, in milliseconds per step.

The model is written here once against the PyTorch API, so eagerlab and PyTorch run the same code; each library
runs in its own process, alternating, best of several rounds (contention only ever adds time). With `--threads 1`
(the default) both are pinned to one thread and the clock is the calling thread's CPU time (time.thread_time), so
other load on a shared machine is not counted; `--threads 0` uses each library's default threads and wall time.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/gpt_step.py [--threads 1] [--rounds 3]
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _timing import per_call_us, try_torch  # noqa: E402

LAYERS, HEADS, WIDTH, CONTEXT, BATCH, VOCAB = 2, 4, 128, 64, 12, 65
CASES = [("dropout 0", 0.0), ("dropout 0.2", 0.2)]


def _model(lib, dropout):
    """The GPT as a Module of the library `lib` (eagerlab or torch)."""
    nn, F = lib.nn, lib.nn.functional

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv, self.out = nn.Linear(WIDTH, 3 * WIDTH, bias=False), nn.Linear(WIDTH, WIDTH, bias=False)
            self.drop = nn.Dropout(dropout)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = (z.view(b, t, HEADS, c // HEADS).transpose(1, 2) for z in self.qkv(x).split(WIDTH, dim=2))
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout if self.training else 0.0, is_causal=True)
            return self.drop(self.out(y.transpose(1, 2).contiguous().view(b, t, c)))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1, self.norm2 = nn.LayerNorm(WIDTH, bias=False), nn.LayerNorm(WIDTH, bias=False)
            self.attention = SelfAttention()
            self.mlp = nn.Sequential(nn.Linear(WIDTH, 4 * WIDTH, bias=False), nn.GELU(),
                                     nn.Linear(4 * WIDTH, WIDTH, bias=False), nn.Dropout(dropout))

        def forward(self, x):
            x = x + self.attention(self.norm1(x))
            return x + self.mlp(self.norm2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tokens, self.positions = nn.Embedding(VOCAB, WIDTH), nn.Embedding(CONTEXT, WIDTH)
            self.drop = nn.Dropout(dropout)
            self.blocks = nn.ModuleList([Block() for _ in range(LAYERS)])
            self.norm = nn.LayerNorm(WIDTH, bias=False)
            self.head = nn.Linear(WIDTH, VOCAB, bias=False)
            self.head.weight = self.tokens.weight  # tied, so its gradient sums two paths
            for p in self.parameters():
                if p.ndim == 2:
                    nn.init.normal_(p, 0.0, 0.02)

        def forward(self, idx, targets):
            x = self.drop(self.tokens(idx) + self.positions(lib.arange(idx.shape[1])))
            for block in self.blocks:
                x = block(x)
            logits = self.head(self.norm(x))
            return F.cross_entropy(logits.view(-1, VOCAB), targets.view(-1), ignore_index=-1)

    return GPT()


def _step(lib, dropout):
    import numpy as np

    lib.manual_seed(0)
    model = _model(lib, dropout)
    params = list(model.parameters())
    groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": 0.1},
              {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
    opt = lib.optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.99))
    rng = np.random.default_rng(0)
    idx, targets = (lib.tensor(rng.integers(0, VOCAB, (BATCH, CONTEXT))) for _ in range(2))

    def step():
        loss = model(idx, targets)
        loss.backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step


def _measure(lib_name, threads):
    """The figures of one library in this process: {case: milliseconds per step}."""
    if lib_name == "torch":
        import torch as lib
    else:
        sys.modules["torch"] = None  # never load PyTorch's thread pools beside eagerlab's
        sys.path.insert(0, os.path.dirname(HERE))
        import eagerlab as lib
    if threads:
        lib.set_num_threads(threads)
    clock = time.thread_time if threads == 1 else time.perf_counter
    return {name: per_call_us(_step(lib, p), min_time=0.3, repeats=7, clock=clock) / 1e3 for name, p in CASES}


def _run(lib_name, threads):
    env = dict(os.environ)
    if threads:
        env.update(OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", lib_name, "--threads", str(threads)],
                         env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def rows(threads=1, rounds=3, libs=None):
    """(name, 'ms', eagerlab, PyTorch or None, 'lower') per case; each library in its own process, alternating."""
    libs = libs or ["eagerlab"] + (["torch"] if try_torch() else [])
    best = {}
    for r in range(rounds):
        for lib_name in (libs if r % 2 == 0 else libs[::-1]):
            for name, ms in _run(lib_name, threads).items():
                best[lib_name, name] = min(best.get((lib_name, name), math.inf), ms)
    suffix = ", 1 thread" if threads == 1 else ", default threads"
    return [(f"GPT 2x128 step (B12 T64), {name}{suffix}", "ms", best["eagerlab", name], best.get(("torch", name)),
             "lower") for name, _ in CASES]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="1: both libraries on one thread (CPU-time clock); "
                        "0: their defaults (wall time)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--eagerlab-only", action="store_true", help="leave PyTorch out")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(args.child, args.threads)))
    else:
        from run import print_table

        print_table(rows(args.threads, args.rounds, ["eagerlab"] if args.eagerlab_only else None))
