"""stack/unbind as single ops (each the other's backward), unbind's views, and sigmoid at extreme inputs.
Values, gradients and PyTorch agreement are covered by the generic OpInfo tests."""
import warnings

import numpy as np

import eagerlab as el


def test_unbind_is_one_op_of_views_and_stack_its_backward():
    x = el.randn(3, 4, requires_grad=True)
    parts = x.unbind(1)
    assert len(parts) == 4 and all(p.shape == (3,) for p in parts)
    assert {p.grad_fn.name() for p in parts} == {"UnbindBackward0"} and parts[0].grad_fn is parts[3].grad_fn
    (parts[0] * 2 + parts[2]).sum().backward()  # unused pieces get zero gradient
    assert x.grad.tolist() == [[2.0, 0.0, 1.0, 0.0]] * 3
    base = el.zeros(2, 3)
    first, _ = base.unbind()
    first.add_(1)  # a view: writes through and bumps the base's version, as in PyTorch
    assert base.tolist() == [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]] and base._version == 1
    assert el.unbind(el.zeros(0, 3)) == () and len(el.zeros(1, 2).unbind()) == 1


def test_stack_is_one_op_with_unbind_backward():
    a, b = el.randn(2, 3, requires_grad=True), el.randn(2, 3, requires_grad=True)
    s = el.stack([a, b, a], dim=1)
    assert s.shape == (2, 3, 3) and s.grad_fn.name() == "StackBackward0"
    (s * el.arange(3.0).reshape(1, 3, 1)).sum().backward()
    assert np.array_equal(a.grad.numpy(), np.full((2, 3), 2.0)) and np.array_equal(b.grad.numpy(), np.ones((2, 3)))


def test_sigmoid_extremes_are_exact_and_quiet():
    x = np.array([-100.0, -30.0, -1.0, 0.0, 2.0, 40.0, np.inf, -np.inf])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings from exp
        got64 = el.sigmoid(el.tensor(x)).numpy()
        got32 = el.sigmoid(el.tensor(x, dtype=el.float32)).numpy()
    want = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(got64, want, rtol=1e-15)  # relative precision far into the left tail
    np.testing.assert_allclose(got32[1:], want[1:], rtol=1e-6)
    assert got32.dtype == np.float32
