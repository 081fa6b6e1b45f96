"""AutoGraph under @eagerlab.function: every construct of test_autograph.py traced with tensor conditions (one
trace serves every input value, the graph holds cond / while nodes) and with Python ones (unrolled at trace time,
one trace per Python value, no cond / while node); results equal the original Python function's. Then what the
tracer adds: return inside tensor loops, tensor breaks inside Python loops, chained comparisons, and the errors
(naming the user's file and line) under tracing."""
import os

import numpy as np
import pytest

import eagerlab as el
from eagerlab.autograph import convert
from eagerlab.errors import ControlFlowVariableError, DTypeError, UnsupportedError

from . import test_autograph as ag
from . import test_autograph_api as api

FILE = os.path.basename(__file__)


def t(x):
    return el.tensor(np.asarray(x, dtype=np.float32) if isinstance(x, (float, list)) else x)


def value(x):
    if isinstance(x, (tuple, list)):
        return [value(v) for v in x]
    return x.numpy().tolist() if isinstance(x, el.Tensor) else x


def control_kinds(f):
    return {n.kind for n in f.graph.nodes()} & {"cond", "while"}


def compiled_matches(fn, argsets):
    """el.function(fn) on each argument set gives what the original Python gives on the same values."""
    f = el.function(fn)
    for args in argsets:
        assert value(f(*args)) == pytest.approx(value(fn(*args))), (fn.__name__, args)
    return f


XS = [1.0, 2.0, 3.0, 4.0, 5.0]


# ---- the constructs of test_autograph.py -------------------------------------------------------------------------
TENSOR_CASES = [
    (ag.sign, [(t(3.0),), (t(-2.0),), (t(0.0),)], {"cond"}),
    (ag.bucket, [(t(-5.0),), (t(4.0),), (t(50.0),)], {"cond"}),
    (ag.bump, [(t(1),), (t(-1),)], {"cond"}),
    (ag.count_up, [(t(5),), (t(0),), (t(3),)], {"while"}),
    (ag.row_sum, [(t(np.arange(6.0).reshape(3, 2).tolist()),), (t([[1.0, -1.0], [2.0, 5.0], [0.5, 0.0]]),)],
     {"while"}),
    (ag.squares, [(t(4),), (t(0),), (t(7),)], {"while"}),
    (ag.first_index_over, [(t(XS), t(5.0)), (t(XS), t(100.0)), (t(XS), t(0.0))], {"while", "cond"}),
    (ag.sum_positive, [(t([1.0, -2.0, 3.0]),), (t([-1.0, -2.0, 3.0]),)], {"while", "cond"}),
    (ag.abs_or_double, [(t(3.0),), (t(-3.0),)], {"cond"}),
    (ag.table, [(t(3), t(4)), (t(2), t(5)), (t(0), t(1))], {"while"}),
    (ag.uses_helper, [(t(5.0),), (t(0.5),)], {"cond"}),
    (ag.collatz_steps, [(t(27),), (t(97),), (t(1),)], {"while", "cond"}),
]


@pytest.mark.parametrize("fn, argsets, kinds", TENSOR_CASES, ids=[c[0].__name__ for c in TENSOR_CASES])
def test_tensor_conditions_trace_once_into_cond_and_while(fn, argsets, kinds):
    f = compiled_matches(fn, argsets)
    assert f.trace_count == 1 and control_kinds(f) == kinds


PYTHON_CASES = [
    (ag.sign, [(3,), (-2,)]),
    (ag.bucket, [(-5,), (4,), (50,)]),
    (ag.bump, [(1,), (-1,)]),
    (ag.count_up, [(5,), (3,)]),
    (ag.row_sum, [([t(1.0), t(2.0)],), ([t(1.0), t(2.0), t(4.0)],)]),  # tensor data, Python iteration
    (ag.squares, [(4,), (0,)]),
    (ag.first_index_over, [(XS, 5.0), (XS, 100.0)]),
    (ag.sum_positive, [([1.0, -2.0, 3.0],), ([-1.0, 2.0],)]),
    (ag.find, [([3, 5, 7], 5), ([3, 5, 7], 4)]),
    (ag.abs_or_double, [(3.0,), (-3.0,)]),
    (ag.table, [(3, 4), (2, 2)]),
    (ag.uses_helper, [(5.0,), (0.5,)]),
    (ag.collatz_steps, [(27,), (6,)]),
]


@pytest.mark.parametrize("fn, argsets", PYTHON_CASES, ids=[c[0].__name__ for c in PYTHON_CASES])
def test_python_conditions_unroll_at_trace_time(fn, argsets):
    f = compiled_matches(fn, argsets)
    assert f.trace_count == len(argsets)  # one trace per Python value
    assert control_kinds(f) == set()


def test_methods_lambdas_and_modules_under_tracing():
    s = ag.Scaler(3)
    f = compiled_matches(s.apply, [(t(2.0),), (t(-2.0),)])
    assert f.trace_count == 1 and control_kinds(f) == {"cond"}
    pick = lambda x: x * 2 if x > 0 else -x  # noqa: E731
    f = compiled_matches(pick, [(t(-3.0),), (t(4.0),)])
    assert f.trace_count == 1 and control_kinds(f) == {"cond"}


def test_logical_operators():
    def gate(a, b):
        c = a > 0
        d = b > 0
        if (c and not d) or (d and not c):  # xor
            return a - b
        return a + b

    f = compiled_matches(gate, [(t(1.0), t(-1.0)), (t(1.0), t(2.0)), (t(-1.0), t(-2.0)), (t(-1.0), t(3.0))])
    assert f.trace_count == 1 and control_kinds(f) == {"cond"}
    f = el.function(ag.logic)
    for a, b in [(True, False), (False, False), (True, True)]:
        assert value(f(el.tensor(a), el.tensor(b))) == [a and b, a or b, not a]
    assert f.trace_count == 1 and control_kinds(f) == set()  # logical_and/or/not: no branch needed


# ---- return inside a tensor loop: the return value is carried, a placeholder until a return sets it --------------
def first_over(xs, threshold):
    for x in xs:
        if x > threshold:
            return x * 2
    return xs[0] * 0 - 1


def first_index_and_value(xs, threshold):
    i = el.tensor(0)
    while i < xs.shape[0]:
        if xs[i] > threshold:
            return i, xs[i]
        i += 1
    return i * 0 - 1, xs[0] * 0


def triangle_index(n, limit):
    total = 0
    for i in range(n):
        total += i
        if total >= limit:
            return i
    return -1


@pytest.mark.parametrize("fn, argsets", [
    (first_over, [(t(XS), t(2.5)), (t(XS), t(9.0)), (t(XS), t(0.0))]),
    (first_index_and_value, [(t(XS), t(3.5)), (t(XS), t(9.0))]),
    (triangle_index, [(t(10), t(6)), (t(10), t(100)), (t(0), t(1))]),
])
def test_return_inside_tensor_loops(fn, argsets):
    f = compiled_matches(fn, argsets)
    assert f.trace_count == 1 and "while" in control_kinds(f)
    for args in argsets:  # and eagerly, where the loop simply runs in Python
        assert value(convert(fn)(*args)) == pytest.approx(value(fn(*args)))


def test_return_inside_a_tensor_loop_needs_a_return_at_the_end():
    where = f"{os.path.basename(api.__file__)}:{api.line_of(api.returns_in_tensor_loop, '# the loop')}"
    with pytest.raises(UnsupportedError, match=f"return inside the loop at {where}.*end the function with a return"):
        el.function(api.returns_in_tensor_loop)(t([0.0, 2.0]))


# ---- break / return on a tensor inside a Python loop ------------------------------------------------------------
def scale_until(x, scales, limit):
    for i in range(len(scales)):
        if x > limit:
            break
        x = x * scales[i]  # i stays a Python int: it indexes a Python list
    return x


def sum_until(xs, limit):
    total = xs[0] * 0
    i = 0
    while i < 5:
        total = total + xs[i]
        if total > limit:
            break
        i += 1
    return total, i


def test_tensor_break_in_a_python_for_guards_each_later_iteration():
    # decision (operators._python_for): the loop stays unrolled and each iteration after the break flag became a
    # tensor runs under a cond on it, so the loop variable keeps its Python value
    f = compiled_matches(scale_until, [(t(1.0), [2.0, 3.0, 4.0], t(5.0)), (t(1.0), [2.0, 3.0, 4.0], t(100.0)),
                                       (t(9.0), [2.0, 3.0, 4.0], t(5.0))])
    assert f.trace_count == 1 and control_kinds(f) == {"cond"}
    f = compiled_matches(ag.find, [(t([3, 5, 7]), t(5)), (t([3, 5, 7]), t(4)), (t([3, 5, 7]), t(3))])
    assert f.trace_count == 1 and control_kinds(f) == {"cond"}  # return under a tensor if in enumerate(tensor)


def test_tensor_break_in_a_python_while_continues_as_a_while_loop():
    # an unrolled while cannot know when to stop once its test is a tensor: the rest becomes a while_loop
    f = compiled_matches(sum_until, [(t(XS), t(2.5)), (t(XS), t(99.0)), (t(XS), t(0.0))])
    assert f.trace_count == 1 and control_kinds(f) == {"cond", "while"}


def last_positive(xs, limit):
    for i in range(3):
        if xs[i] > limit:
            break
        last = xs[i]  # first assigned after the break flag may already be set
    return last


def second_element(xs, limit):
    for i in range(3):  # the loop
        if i == 1:
            second = xs[i]  # first assigned in an iteration that runs under the break flag
        if xs[i] > limit:
            break
    return second


def test_variable_first_assigned_after_a_tensor_break_names_the_statement():
    # what follows a break runs under `if not <break flag>`: a tensor if, whose other branch has no `last`
    line = next(i for i, s in enumerate(open(__file__), 1) if "last = xs[i]" in s)
    with pytest.raises(ControlFlowVariableError, match=f"'last' must be defined in both branches of the if at "
                                                       f"{FILE}:{line}"):
        el.function(last_positive)(t(XS), t(0.0))
    line = next(i for i, s in enumerate(open(__file__), 1) if "for i in range(3):  # the loop" in s)
    with pytest.raises(ControlFlowVariableError, match=f"'second' must be defined before the loop at {FILE}:{line}"):
        el.function(second_element)(t(XS), t(0.5))
    assert value(convert(second_element)(t(XS), t(1.5))) == 2.0  # eagerly the break is known: plain Python


# ---- chained comparisons ----------------------------------------------------------------------------------------
def in_range(x):
    return 0 < x < 5


def between(lo, x, hi):
    return lo <= x < hi != x * 0


def test_chained_comparisons_on_tensors_are_logical_and():
    f = el.function(in_range)
    for x in (3.0, 7.0, -1.0, 0.0, 5.0):
        assert f(t(x)).item() == (0 < x < 5)
    assert f.trace_count == 1
    f = el.function(between)
    for lo, x, hi in [(0.0, 1.0, 2.0), (0.0, 2.0, 2.0), (1.0, 0.0, 2.0)]:
        assert f(t(lo), t(x), t(hi)).item() == (lo <= x < hi != 0)
    assert f.trace_count == 1


def test_chained_comparisons_keep_python_semantics():
    calls = []

    def right():
        calls.append(1)
        return 9

    def chain(x):
        return 0 < x < right()

    assert convert(in_range)(3) is True and convert(in_range)(7) is False
    assert convert(chain)(-1) is False and calls == []  # short-circuit: the rest is not evaluated
    assert convert(chain)(1) is True and calls == [1]
    assert convert(between)(1, 2, 3) is True and convert(between)(2, 1, 3) is False


# ---- the errors of test_autograph_api.py, under tracing --------------------------------------------------------
def test_errors_under_tracing_name_the_file_and_line():
    where = lambda fn, marker: f"{os.path.basename(api.__file__)}:{api.line_of(fn, marker)}"  # noqa: E731
    with pytest.raises(ControlFlowVariableError, match=f"'y' must be defined in both branches of the if at "
                                                       f"{where(api.one_branch, '# the if')}"):
        el.function(api.one_branch)(t(1.0))
    with pytest.raises(DTypeError, match=f"loop variable 'v' has dtype int64 before the loop but float32.*"
                                         f"{where(api.changes_dtype, '# the loop')}"):
        el.function(api.changes_dtype)(t(3))
    with pytest.raises(ControlFlowVariableError, match=f"'last' must be defined before the loop at "
                                                       f"{where(api.defined_inside, '# the loop')}"):
        el.function(api.defined_inside)(el.ones(3))
    with pytest.raises(ControlFlowVariableError, match=f"the if at {where(api.returns_in_one_branch, '# the if')} "
                                                       "returns a value in only one branch"):
        el.function(api.returns_in_one_branch)(t(1.0))
