"""Grad modes, versions and in-place checks, custom Functions, gradcheck, anomaly detection."""
import numpy as np
import pytest

import eagerlab as el
from eagerlab.autograd import Function, once_differentiable
from eagerlab.autograd.gradcheck import GradcheckError
from eagerlab.errors import AutogradError


def leaf(values):
    return el.tensor(values, dtype=el.float64, requires_grad=True)


def test_no_grad_context_and_decorator():
    x = leaf([1.0])
    with el.no_grad():
        assert not (x * 2).requires_grad
        with el.enable_grad():
            assert (x * 2).requires_grad
    assert (x * 2).requires_grad

    @el.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad and el.is_grad_enabled()


def test_set_grad_enabled_and_inference_mode():
    x = leaf([1.0])
    with el.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert el.is_grad_enabled()
    el.set_grad_enabled(False)
    assert not el.is_grad_enabled()
    el.set_grad_enabled(True)
    with el.inference_mode():
        assert not (x * 2).requires_grad
    with el.inference_mode(False):
        assert (x * 2).requires_grad


def test_stale_saved_tensor_raises_pytorch_error():
    x = leaf([1.0, 2.0])
    y = x.exp()
    z = y * 1
    y.add_(1)  # exp saved its output
    with pytest.raises(AutogradError, match=r"modified by an inplace operation.*ExpBackward0.*version 1; expected "
                                            r"version 0"):
        y.sum().backward()
    with pytest.raises(AutogradError, match="shape \\(2,\\)"):
        z.sum().backward()


def test_inplace_on_leaf_requiring_grad_raises():
    x = leaf([1.0])
    with pytest.raises(AutogradError, match="leaf Variable that requires grad"):
        x.add_(1)
    with el.no_grad():
        x.add_(1)
    assert x.item() == 2.0 and x._version == 1


def test_inplace_on_non_leaf_is_differentiable():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.mul_(x)  # y = 2x * x: needs y's old value, snapshotted
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])
    assert y.grad_fn.name() == "MulBackward0" and y._version == 1


class Cube(Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * x * x * scale

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        assert ctx.needs_input_grad == (True, False)
        return g * 3 * x * x * ctx.scale, None


def test_custom_function_forward_backward_and_double_backward():
    x = leaf([1.0, 2.0])
    y = Cube.apply(x, 2.0)
    assert y.grad_fn.name() == "CubeBackward"
    (g,) = el.autograd.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [6.0, 24.0])
    (gg,) = el.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), [12.0, 24.0])
    assert el.autograd.gradcheck(lambda t: Cube.apply(t, 2.0), (leaf([0.3, -0.7]),))


def test_custom_function_without_grad_returns_plain_output():
    y = Cube.apply(el.tensor([1.0]), 1.0)
    assert not y.requires_grad


def test_once_differentiable_backward_is_not_recorded():
    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x

    x = leaf([3.0])
    (g,) = el.autograd.grad(Square.apply(x).sum(), x, create_graph=True)
    assert g.item() == 6.0 and not g.requires_grad


def test_wrong_number_of_custom_grads_raises():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(AutogradError, match="incorrect number of gradients"):
        Bad.apply(leaf([1.0]), leaf([2.0])).sum().backward()


def test_gradcheck_catches_a_wrong_backward():
    class WrongExp(Function):
        @staticmethod
        def forward(ctx, x):
            return x.exp()

        @staticmethod
        def backward(ctx, g):
            return g  # wrong: should be g * exp(x)

    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        el.autograd.gradcheck(WrongExp.apply, (leaf([0.5, 1.0]),))
    assert not el.autograd.gradcheck(WrongExp.apply, (leaf([0.5]),), raise_exception=False)


def test_gradgradcheck_passes_for_composites():
    x = leaf([0.5, 1.5])
    assert el.autograd.gradgradcheck(lambda t: (t * t).exp() / t, (x,))


def test_detect_anomaly_names_backward_op_and_forward_line():
    class NanBackward(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    x = leaf([1.0])
    with el.autograd.detect_anomaly():
        y = NanBackward.apply(x)  # the line the error must name
        with pytest.raises(AutogradError, match=r"(?s)NanBackwardBackward.*returned nan.*test_modes.py:\d+"):
            y.sum().backward()
    # without anomaly mode the NaN propagates silently, as in PyTorch
    NanBackward.apply(x).sum().backward()
    assert np.isnan(x.grad.item())


def test_detect_anomaly_for_builtin_ops():
    x = leaf([0.0])
    with el.autograd.detect_anomaly():
        y = el.log(x) * 0  # d/dx = 0 * 1/x = nan at 0
        with pytest.raises(AutogradError, match="LogBackward0"):
            y.sum().backward()
