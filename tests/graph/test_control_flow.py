"""cond, while_loop and TensorSpec used eagerly (as tf.cond / tf.while_loop / tf.TensorSpec are)."""
import numpy as np
import pytest

import eagerlab as el
from eagerlab.errors import DTypeError, ShapeError


def test_cond_runs_one_branch_and_gradients_follow_it():
    x = el.tensor(3.0, requires_grad=True)
    calls = []
    y = el.cond(x > 2, lambda: calls.append("t") or x * x, lambda: calls.append("f") or -x)
    y.backward()
    assert calls == ["t"] and y.item() == 9.0 and x.grad.item() == 6.0
    assert el.cond(False, lambda: 1, lambda: 2) == 2


def test_cond_errors():
    with pytest.raises(ShapeError, match=r"cond: the predicate must be a single value .* shape \(3,\)"):
        el.cond(el.ones(3) > 0, lambda: 1, lambda: 2)
    with pytest.raises(TypeError, match="callables"):
        el.cond(True, 1, 2)


def test_while_loop_values_gradients_and_max_iterations():
    i, total = el.while_loop(lambda i, s: i < 5, lambda i, s: (i + 1, s + i), (el.tensor(0), el.tensor(0)))
    assert (i.item(), total.item()) == (5, 10)
    w = el.tensor(1.5, requires_grad=True)
    x = el.while_loop(lambda v: v.abs() < 100, lambda v: v * w, el.tensor(1.0))  # one variable, not a tuple
    x.backward()
    n = int(np.ceil(np.log(100) / np.log(1.5)))
    assert x.item() == pytest.approx(1.5 ** n) and w.grad.item() == pytest.approx(n * 1.5 ** (n - 1))
    (k,) = el.while_loop(lambda k: True, lambda k: (k + 1,), [el.tensor(0)], maximum_iterations=7)
    assert k.item() == 7


def test_while_loop_variables_keep_dtype_and_shape():
    with pytest.raises(DTypeError, match="loop variable 0 changed dtype from int64 to float32"):
        el.while_loop(lambda v: v < 3, lambda v: v + 0.5, el.tensor(0))
    with pytest.raises(ShapeError, match=r"loop variable 1 changed shape from \(2,\) to \(2, 2\)"):
        el.while_loop(lambda i, v: i < 2, lambda i, v: (i + 1, v.expand(2, 2)), (el.tensor(0), el.ones(2)))
    with pytest.raises(ShapeError, match="returned 1 loop variables, expected 2"):
        el.while_loop(lambda i, v: i < 2, lambda i, v: (i + 1,), (el.tensor(0), el.ones(2)))


def test_tensor_spec():
    spec = el.TensorSpec([None, 784], el.float32)
    assert repr(spec) == "TensorSpec(shape=(None, 784), dtype=eagerlab.float32)"
    assert spec.is_compatible_with(el.zeros(32, 784)) and spec.is_compatible_with(el.zeros(1, 784))
    assert not spec.is_compatible_with(el.zeros(32, 783)) and not spec.is_compatible_with(el.zeros(784))
    assert not spec.is_compatible_with(el.zeros(2, 784, dtype=el.float64))
    assert el.TensorSpec.from_tensor(el.zeros(2, 3)) == el.TensorSpec((2, 3), el.float32, device="cpu")
    assert el.TensorSpec(None).is_compatible_with(el.zeros(5, 5, 5))
    with pytest.raises(ValueError, match="non-negative or None"):
        el.TensorSpec([-1, 3])
