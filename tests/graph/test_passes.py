"""The optimizing passes: each changes the graph as it should, and the compiled results stay equal to eager."""
import numpy as np

import eagerlab
import eagerlab.optim as optim

from .test_compiled_optimizers import _mlp_step


def _ops(fn):
    return [n.name for n in fn.graph.nodes()]


def _lowered_ops(fn):
    """The ops of the graph codegen ran (fusion is a lowering: fn.graph keeps registered primitives)."""
    return [n.name for n in fn._last.compiled.graph.nodes()]


def _x(*shape, seed=0):
    return eagerlab.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


def test_constant_folding_computes_constant_subgraphs_once():
    def f(x):
        scale = eagerlab.tensor(np.float32(2.0)) * 3 + 1  # constants only: folded
        return x * scale

    g = eagerlab.function(f)
    x = _x(4)
    assert np.array_equal(g(x).numpy(), f(x).numpy())
    assert _ops(g).count("mul") == 1 and "add" not in _ops(g), g.graph


def test_constant_folding_never_folds_random_draws():
    g = eagerlab.function(lambda x: x + eagerlab.rand(3))
    x = eagerlab.zeros(3)
    assert not np.array_equal(g(x).numpy(), g(x).numpy())


def test_simplify_drops_identities_and_keeps_float_plus_zero():
    def f(x):
        y = (x * 1).permute(1, 0).permute(1, 0).reshape(2, 3) - 0
        return -(-y) / 1, x + 0

    g = eagerlab.function(f)
    x = eagerlab.tensor(np.array([[-0.0, 1, 2], [3, 4, 5]], np.float32))
    (a, b), (ea, eb) = g(x), f(x)
    assert np.array_equal(a.numpy(), ea.numpy()) and np.signbit(a.numpy()[0, 0])
    assert np.array_equal(b.numpy(), eb.numpy()) and not np.signbit(b.numpy()[0, 0])  # -0.0 + 0 is +0.0
    # left: the float x + 0, and x * 1, whose operand is the argument (eagerly a new tensor: the result must not
    # share the caller's memory); everything applied to its result is dropped
    assert _ops(g) == ["mul", "add"], g.graph
    assert not np.shares_memory(a.numpy(), x.numpy())


def test_simplify_merges_two_permutes_into_one():
    g = eagerlab.function(lambda x: x.permute(1, 2, 0).permute(1, 0, 2))
    x = _x(2, 3, 4)
    assert np.array_equal(g(x).numpy(), x.permute(1, 2, 0).permute(1, 0, 2).numpy())
    assert _ops(g) == ["permute"], g.graph


def test_simplify_keeps_broadcasting_identities():
    g = eagerlab.function(lambda x, y: x * y)  # y is all ones but a tensor, and widens x's shape
    x, y = _x(3), eagerlab.ones(2, 3)
    assert g(x, y).shape == (2, 3) and _ops(g) == ["mul"]


def test_fusion_turns_an_elementwise_chain_into_one_node():
    def f(x, y):
        return ((x > 0).float() * y).exp() - 1.0

    g = eagerlab.function(f)
    x, y = _x(5, 4), _x(5, 4, seed=1)
    assert np.array_equal(g(x, y).numpy(), f(x, y).numpy())
    assert _lowered_ops(g) == ["fused[gt,cast,mul,exp,sub]"], g.graph


def test_fusion_stops_where_an_intermediate_is_used_twice():
    def f(x):
        e = x.exp()
        return e * 2 + e

    g = eagerlab.function(f)
    x = _x(6)
    assert np.array_equal(g(x).numpy(), f(x).numpy())
    assert _lowered_ops(g) == ["exp", "fused[mul,add]"], g.graph


def test_memory_plan_reuses_buffers_but_never_for_escaping_values():
    model, _, step = _mlp_step(optim.Adam, lr=1e-2)
    compiled = eagerlab.function(step)
    y = eagerlab.tensor(np.arange(8) % 3)
    loss1 = compiled(_x(8, 12), y)
    grads1 = [p.grad.numpy().copy() for p in model.parameters()]
    held = [p.grad for p in model.parameters()]
    value1 = loss1.item()
    compiled(_x(8, 12, seed=5), y)
    assert loss1.item() == value1  # the output of a run is never a reused buffer
    assert all(np.array_equal(g.numpy(), g1) for g, g1 in zip(held, grads1))  # nor a stored .grad
    report = compiled.get_concrete_function(_x(8, 12), y).memory_report()
    assert report["buffers"] >= 1 and report["planned_values"] > report["buffers"]  # dead buffers handed on
    assert report["peak_bytes"] >= report["buffer_bytes"] > 0


def test_memory_plan_skips_values_used_by_effects_and_outputs():
    w = eagerlab.zeros(3)

    @eagerlab.function
    def f(x):
        h = x * 2
        with eagerlab.no_grad():
            w.copy_(h + 1)  # an effect input
        return h - 1  # an output

    x = _x(3)
    out = f(x)
    assert np.array_equal(w.numpy(), x.numpy() * 2 + 1) and np.array_equal(out.numpy(), x.numpy() * 2 - 1)
    concrete = f.get_concrete_function(x)
    lowered = concrete.compiled.graph  # the graph the plan is for
    escaping = [n.inputs[1] for n in lowered.nodes() if n.kind == "effect"] + list(lowered.outputs)
    assert escaping and concrete.memory.slots and not any(id(v) in concrete.memory.slots for v in escaping)
