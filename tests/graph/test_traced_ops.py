"""Every registered op, traced: each OpInfo sample run through @eagerlab.function gives the eager values, and its
gradients (autograd.grad inside the compiled function, so the backward ops are traced too) the eager gradients."""
import pytest

import eagerlab
from eagerlab.errors import TracingError
from eagerlab.ops import OPS

from eagerlab.testing import assert_close, differentiable_call, flat_tensors, op_cases, samples, to_tensors

# a sample whose output shape depends on the data (boolean-mask indexing, nonzero, one_hot's class count) cannot
# be traced ahead of time: it must say so
DATA_DEPENDENT = ("depends on the data", "value is not known while the function is traced")


def _compiled(fn):
    return eagerlab.function(lambda *a, **k: fn(*a, **k))


def _assert_same(got, want):
    assert_close(flat_tensors(got), flat_tensors(want), rtol=1e-12, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("name,i", op_cases())
def test_traced_forward_equals_eager(name, i):
    info = OPS[name]
    args, kwargs = to_tensors(samples(info)[i])
    want = info.fn(*args, **kwargs)
    args, kwargs = to_tensors(samples(info)[i])
    try:
        got = _compiled(info.fn)(*args, **kwargs)
    except TracingError as e:
        assert any(m in str(e) for m in DATA_DEPENDENT), f"{name}: {e}"
        return
    _assert_same(got, want)


@pytest.mark.parametrize("name,i", op_cases(lambda info, s: info.grad and s.grad))
def test_traced_gradients_equal_eager(name, i):
    info = OPS[name]

    def grads(args, kwargs):
        fn, leaves = differentiable_call(info, args, kwargs)

        def body(*xs):
            outs = fn(*xs)
            seeds = [eagerlab.ones_like(o) * (k + 1) for k, o in enumerate(outs)]
            return eagerlab.autograd.grad(outs, xs, seeds, allow_unused=True) if outs else ()

        return body, leaves

    body, leaves = grads(*to_tensors(samples(info)[i], requires_grad=True))
    if not leaves:
        pytest.skip("no differentiable inputs")
    want = body(*leaves)
    body, leaves = grads(*to_tensors(samples(info)[i], requires_grad=True))
    try:
        got = _compiled(body)(*leaves)
    except TracingError as e:
        assert any(m in str(e) for m in DATA_DEPENDENT), f"{name}: {e}"
        return
    assert [g is None for g in got] == [w is None for w in want]
    _assert_same([g for g in got if g is not None], [w for w in want if w is not None])


def _first_float_tensor(args):
    return next((k for k, a in enumerate(args) if isinstance(a, eagerlab.Tensor) and a.is_floating_point()), None)


@pytest.mark.parametrize("name,i", op_cases())
def test_a_result_is_never_overwritten_by_the_next_call(name, i):
    """Feed the op an intermediate the memory planner may put in a reused buffer: whatever the op returns
    (possibly a view of that intermediate) must keep its values after the next call."""
    info = OPS[name]
    args, kwargs = to_tensors(samples(info)[i])
    k = _first_float_tensor(args)
    if k is None:
        pytest.skip("no float tensor argument")

    def body(x, *rest):
        call = list(rest)
        call.insert(k, x.abs() * x.sign())  # x again, through an elementwise chain: a planned buffer
        return info.fn(*call, **kwargs)

    compiled = _compiled(body)
    rest = args[:k] + args[k + 1:]
    try:
        first = compiled(args[k], *rest)
    except TracingError as e:
        assert any(m in str(e) for m in DATA_DEPENDENT), f"{name}: {e}"
        return
    kept = [t.detach().numpy().copy() for t in flat_tensors(first)]
    compiled(args[k] * 0.5, *rest)
    assert_close([t.detach().numpy() for t in flat_tensors(first)], kept, rtol=0, atol=0, equal_nan=True)
