"""eagerlab.testing's own behaviour: assert_close's verdicts and messages, the op checks on an op defined outside
the registry (as a user or a front end would), skips that say why, and the layer check catching a wrong layer."""
import sys
import unittest

import numpy as np
import pytest

import eagerlab
import eagerlab.nn as nn
from eagerlab.ops._registry import OpInfo, Sample
from eagerlab.testing import (assert_close, check_exported, check_gradcheck, check_reference, compare_with_torch,
                              require_torch)


def test_assert_close_accepts_equal_results_and_tolerates_float_rounding():
    x = eagerlab.tensor([1.0, 2.0, float("nan")])
    assert_close((x, {"n": 3}), (eagerlab.tensor([1.0, 2.0 + 1e-6, float("nan")]), {"n": 3}), equal_nan=True)
    assert_close(x[:2], np.array([1.0, 2.0], np.float32))
    assert_close(0.1 + 0.2, 0.3)


@pytest.mark.parametrize("actual, expected, message", [
    (eagerlab.ones(2, 3), eagerlab.ones(3, 2), r"shapes differ: got \(2, 3\), expected \(3, 2\)"),
    (eagerlab.ones(2), eagerlab.ones(2, dtype=eagerlab.float64), "dtypes differ: got float32, expected float64"),
    (eagerlab.tensor([1.0, 2.0]), eagerlab.tensor([1.0, 2.001]), "Mismatched elements: 1 / 2"),
    (eagerlab.tensor([1, 2]), eagerlab.tensor([1, 3]), r"values differ at 1 of 2 positions, first \(1,\)"),
    ((eagerlab.ones(1), [eagerlab.ones(1), 2]), (eagerlab.ones(1), [eagerlab.ones(1), 3]),
     r"expected 3, got 2 \(at output\[1\]\[1\]\)"),
    ((1, 2), [1, 2], "expected a list of 2, got tuple of 2"),
    (eagerlab.tensor(float("nan")), eagerlab.tensor(float("nan")), "Mismatched elements"),
])
def test_assert_close_names_what_differs(actual, expected, message):
    with pytest.raises(AssertionError, match=message):
        assert_close(actual, expected)


def test_assert_close_options():
    assert_close(eagerlab.ones(2), np.ones(2), check_dtype=False)
    assert_close(eagerlab.tensor([1.0]), eagerlab.tensor([1.5]), rtol=0.0, atol=0.5)
    with pytest.raises(ValueError, match="both rtol and atol"):
        assert_close(eagerlab.ones(1), eagerlab.ones(1), rtol=1e-3)
    with pytest.raises(AssertionError, match="^step 3: "):
        assert_close(1, 2, msg="step 3")


def _user_op(fn):
    """An op as a front end or a user defines one: not registered, with its own samples and reference."""
    return OpInfo("double_then_exp", fn, lambda rng: [Sample(rng.standard_normal((2, 3)))],
                  ref=lambda x: np.exp(2 * x), torch=None, grad=True, gradgrad=True, atol=1e-6, rtol=1e-5)


def test_the_op_checks_run_an_op_defined_outside_the_registry(tmp_path):
    good = _user_op(lambda x: (x * 2).exp())
    check_reference(good, 0)
    check_gradcheck(good, 0)
    check_exported(good, 0, str(tmp_path / "op.elx"))
    with pytest.raises(AssertionError, match="double_then_exp vs its numpy reference"):
        check_reference(_user_op(lambda x: (x * 2.01).exp()), 0)


def test_a_check_with_nothing_to_check_is_a_skip_saying_why(monkeypatch):
    with pytest.raises(unittest.SkipTest, match=r"argmax is not differentiable \(grad=False\)"):
        check_gradcheck("argmax", 0)
    with pytest.raises(unittest.SkipTest, match="double_then_exp: no differentiable inputs"):
        check_gradcheck(_user_op(lambda x: (x * 2).exp()), Sample(np.arange(3)))
    with pytest.raises(unittest.SkipTest, match="sum has no numpy reference"):
        check_reference(OpInfo("sum", eagerlab.sum, None, None, None, True, True, 0, 0), Sample(np.ones(2)))
    monkeypatch.setitem(sys.modules, "torch", None)  # as if PyTorch were not installed
    with pytest.raises(unittest.SkipTest, match="compare_with_torch compares with PyTorch, which is not installed"):
        require_torch("compare_with_torch")


def test_compare_with_torch_catches_a_layer_that_differs():
    torch = pytest.importorskip("torch")
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    compare_with_torch(nn.Tanh(), torch.nn.Tanh(), x)
    with pytest.raises(AssertionError, match="output 0"):
        compare_with_torch(nn.ReLU(), torch.nn.Tanh(), x)
