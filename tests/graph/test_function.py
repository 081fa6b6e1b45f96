"""@eagerlab.function: compiled results equal eager ones (forward, whole training steps, state), the signature
cache and its guards, gradients through a compiled call, methods, inspection and errors."""
import numpy as np
import pytest

import eagerlab as el
import eagerlab.nn as nn
import eagerlab.nn.functional as F
import eagerlab.optim as optim
from eagerlab.errors import TracingError


def _mlp(seed=0, dropout=0.0):
    el.manual_seed(seed)
    layers = [nn.Flatten(), nn.Linear(12, 16), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else []) + \
        [nn.Linear(16, 3)]
    return nn.Sequential(*layers)


def _batches(n, batch=8, seed=0):
    rng = np.random.default_rng(seed)
    return [(el.tensor(rng.standard_normal((batch, 3, 4)).astype(np.float32)), el.tensor(rng.integers(0, 3, batch)))
            for _ in range(n)]


def _train_step(model, opt, x, y, scheduler=None):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    if scheduler is not None:
        scheduler.step()
    return loss


@pytest.mark.parametrize("make_opt", [
    lambda p: optim.Adam(p, lr=1e-2),
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda p: optim.AdamW(p, lr=1e-2, amsgrad=True),
    lambda p: optim.RMSprop(p, lr=1e-2, momentum=0.5),
])
def test_compiled_training_step_matches_eager(make_opt):
    eager_model, graph_model = _mlp(), _mlp()
    eager_opt, graph_opt = make_opt(eager_model.parameters()), make_opt(graph_model.parameters())
    eager_sched = optim.lr_scheduler.StepLR(eager_opt, step_size=3, gamma=0.5)
    graph_sched = optim.lr_scheduler.StepLR(graph_opt, step_size=3, gamma=0.5)
    step = el.function(lambda x, y: _train_step(graph_model, graph_opt, x, y, graph_sched))
    for x, y in _batches(10):
        want = _train_step(eager_model, eager_opt, x, y, eager_sched).item()
        assert step(x, y).item() == pytest.approx(want, abs=1e-6)
    assert step.trace_count == 1
    assert graph_opt.param_groups[0]["lr"] == eager_opt.param_groups[0]["lr"] == pytest.approx(0.5 ** 3 * (
        eager_opt.defaults["lr"]))
    for pe, pg in zip(eager_model.parameters(), graph_model.parameters()):
        np.testing.assert_allclose(pg.detach().numpy(), pe.detach().numpy(), atol=1e-6)
        np.testing.assert_allclose(pg.grad.numpy(), pe.grad.numpy(), atol=1e-6)
    text = str(step.graph)
    assert "linear" in text and "store_grad" in text and "call" in text and "def _graph_fn" in step.code


def test_gradients_accumulate_across_calls_without_zero_grad():
    eager_model, graph_model = _mlp(), _mlp()

    def fwd_bwd(model, x, y):
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return loss

    compiled = el.function(lambda x, y: fwd_bwd(graph_model, x, y))
    for x, y in _batches(3):
        fwd_bwd(eager_model, x, y)
        compiled(x, y)
    for pe, pg in zip(eager_model.parameters(), graph_model.parameters()):
        np.testing.assert_allclose(pg.grad.numpy(), pe.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_captures_are_read_by_reference():
    model = _mlp()
    f = el.function(lambda x: model(x))
    x = _batches(1)[0][0]
    with el.no_grad():
        before = f(x).numpy().copy()
        model[1].weight.mul_(2.0)
        model[1].bias.zero_()
        after = f(x).numpy()
        np.testing.assert_allclose(after, model(x).numpy(), rtol=1e-6)
    assert not np.allclose(before, after) and f.trace_count == 1


def test_in_place_update_of_a_captured_buffer_happens_every_call():
    total = el.zeros(3)

    @el.function
    def accumulate(x):
        total.add_(x)
        local = el.tensor(0)
        local += 1  # a tensor created inside: fresh on every call
        return local

    for _ in range(3):
        assert accumulate(el.ones(3)).item() == 1
    np.testing.assert_array_equal(total.numpy(), [3.0, 3.0, 3.0])
    assert accumulate.trace_count == 1


def test_manual_sgd_under_no_grad_and_batchnorm_running_stats():
    el.manual_seed(0)
    w = el.randn(4, 2, requires_grad=True)
    bn_e, bn_g = nn.BatchNorm1d(2), nn.BatchNorm1d(2)
    w_e = w.detach().clone().requires_grad_()

    def step(w, bn, x):
        loss = bn(x @ w).pow(2).mean()
        loss.backward()
        with el.no_grad():
            w -= 0.1 * w.grad
            w.grad = None
        return loss

    compiled = el.function(lambda x: step(w, bn_g, x))
    rng = np.random.default_rng(1)
    for _ in range(4):
        x = el.tensor(rng.standard_normal((5, 4)).astype(np.float32))
        want = step(w_e, bn_e, x).item()
        assert compiled(x).item() == pytest.approx(want, rel=1e-5)
    np.testing.assert_allclose(w.detach().numpy(), w_e.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(bn_g.running_mean.numpy(), bn_e.running_mean.numpy(), rtol=1e-5)
    assert bn_g.num_batches_tracked.item() == bn_e.num_batches_tracked.item() == 4
    assert w.grad is None


def test_dropout_draws_fresh_numbers_each_call_and_matches_eager_with_the_same_seed():
    model = _mlp(dropout=0.5)
    f = el.function(lambda x: model(x))
    x = _batches(1)[0][0]
    with el.no_grad():
        el.manual_seed(5)
        eager = [model(x).numpy().copy() for _ in range(2)]
        el.manual_seed(5)
        compiled = [f(x).numpy().copy() for _ in range(2)]
    np.testing.assert_allclose(compiled[0], eager[0], rtol=1e-6)
    np.testing.assert_allclose(compiled[1], eager[1], rtol=1e-6)
    assert not np.allclose(compiled[0], compiled[1])


def test_retracing_keys_and_guards():
    model = _mlp(dropout=0.5)
    f = el.function(lambda x, scale: model(x) * scale)
    x8, x4 = _batches(1, 8)[0][0], _batches(1, 4)[0][0]
    with el.no_grad():
        f(x8, 2.0)
        f(x8, 2.0)
        assert f.trace_count == 1
        f(x4, 2.0)  # new shape
        f(x8, 3.0)  # Python scalars key by value
        assert f.trace_count == 3
        model.eval()  # a module's training flag: retraced, and dropout is off
        np.testing.assert_allclose(f(x8, 3.0).numpy(), model(x8).numpy() * 3.0, rtol=1e-6)
        assert f.trace_count == 4
    f(x8, 3.0)  # grad mode is part of the key
    assert f.trace_count == 5
    report = f.retrace_report()
    assert "scale=3.0 (was 2.0)" in report and "x=Tensor(4, 3, 4)" in report


def test_retrace_warning_names_the_argument_and_the_calling_line():
    f = el.function(lambda x, n: x * n)
    with pytest.warns(UserWarning, match=r"traced 6 times.*n=5 \(was 4\).*retrace_report") as caught:
        for n in range(6):
            f(el.ones(2), n)
    assert caught[0].filename == __file__


def test_input_signature_checks_arguments():
    f = el.function(lambda x: x * 2, input_signature=[el.TensorSpec([None, 3], el.float32)])
    assert f(el.ones(2, 3)).sum().item() == 12
    with pytest.raises(TypeError, match=r"does not match input_signature TensorSpec\(shape=\(None, 3\)"):
        f(el.ones(2, 4))
    with pytest.raises(TypeError, match="input_signature has 1 TensorSpec"):
        f(el.ones(2, 3), el.ones(1))
    with pytest.raises(TypeError, match="expected TensorSpec"):
        el.function(lambda x: x, input_signature=[3])


def test_gradients_flow_through_a_compiled_call():
    w = el.tensor([1.0, -2.0, 3.0], requires_grad=True)
    f = el.function(lambda w, x: (w * x).relu().sum() ** 2)
    x = el.tensor([0.5, 1.0, 2.0])
    loss = f(w, x)
    loss.backward()
    w2 = w.detach().clone().requires_grad_()
    ((w2 * x).relu().sum() ** 2).backward()
    np.testing.assert_allclose(w.grad.numpy(), w2.grad.numpy())
    with el.no_grad():
        assert f(w, x).item() == pytest.approx(loss.item())


def test_methods_bind_per_instance():
    class Scaler:
        def __init__(self, k):
            self.k = el.tensor(float(k))

        @el.function
        def __call__(self, x):
            return x * self.k

    a, b = Scaler(2), Scaler(3)
    assert a(el.ones(1)).item() == 2 and b(el.ones(1)).item() == 3 and a(el.ones(1)).item() == 2
    assert Scaler.__call__.__get__(a).trace_count == 1


def test_eager_switches_run_the_python_function():
    calls = []

    def f(x):
        calls.append(1)
        return x + 1

    g = el.function(f)
    g(el.ones(1))
    g(el.ones(1))
    assert len(calls) == 1  # traced once, then the graph runs
    el.function(f, eager=True)(el.ones(1))
    el.run_functions_eagerly(True)
    try:
        g(el.ones(1))
    finally:
        el.run_functions_eagerly(False)
    assert len(calls) == 3 and not el.functions_run_eagerly()


def test_module_compile():
    model = _mlp()
    x = _batches(1)[0][0]
    with el.no_grad():
        want = model(x).numpy()
        model.compile()
        np.testing.assert_allclose(model(x).numpy(), want, rtol=1e-6)
        np.testing.assert_allclose(model(x).numpy(), want, rtol=1e-6)
        assert model.forward.trace_count == 1
        import copy

        twin = copy.deepcopy(model)  # its compiled forward is its own: it captures the twin's weights
        twin[1].weight.zero_()
        assert not np.allclose(twin(x).numpy(), want) and np.allclose(model(x).numpy(), want, rtol=1e-6)
    f = el.function(_mlp())
    with el.no_grad():
        assert f(x).shape == (8, 3)


def test_hand_written_cond_and_while_loop_trace_once():
    @el.function
    def signed(x):
        return el.cond(x.sum() > 0, lambda: x * 2, lambda: -x)

    assert signed(el.tensor([1.0, 2.0])).tolist() == [2.0, 4.0]
    assert signed(el.tensor([-1.0, -2.0])).tolist() == [1.0, 2.0]
    assert signed.trace_count == 1

    @el.function
    def collatz(n):
        def body(n, steps):
            return el.cond(n % 2 == 0, lambda: n // 2, lambda: 3 * n + 1), steps + 1

        return el.while_loop(lambda n, steps: n > 1, body, (n, el.tensor(0)))[1]

    assert [collatz(el.tensor(v)).item() for v in (27, 97, 1)] == [111, 118, 0]
    assert collatz.trace_count == 1
    assert "while" in str(collatz.graph) and "while True:" in collatz.code


def test_while_loop_maximum_iterations_and_changing_dtype_error():
    f = el.function(lambda x: el.while_loop(lambda v: v < 100, lambda v: v * 2, x, maximum_iterations=3))
    assert f(el.tensor(1)).item() == 8
    g = el.function(lambda x: el.while_loop(lambda v: v < 100, lambda v: v * 2.5, x))
    with pytest.raises(el.errors.DTypeError, match="loop variable 0 has dtype int64 before the loop but float32"):
        g(el.tensor(1))


def test_reading_a_value_while_tracing_is_a_clear_error():
    f = el.function(lambda x: x * 2 if x.sum().item() > 0 else x)
    with pytest.raises(TracingError, match=r"value is not known while the function is traced.*\.item\(\)"):
        f(el.ones(2))
    with pytest.raises(TracingError, match="cannot return a object"):
        el.function(lambda x: object())(el.ones(1))


def test_a_tensor_kept_past_its_trace_is_a_clear_error():
    class Cached(nn.Module):
        """Builds a tensor on its first call and keeps it (word_language_model's Transformer keeps its mask so)."""

        def __init__(self):
            super().__init__()
            self.scale = None

        def forward(self, x):
            if self.scale is None:
                self.scale = el.ones(x.shape[0]) * 2
            return x * self.scale

    model = Cached()
    assert el.function(model)(el.ones(3)).tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(TracingError, match=r"computed while a function was traced .* kept past the trace .*stored "
                                           r"on a module or another object"):
        model(el.ones(3))


def test_runtime_errors_point_at_the_user_line():
    table = el.arange(6.0)

    @el.function
    def lookup(i):
        return table.gather(0, i)  # an out-of-range index is only found when the graph runs

    assert lookup(el.tensor([1, 2])).tolist() == [1.0, 2.0]
    with pytest.raises(IndexError, match=r"while running the compiled graph: op gather.*test_function.py:\d+"):
        lookup(el.tensor([1, 9]))


def test_graph_table_and_code():
    f = el.function(lambda x, y: (x @ y).relu() + 1)
    f(el.ones(2, 3), el.ones(3, 4))
    text = str(f.graph)
    assert "matmul" in text and "(2, 4)" in text and "float32" in text and "relu" in text
    assert f.code.startswith("def _graph_fn") and f.python_function(el.ones(1, 1), el.ones(1, 1)).item() == 2
    with pytest.raises(TracingError, match="not been traced yet"):
        el.function(lambda x: x).graph


def test_none_dims_in_input_signature_serve_every_batch_size_with_one_trace():
    eager_model, graph_model = _mlp(), _mlp()
    eager_opt, graph_opt = optim.Adam(eager_model.parameters(), 1e-2), optim.Adam(graph_model.parameters(), 1e-2)
    step = el.function(lambda x, y: _train_step(graph_model, graph_opt, x, y),
                       input_signature=[el.TensorSpec([None, 3, 4]), el.TensorSpec([None], el.int64)])
    for batch in (8, 8, 5, 1, 13):
        x, y = _batches(1, batch, seed=batch)[0]
        assert step(x, y).item() == pytest.approx(_train_step(eager_model, eager_opt, x, y).item(), abs=1e-6)
    assert step.trace_count == 1
    for pe, pg in zip(eager_model.parameters(), graph_model.parameters()):
        np.testing.assert_allclose(pg.detach().numpy(), pe.detach().numpy(), atol=1e-6)


def test_reduce_retracing_relaxes_the_dims_that_changed():
    f = el.function(lambda x: (x * 2).sum(0) + x.shape[0], reduce_retracing=True)
    for n in (4, 6, 9, 2):
        np.testing.assert_allclose(f(el.ones(n, 3)).numpy(), np.full(3, 3.0 * n))
    assert f.trace_count == 2  # the second shape relaxes dim 0; every later size reuses that trace


def test_a_function_whose_graph_is_not_affine_in_the_size_retraces_per_shape():
    f = el.function(lambda x: x.reshape(x.shape[0] // 2, -1).sum(1), input_signature=[el.TensorSpec([None, 3])])
    assert f(el.ones(4, 3)).tolist() == [6.0, 6.0]
    assert f(el.ones(6, 3)).tolist() == [6.0, 6.0, 6.0]
    assert f.trace_count == 2 and "one trace per shape" in f.retrace_report()


def test_a_compiled_method_lives_with_its_instance_and_a_copy_binds_its_own():
    import copy
    import gc
    import weakref

    class Doubler(nn.Module):
        def __init__(self):
            super().__init__()
            self.k = nn.Parameter(el.tensor(2.0))

        @el.function
        def run(self, x):
            return x * self.k

    a = Doubler()
    with el.no_grad():
        assert a.run(el.ones(1)).item() == 2
        b = copy.deepcopy(a)
        b.k.fill_(5.0)
        assert b.run(el.ones(1)).item() == 5 and a.run(el.ones(1)).item() == 2
    ref = weakref.ref(a)
    del a
    gc.collect()
    assert ref() is None


def test_a_cnn_step_with_batchnorm_dropout_and_clipping_compiles_to_the_same_bits():
    def make():
        el.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(4, 6, 3), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Dropout(0.3),
                              nn.Linear(6, 12), nn.GELU(), nn.LayerNorm(12), nn.Linear(12, 3))
        return model, optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def step(model, opt, x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    (em, eo), (gm, go) = make(), make()
    compiled = el.function(lambda x, y: step(gm, go, x, y))
    rng = np.random.default_rng(0)
    for i in range(3):
        x, y = el.tensor(rng.random((6, 1, 10, 10), dtype=np.float32)), el.tensor(rng.integers(0, 3, 6))
        el.manual_seed(i)
        want = step(em, eo, x, y).item()
        el.manual_seed(i)
        assert compiled(x, y).item() == want
    for pe, pg in zip(em.state_dict().values(), gm.state_dict().values()):
        np.testing.assert_array_equal(pg.numpy(), pe.numpy())
    assert compiled.trace_count == 1


def test_repeated_and_merged_outputs_each_get_their_own_tensor():
    f = el.function(lambda x: (x * 2, x * 3, x * 2, x, 7))  # CSE merges the two x * 2
    a, b, c, d, seven = f(el.tensor([1.0, 2.0]))
    assert (a.tolist(), b.tolist(), c.tolist(), d.tolist(), seven) == ([2, 4], [3, 6], [2, 4], [1, 2], 7)
    a.add_(1)
    assert c.tolist() == [2, 4]  # eager gives two tensors; so does the graph


def test_a_compiled_forward_in_an_eager_training_loop_backpropagates_through_a_compiled_backward():
    (em, eo), (gm, go) = [(m, optim.Adam(m.parameters(), 1e-2)) for m in (_mlp(), _mlp())]
    gm.compile()
    for x, y in _batches(4):
        want = _train_step(em, eo, x, y).item()
        out = gm(x)
        assert out.grad_fn.name() == "CompiledFunctionBackward"
        go.zero_grad()
        loss = F.cross_entropy(out, y)
        loss.backward()
        go.step()
        assert loss.item() == want
    for pe, pg in zip(em.parameters(), gm.parameters()):
        np.testing.assert_array_equal(pg.detach().numpy(), pe.detach().numpy())
    assert gm.forward.trace_count == 1


def test_compiled_backward_reaches_inputs_computed_eagerly_and_leaves_unused_ones_alone():
    w = el.tensor([1.0, -2.0, 3.0], requires_grad=True)
    unused = el.ones(3, requires_grad=True)
    f = el.function(lambda a, b, c: (a * a).sum() + (a * b).sum())
    b = el.tensor([0.5, 0.5, 0.5], requires_grad=True)
    z = w * 3  # not a leaf: its eager graph continues below the compiled call
    f(z, b, unused).backward()
    np.testing.assert_allclose(w.grad.numpy(), (2 * z.detach() + b.detach()).numpy() * 3)
    np.testing.assert_allclose(b.grad.numpy(), z.detach().numpy())
    assert unused.grad is None
    with pytest.raises(el.errors.UnsupportedError, match="higher-order gradients"):
        el.autograd.grad(f(z, b, unused), [b], create_graph=True)


def test_a_compiled_forward_with_batchnorm_in_training_mode_differentiates_and_updates_its_statistics():
    def make():
        el.manual_seed(0)
        return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2))

    eager, compiled = make(), make()
    compiled.compile()
    x = el.tensor(np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32))
    for _ in range(2):
        eager(x).pow(2).sum().backward()
        out = compiled(x)
        assert out.grad_fn.name() == "CompiledFunctionBackward"
        out.pow(2).sum().backward()
    for (name, pe), pg in zip(eager.state_dict().items(), compiled.state_dict().values()):
        np.testing.assert_allclose(pg.numpy(), pe.numpy(), rtol=1e-6, err_msg=name)
    for pe, pg in zip(eager.parameters(), compiled.parameters()):
        np.testing.assert_allclose(pg.grad.numpy(), pe.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_a_compiled_forward_with_a_none_batch_dim_differentiates_at_every_batch_size():
    eager, compiled = _mlp(), _mlp()
    compiled.compile(input_signature=[el.TensorSpec([None, 3, 4])])
    for batch in (8, 3, 8, 5):
        x, y = _batches(1, batch, seed=batch)[0]
        F.cross_entropy(eager(x), y).backward()
        out = compiled(x)
        assert out.grad_fn.name() == "CompiledFunctionBackward"
        F.cross_entropy(out, y).backward()
    assert compiled.forward.trace_count == 1
    for pe, pg in zip(eager.parameters(), compiled.parameters()):
        np.testing.assert_allclose(pg.grad.numpy(), pe.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_a_trace_that_raises_leaves_the_model_and_the_count_as_they_were():
    model, calls = _mlp(), []
    opt = optim.SGD(model.parameters(), lr=0.1)

    @el.function
    def broken(x, y):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        calls.append(1)
        raise ValueError("user bug")

    x, y = _batches(1)[0]
    F.cross_entropy(model(x), y).backward()
    before = [p.grad.numpy().copy() for p in model.parameters()]
    with pytest.raises(ValueError, match="user bug"):
        broken(x, y)
    assert broken.trace_count == 0 and calls == [1]
    for p, g in zip(model.parameters(), before):  # grads and data restored, eager still works
        np.testing.assert_array_equal(p.grad.numpy(), g)
    assert model(x).shape == (8, 3)


@pytest.mark.parametrize("pick", ["gather", "topk"])
def test_backward_through_gather_and_topk_serves_every_batch_size_with_one_trace(pick):
    w = el.ones(4, requires_grad=True)

    def loss(x, i):
        scores = x * w
        picked = scores.gather(1, i.unsqueeze(1)) if pick == "gather" else scores.topk(2, dim=1).values
        return picked.sum()

    f = el.function(loss, input_signature=[el.TensorSpec([None, 4], el.float32), el.TensorSpec([None], el.int64)])
    for n in (5, 3):
        x = el.tensor(np.arange(4 * n, dtype=np.float32).reshape(n, 4))
        i = el.tensor(np.arange(n) % 4)
        f(x, i).backward()
        want = el.ones(4, requires_grad=True)
        w_grad, w.grad = w.grad, None
        scores = x * want
        (scores.gather(1, i.unsqueeze(1)) if pick == "gather" else scores.topk(2, dim=1).values).sum().backward()
        np.testing.assert_allclose(w_grad.numpy(), want.grad.numpy())
    assert f.trace_count == 1
