"""Backward engine: accumulation, retain_graph, hooks, autograd.grad, higher-order gradients, aliasing."""
import numpy as np
import pytest

import eagerlab as el
from eagerlab.errors import AutogradError, DTypeError, ShapeError


def leaf(values):
    return el.tensor(values, dtype=el.float64, requires_grad=True)


def test_backward_accumulates_into_leaf_grad():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([1.0, 2.0, 3.0]) + 3)
    assert not x.grad.requires_grad and x.grad.grad_fn is None


def test_broadcast_backward_reduces_to_input_shape():
    a = leaf(np.ones((2, 3)))
    b = leaf([1.0, 2.0, 3.0])
    c = leaf(2.0)
    (a * b + c).sum().backward()
    assert a.grad.shape == (2, 3) and b.grad.shape == (3,) and c.grad.shape == ()
    np.testing.assert_allclose(b.grad.numpy(), [2.0, 2.0, 2.0])
    assert c.grad.item() == 6.0


def test_second_backward_without_retain_graph_raises():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(AutogradError, match="second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_grads_of_two_leaves_are_not_aliased():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    g = el.tensor([1.0, 1.0], dtype=el.float64)
    (a + b).backward(g)
    a.grad.zero_() if hasattr(a.grad, "zero_") else a.grad.mul_(0)
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 1.0])
    np.testing.assert_allclose(g.numpy(), [1.0, 1.0])


def test_nonscalar_backward_needs_gradient():
    x = leaf([1.0, 2.0])
    with pytest.raises(AutogradError, match="scalar outputs"):
        (x * 2).backward()
    with pytest.raises(ShapeError, match="gradient has shape"):
        (x * 2).backward(el.ones(3, dtype=el.float64))


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(AutogradError, match="does not require grad"):
        el.ones(2).sum().backward()


def test_retain_grad_on_non_leaf():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.retain_grad()
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [4.0, 8.0])
    np.testing.assert_allclose(x.grad.numpy(), [8.0, 16.0])


def test_hooks_on_leaf_and_non_leaf_can_replace_grad_and_be_removed():
    x = leaf([1.0, 2.0])
    seen = []
    h = x.register_hook(lambda g: seen.append(g.numpy().copy()))
    y = x * 3
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [30.0, 30.0])
    np.testing.assert_allclose(seen[0], [30.0, 30.0])
    h.remove()
    x.grad = None
    (x * 1).sum().backward()
    assert len(seen) == 1


def test_autograd_grad_returns_without_touching_dot_grad():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (gx, gw) = el.autograd.grad((x * w).sum(), [x, w])
    np.testing.assert_allclose(gx.numpy(), [3.0, 4.0])
    np.testing.assert_allclose(gw.numpy(), [1.0, 2.0])
    assert x.grad is None and w.grad is None


def test_autograd_grad_unused_input():
    x, z = leaf([1.0]), leaf([2.0])
    with pytest.raises(AutogradError, match="not used"):
        el.autograd.grad((x * 2).sum(), [x, z])
    gx, gz = el.autograd.grad((x * 2).sum(), [x, z], allow_unused=True)
    assert gz is None and gx.item() == 2.0
    gx, gz = el.autograd.grad((x * 2).sum(), [x, z], materialize_grads=True)
    assert gz.item() == 0.0


def test_autograd_grad_of_non_leaf_input():
    x = leaf([1.0, 2.0])
    h = x * x
    (gh,) = el.autograd.grad((h * 3).sum(), h)
    np.testing.assert_allclose(gh.numpy(), [3.0, 3.0])


def test_higher_order_gradients():
    x = leaf([1.0, 2.0, -0.5])
    y = (x ** 3).sum()
    (g1,) = el.autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(g1.detach().numpy(), 3 * x.detach().numpy() ** 2)
    (g2,) = el.autograd.grad(g1.sum(), x, create_graph=True)
    np.testing.assert_allclose(g2.detach().numpy(), 6 * x.detach().numpy())
    (g3,) = el.autograd.grad(g2.sum(), x)
    np.testing.assert_allclose(g3.numpy(), [6.0, 6.0, 6.0])


def test_backward_create_graph_gives_differentiable_grad():
    x = leaf([2.0])
    (x.exp() * x).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (g2,) = el.autograd.grad(x.grad.sum(), x)
    e = np.exp(2.0)
    np.testing.assert_allclose(g2.numpy(), [e * 2 + e + e])  # d/dx (e^x (x + 1)) = e^x (x + 2)


def test_backward_inputs_limits_accumulation():
    a, b = leaf([1.0]), leaf([2.0])
    (a * b).sum().backward(inputs=[a])
    assert a.grad.item() == 2.0 and b.grad is None


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(DTypeError, match="floating point"):
        el.tensor([1, 2]).requires_grad_()
    with pytest.raises(DTypeError, match="int64"):
        el.tensor([1, 2], requires_grad=True)


def test_requires_grad_false_on_non_leaf_raises():
    y = leaf([1.0]) * 2
    with pytest.raises(AutogradError, match="leaf"):
        y.requires_grad_(False)


def test_grad_fn_names_and_next_functions():
    x = leaf([1.0])
    y = (x * 2).exp()
    assert y.grad_fn.name() == "ExpBackward0"
    assert "grad_fn=<ExpBackward0>" in repr(y)
    (prev, _), = y.grad_fn.next_functions
    assert prev.name() == "MulBackward0"
    assert x.is_leaf and not y.is_leaf


def test_detach_shares_memory_and_cuts_graph():
    x = leaf([1.0, 2.0])
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    with el.no_grad():
        d.mul_(2)
    np.testing.assert_allclose(x.detach().numpy(), [2.0, 4.0])


def test_numpy_scalars_act_like_python_numbers_and_none_compares_false():
    t = el.ones(2)
    assert (t * np.float64(2)).dtype == el.float32 and (t * np.float32(2)).dtype == el.float32
    assert (t == None) is False and (t != "a") is True  # noqa: E711


def test_maximum_and_amax_split_the_gradient_of_ties():
    a, b = leaf([1.0, 2.0]), leaf([1.0, 0.5])
    el.maximum(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [0.5, 1.0])
    np.testing.assert_allclose(b.grad.numpy(), [0.5, 0.0])
    x = leaf([3.0, 1.0, 3.0])
    x.amax().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 0.0, 0.5])


def test_a_none_gradient_for_an_input_still_lets_its_other_paths_through():
    """A backward returning None for an input that requires grad: the node that made the input still gets the
    gradients its other uses bring (PyTorch's x.grad here is 2 + 3); a node reached by None alone passes none on."""
    class Scale(el.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, None

    x = el.tensor([1.0, 2.0], requires_grad=True)
    m = x * 3
    (Scale.apply(x, m) + m).sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]
    x.grad = None
    Scale.apply(x, el.exp(x * 3)).sum().backward()  # the exp and mul nodes get nothing
    assert x.grad.tolist() == [2.0, 2.0]
    (g,) = el.autograd.grad(Scale.apply(x, m).sum(), [x], retain_graph=True)
    assert g.tolist() == [2.0, 2.0]
