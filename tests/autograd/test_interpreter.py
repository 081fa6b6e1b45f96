"""The interpreter protocol: a new interpreter is one subclass; data-dependent checks hold in compiled code too;
autograd reduces broadcast gradients through the op's record (and custom Functions' too)."""
import copy

import numpy as np
import pytest

import eagerlab as el
from eagerlab.autograd.interpreter import Interpreter, current, installed
from eagerlab.errors import AutogradError, IndexOutOfRange, ShapeError


class CountingInterpreter(Interpreter):
    """Eager execution that counts the primitives it runs and the deferred calls it is asked for."""

    def __init__(self):
        self.prims, self.deferred = [], []

    def bind(self, prim, args, attrs):
        self.prims.append(prim.name)
        return super().bind(prim, args, attrs)

    def deferred_call(self, name, fn, args, kwargs):
        self.deferred.append(name)
        return super().deferred_call(name, fn, args, kwargs)


def test_a_new_interpreter_is_one_subclass_and_sees_every_op_forward_and_backward():
    x = el.tensor([1.0, 2.0], requires_grad=True)
    counting = CountingInterpreter()
    with installed(counting):
        y = (x * x).exp().sum()
        y.backward()
        assert current() is counting
    assert current() is not counting
    assert counting.prims[:3] == ["mul", "exp", "sum"]
    assert "mul" in counting.prims[3:]  # the backward ran through it as well
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([1.0, 2.0]) * np.exp([1.0, 4.0]), rtol=1e-6)


def test_a_scheduler_step_is_a_deferred_call_of_the_protocol():
    p = el.nn.Parameter(el.ones(2))
    opt = el.optim.SGD([p], lr=1.0)
    sched = el.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    counting = CountingInterpreter()
    with installed(counting):
        opt.step()
        sched.step()
    assert counting.deferred == ["StepLR.step"]
    assert opt.param_groups[0]["lr"] == 0.5


def test_one_hot_out_of_range_raises_the_same_error_compiled_as_eagerly():
    f = el.function(lambda c: el.one_hot(c, 3))
    np.testing.assert_array_equal(f(el.tensor([0, 2])).numpy(), [[1, 0, 0], [0, 0, 1]])
    for bad, msg in (([0, 3], "smaller than num_classes \\(3\\), got 3"), ([-1, 0], "non-negative, got -1")):
        with pytest.raises(IndexOutOfRange, match=msg):
            el.one_hot(el.tensor(bad), 3)
        with pytest.raises(IndexOutOfRange, match=msg):
            f(el.tensor(bad))
    assert f.trace_count == 1


def test_attention_with_a_fully_masked_row_gives_zero_weights_eagerly_and_compiled():
    q = el.tensor(np.random.default_rng(0).standard_normal((1, 2, 4)).astype(np.float32))
    mask = el.tensor([[True, True], [False, False]])  # the second query attends to nothing
    sdpa = el.nn.functional.scaled_dot_product_attention
    eager = sdpa(q, q, q, attn_mask=mask)
    compiled = el.function(lambda a: sdpa(a, a, a, attn_mask=mask))(q)
    np.testing.assert_array_equal(eager.numpy()[0, 1], 0)
    np.testing.assert_allclose(compiled.numpy(), eager.numpy(), rtol=1e-6)


class _BroadcastingAdd(el.autograd.Function):
    """A custom op whose backward returns the output-shaped gradient for a broadcast input."""

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g


def test_custom_function_gradients_of_the_broadcast_shape_are_summed_back():
    a = el.ones(2, 3, requires_grad=True)
    b = el.ones(3, requires_grad=True)
    _BroadcastingAdd.apply(a, b).sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), [2.0, 2.0, 2.0])
    assert a.grad.shape == (2, 3)


class _WrongShape(el.autograd.Function):
    @staticmethod
    def forward(ctx, a):
        return a * 2

    @staticmethod
    def backward(ctx, g):
        return el.ones(5)


def test_custom_function_gradient_of_an_incompatible_shape_names_the_function():
    a = el.ones(3, requires_grad=True)
    with pytest.raises(ShapeError, match="_WrongShapeBackward returned an invalid gradient: got shape \\(5,\\)"):
        _WrongShape.apply(a).sum().backward()


def test_sum_to_size_matches_torch_semantics():
    x = el.tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    np.testing.assert_array_equal(x.sum_to_size(3, 1).numpy(), x.numpy().sum(0).sum(1, keepdims=True))
    np.testing.assert_array_equal(x.sum_to_size((1, 3, 4)).numpy(), x.numpy().sum(0, keepdims=True))
    assert x.sum_to_size(2, 3, 4) is x
    with pytest.raises(ShapeError, match="sum_to_size: size \\(2, 4\\) is not expandable"):
        x.sum_to_size(2, 4)


def test_deepcopy_copies_a_leaf_and_refuses_a_computed_tensor():
    p = el.nn.Parameter(el.ones(2))
    q = copy.deepcopy(p)
    assert type(q) is el.nn.Parameter and q.requires_grad and q._data is not p._data
    with pytest.raises(AutogradError, match="graph leaves"):
        copy.deepcopy(p * 2)
