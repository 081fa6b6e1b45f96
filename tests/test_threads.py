"""Threads: grad mode and the interpreter are per thread (PyTorch semantics), so threads training their own models
get single-threaded bits, and tracing in one thread never records another thread's ops."""
import threading

import numpy as np
import pytest

import eagerlab as el
from eagerlab import nn
from eagerlab.autograd.interpreter import current


def _run_threads(targets, timeout=60):
    errors = []

    def guard(fn):
        def run():
            try:
                fn()
            except BaseException as e:  # noqa: BLE001 - re-raised in the main thread below
                errors.append(e)
        return run

    threads = [threading.Thread(target=guard(t)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]


def test_no_grad_in_one_thread_leaves_the_others_alone():
    inside, checked = threading.Event(), threading.Event()
    seen = {}

    def holder():
        with el.no_grad():
            inside.set()
            checked.wait(10)
            seen["holder"] = el.is_grad_enabled()

    def other():
        inside.wait(10)
        x = el.ones(3, requires_grad=True)
        seen["other"] = el.is_grad_enabled()
        seen["recorded"] = (x * 2).requires_grad
        checked.set()

    _run_threads([holder, other])
    assert seen == {"holder": False, "other": True, "recorded": True}
    assert el.is_grad_enabled()


def test_overlapping_no_grad_blocks_in_two_threads_restore_each_threads_mode():
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    after = {}

    def a():
        with el.no_grad():
            a_in.set()
            b_in.wait(10)
        after["a"] = el.is_grad_enabled()
        a_out.set()

    def b():
        a_in.wait(10)
        with el.no_grad():
            b_in.set()
            a_out.wait(10)  # a leaves its block while b is still inside its own
            after["b inside"] = el.is_grad_enabled()
        after["b"] = el.is_grad_enabled()

    _run_threads([a, b])
    assert after == {"a": True, "b inside": False, "b": True}
    assert el.is_grad_enabled()


def test_a_new_thread_starts_with_grad_enabled_and_eager():
    seen = {}

    def child():
        seen["grad"], seen["interp"] = el.is_grad_enabled(), type(current()).__name__

    with el.no_grad():
        _run_threads([child])
    assert seen == {"grad": True, "interp": "Interpreter"}


def _train(seed, steps=30, barrier=None):
    """A small model trained with Adam on fixed data (dropout-free, so the global generator is not involved)."""
    rng = np.random.default_rng(seed)
    x = el.tensor(rng.standard_normal((64, 20)).astype(np.float32))
    y = el.tensor(rng.integers(0, 5, 64))
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.LayerNorm(32), nn.Linear(32, 5))
    with el.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(el.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.3))
    opt = el.optim.Adam(model.parameters(), lr=1e-2)
    if barrier is not None:
        barrier.wait(10)
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        with el.no_grad():  # what evaluation code does between steps: must not switch the other thread's grad off
            model(x).argmax(1)
        opt.step()
    return [p.detach().numpy().copy() for p in model.parameters()]


def test_two_threads_training_separate_models_give_single_threaded_bits():
    expected = {seed: _train(seed) for seed in (1, 2)}
    for _ in range(5):
        got = {}
        barrier = threading.Barrier(2)
        _run_threads([lambda s=s: got.__setitem__(s, _train(s, barrier=barrier)) for s in (1, 2)])
        for seed in (1, 2):
            for want, have in zip(expected[seed], got[seed]):
                np.testing.assert_array_equal(have, want)


def test_tracing_in_one_thread_while_another_runs_eager_ops():
    mid_trace, eager_done = threading.Event(), threading.Event()
    w = el.tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    result = {}

    def step(x):
        y = x @ w
        mid_trace.set()  # trace-time Python: the other thread runs its ops while this trace is open
        eager_done.wait(10)
        return (y * 2).sum()

    compiled = el.function(step)

    def tracer_thread():
        result["traced"] = compiled(el.ones(4, 2)).item()
        result["graph ops"] = len(compiled.get_concrete_function(el.ones(4, 2)).graph.body.nodes)

    def eager_thread():
        mid_trace.wait(10)
        a = el.tensor([1.0, 2.0, 3.0], requires_grad=True)
        b = (a * a).sum()
        b.backward()
        result["eager"] = (b.item(), a.grad.numpy().tolist(), type(current()).__name__)
        eager_done.set()

    _run_threads([tracer_thread, eager_thread])
    assert result["eager"] == (14.0, [2.0, 4.0, 6.0], "Interpreter")
    assert result["traced"] == float((np.ones((4, 2)) @ np.arange(6).reshape(2, 3) * 2).sum())
    single = el.function(lambda x: ((x @ w) * 2).sum()).get_concrete_function(el.ones(4, 2))
    assert result["graph ops"] == len(single.graph.body.nodes)  # none of the eager thread's ops got in


def test_an_error_raised_while_tracing_restores_the_threads_interpreter():
    @el.function
    def bad(x):
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        bad(el.ones(2))
    assert type(current()).__name__ == "Interpreter"
