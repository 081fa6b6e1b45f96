"""autocast's weight-cast cache (PyTorch's): a parameter is cast once per outermost region and the cast reused; an
in-place update makes a fresh one; the cache is emptied on exit; compiled == eager with it; and what it changes in
the gradient matches PyTorch (the shared cast's bfloat16 gradients are summed before the cast back to float32);
and the GEMMs keep each operand only for the other's gradient (a first layer's weight copy is not held)."""
import gc
import weakref
from contextlib import nullcontext

import numpy as np
import pytest

import eagerlab as el
import eagerlab.nn as nn
import eagerlab.nn.functional as F
from eagerlab.amp import autocast_mode


def _cache():
    """The cache of the autocast region in force on this thread (None without one)."""
    return getattr(autocast_mode.current(), "cache", None)


def test_a_parameter_is_cast_once_per_region_and_reused():
    w = nn.Parameter(el.randn(4, 4))
    x = el.randn(3, 4)
    with el.autocast("cpu"):
        a, b = x @ w, x @ w
        (cast_a,), (cast_b,) = ([e[0] for e in t.grad_fn.edges if e is not None and e[0] is not w] for t in (a, b))
        assert cast_a is cast_b and len(_cache()) == 1  # one cast node feeds both products
        with el.autocast("cpu"):  # a nested region shares the outermost's cache
            c = x @ w
            assert [e[0] for e in c.grad_fn.edges if e is not None][-1] is cast_a
        assert len(_cache()) == 1
        plain = x @ el.randn(4, 4)  # a tensor that needs no grad is cast each time, as in PyTorch
        assert plain.dtype is el.bfloat16 and len(_cache()) == 1
    assert _cache() is None


def test_an_inplace_update_makes_a_fresh_cast():
    w = nn.Parameter(el.ones(2, 2))
    x = el.ones(1, 2)
    with el.autocast("cpu"):
        before = x @ w
        with el.no_grad():
            w.mul_(2)
        after = x @ w
    assert before.tolist() == [[2.0, 2.0]] and after.tolist() == [[4.0, 4.0]]


def test_a_cast_made_under_no_grad_is_not_reused_with_grad():
    w = nn.Parameter(el.ones(2, 2))
    with el.autocast("cpu"):
        with el.no_grad():
            el.ones(1, 2) @ w
        out = el.ones(1, 2) @ w
    assert out.requires_grad
    out.sum().backward()
    assert w.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_the_cache_is_emptied_on_exit_and_holds_nothing_after():
    model = nn.Linear(4, 4)
    ref = weakref.ref(model.weight)
    with el.autocast("cpu"):
        cache = _cache()
        model(el.randn(2, 4)).sum().backward()
        assert len(cache) == 2  # weight and bias
    assert len(cache) == 0
    del model
    gc.collect()
    assert ref() is None
    with el.autocast("cpu", cache_enabled=False):
        assert _cache() is None
        el.randn(2, 4) @ nn.Parameter(el.randn(4, 4))


def _shared_weight_step(lib, dtype, w0, x0):
    """A weight read twice in one region (as a tied embedding / RNN weight is): returns (loss, w.grad) as numpy."""
    w = lib.tensor(w0, requires_grad=True)
    x = lib.tensor(x0)
    with lib.autocast("cpu", dtype=getattr(lib, dtype)):
        h = lib.relu(x @ w)
        loss = ((h @ w).float() ** 2).mean()
    loss.backward()
    return loss.detach().float().numpy(), w.grad.numpy()


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_a_weight_read_twice_gets_pytorchs_gradient(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w0, x0 = rng.standard_normal((8, 8)).astype(np.float32), rng.standard_normal((4, 8)).astype(np.float32)
    ours, theirs = _shared_weight_step(el, dtype, w0, x0), _shared_weight_step(torch, dtype, w0, x0)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)  # (a float32 mean: the summation order differs)
    tol = 1e-2 if dtype == "bfloat16" else 1e-3
    np.testing.assert_allclose(ours[1], theirs[1], rtol=tol, atol=tol)


@pytest.mark.parametrize("outer", [False, True])
def test_a_compiled_step_with_a_shared_weight_equals_the_eager_one(outer):
    """Inside the traced function's region, or with the region around the compiled call (the trace's own cache)."""
    def make():
        el.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 6))
        model[2].weight = model[0].weight  # tied: read twice per forward
        return model, el.optim.SGD(model.parameters(), lr=0.1)

    def step(model, opt, x):
        opt.zero_grad()
        with nullcontext() if outer else el.autocast("cpu"):
            loss = F.mse_loss(model(model(x).float()).float(), el.zeros(5, 6))
        loss.backward()
        opt.step()
        return loss

    x = el.tensor(np.random.default_rng(1).standard_normal((5, 6)).astype(np.float32))
    (em, eo), (cm, co) = make(), make()
    compiled = el.function(lambda x: step(cm, co, x))
    for _ in range(3):
        if outer:
            with el.autocast("cpu"):
                a, b = step(em, eo, x), compiled(x)
        else:
            a, b = step(em, eo, x), compiled(x)
        assert a.item() == b.item()
    for p, q in zip(em.parameters(), cm.parameters()):
        assert (p == q).all()


_GEMMS = [("linear", lambda a, b: F.linear(a, b), (3, 4), (5, 4)),
          ("matmul", lambda a, b: a @ b, (2, 3, 4), (4, 5)),
          ("conv2d", lambda a, b: F.conv2d(a, b, padding=1), (2, 3, 5, 5), (4, 3, 3, 3)),
          ("conv_transpose2d", lambda a, b: F.conv_transpose2d(a, b, stride=2), (2, 3, 4, 4), (3, 2, 3, 3))]


@pytest.mark.parametrize("name,fn,a_shape,b_shape", _GEMMS, ids=[g[0] for g in _GEMMS])
def test_a_gemm_keeps_each_operand_only_for_the_others_gradient(name, fn, a_shape, b_shape):
    """So the low-precision copy of a weight read by data that needs no gradient (a first layer under autocast)
    is not held until backward; the gradients are those computed with both operands needing one."""
    rng = np.random.default_rng(0)
    a0, b0 = (rng.standard_normal(s) for s in (a_shape, b_shape))
    g0 = rng.standard_normal(fn(el.tensor(a0), el.tensor(b0)).shape)
    full = [el.tensor(a0, requires_grad=True), el.tensor(b0, requires_grad=True)]
    (fn(*full) * el.tensor(g0)).sum().backward()
    for needs in ((True, False), (False, True)):
        ab = [el.tensor(v, requires_grad=n) for v, n in zip((a0, b0), needs)]
        out = fn(*ab)
        node = out.grad_fn
        while node.prim.name != name:  # (past a reshape the public op may add)
            node = next(e[0] for e in node.edges if e is not None)
        assert [s is not None for s in node._saved] == [not n for n in needs]  # a is kept for b's grad, and back
        (out * el.tensor(g0)).sum().backward()
        for t, f, n in zip(ab, full, needs):
            assert (t.grad is not None) == n
            if n:
                np.testing.assert_allclose(t.grad.numpy(), f.grad.numpy(), rtol=1e-12)
