"""AutoGraph per construct: the converted function gives the original's results, with tensor conditions (through
control_flow.cond / while_loop, counted) and with Python ones (plain Python, no graph op)."""
import numpy as np
import pytest

import eagerlab as el
from eagerlab.autograph import convert
from eagerlab.graph import control_flow


@pytest.fixture
def calls(monkeypatch):
    """Counts the control_flow.cond / while_loop calls the converted code makes."""
    counts = {"cond": 0, "while_loop": 0}
    for name in counts:
        original = getattr(control_flow, name)

        def counting(*args, _name=name, _original=original, **kwargs):
            counts[_name] += 1
            return _original(*args, **kwargs)
        monkeypatch.setattr(control_flow, name, counting)
    return counts


def value(x):
    return x.numpy().tolist() if isinstance(x, el.Tensor) else x


def same(fn, *args):
    """convert(fn)(*args) == fn(*args) (the original run eagerly)."""
    expected, got = fn(*args), convert(fn)(*args)
    assert value(got) == pytest.approx(value(expected)), (fn.__name__, args)
    return got


def sign(x):
    if x > 0:
        y = x * 2
    else:
        y = -x
    return y


def bucket(x):
    if x < 0:
        r = x * 0 - 1
    elif x < 10:
        r = x
    else:
        r = x * 0 + 10
    return r


def bump(x):
    y = x
    if x > 0:
        y = y + 1
    return y


@pytest.mark.parametrize("fn, inputs, conds", [(sign, (3, -2), 1), (bucket, (-5, 4, 50), 2), (bump, (1, -1), 1)])
def test_if_elif_and_if_without_else(calls, fn, inputs, conds):
    for x in inputs:
        calls["cond"] = 0
        same(fn, el.tensor(x))
        assert calls["cond"] >= 1 and calls["cond"] <= conds
        calls["cond"] = 0
        same(fn, x)
        assert calls["cond"] == 0  # Python values: plain Python


def count_up(n):
    i, total = 0, 0
    while i < n:
        total = total + i
        i += 1
    return total


def test_while(calls):
    assert value(same(count_up, el.tensor(5))) == 10 and calls["while_loop"] == 1
    assert same(count_up, 5) == 10 and calls["while_loop"] == 1


def row_sum(xs):
    total = xs[0] * 0
    for x in xs:
        total = total + x
    return total


def test_for_over_tensor_and_list(calls):
    same(row_sum, el.tensor(np.arange(6.0, dtype=np.float32).reshape(3, 2)))
    assert calls["while_loop"] == 1
    assert same(row_sum, [1.0, 2.0, 4.0]) == 7.0 and calls["while_loop"] == 1


def squares(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def test_for_over_range(calls):
    assert value(same(squares, el.tensor(4))) == 14 and calls["while_loop"] == 1
    assert same(squares, 4) == 14 and calls["while_loop"] == 1


def first_index_over(xs, threshold):
    total = xs[0] * 0
    i = 0
    for x in xs:
        total = total + x
        if total > threshold:
            break
        i += 1
    return i


def test_break(calls):
    xs = [1.0, 2.0, 3.0, 4.0, 5.0]
    for threshold in (5.0, 100.0):
        same(first_index_over, el.tensor(np.array(xs, dtype=np.float32)), el.tensor(threshold))
        same(first_index_over, xs, threshold)
    assert calls["while_loop"] == 2


def sum_positive(xs):
    total = xs[0] * 0
    for x in xs:
        if x < 0:
            continue
        total = total + x
    return total


def test_continue(calls):
    same(sum_positive, el.tensor([1.0, -2.0, 3.0]))
    assert calls["while_loop"] == 1
    same(sum_positive, [1.0, -2.0, 3.0])


def find(xs, target):
    for i, x in enumerate(xs):
        if x == target:
            return i
    return -1


def abs_or_double(x):
    if x > 0:
        return x * 2
    return -x


def test_return_inside_loop_and_if(calls):
    assert same(find, [3, 5, 7], 5) == 1 and same(find, [3, 5, 7], 4) == -1
    same(abs_or_double, el.tensor(3.0))
    same(abs_or_double, el.tensor(-3.0))
    assert calls["cond"] == 2
    assert same(abs_or_double, -1) == 1


def table(n, m):
    acc = 0
    for i in range(n):
        j = 0
        while j < m:
            acc = acc + i * j
            j += 1
    return acc


def test_nested_loops(calls):
    # eagerly the inner loop runs once per outer iteration: 1 + 3 while_loop calls
    assert value(same(table, el.tensor(3), el.tensor(4))) == 18 and calls["while_loop"] == 4
    assert same(table, 3, 4) == 18


def clip(x):
    if x > 1:
        x = x * 0 + 1
    return x


def uses_helper(x):
    return clip(x) + 1


class Scaler:
    def __init__(self, k):
        self.k = k

    def apply(self, x):
        if x > 0:
            x = x * self.k
        return x


def test_nested_user_function_calls_methods_and_lambdas(calls):
    same(uses_helper, el.tensor(5.0))
    assert calls["cond"] == 1
    s = Scaler(3)
    assert value(convert(s.apply)(el.tensor(2.0))) == 6.0 and calls["cond"] == 2
    assert value(convert(Scaler.apply)(s, el.tensor(2.0))) == 6.0 and calls["cond"] == 3
    pick = lambda x: x * 2 if x > 0 else -x  # noqa: E731
    assert value(convert(pick)(el.tensor(-3.0))) == 3.0 and calls["cond"] == 4
    assert convert(pick)(-3) == 3 and calls["cond"] == 4


def test_user_module_forward_is_converted_and_hooks_still_run(calls):
    import eagerlab.nn as nn

    class Gate(nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                x = x * 2
            return x

    gate, seen = Gate(), []
    gate.register_forward_hook(lambda module, args, out: seen.append(value(out)))

    def run(x):
        return gate(x)

    assert value(convert(run)(el.tensor([1.0, 2.0]))) == [2.0, 4.0]
    assert calls["cond"] == 1 and seen == [[2.0, 4.0]]


def logic(a, b):
    return (a and b, a or b, not a)


def test_and_or_not(calls):
    for a, b in [(0, 5), (3, 5), ([], "x"), ("y", None)]:
        assert convert(logic)(a, b) == logic(a, b)  # Python returns the operand itself
    got = convert(logic)(el.tensor(True), el.tensor(False))
    assert [value(v) for v in got] == [False, True, False]

    evaluated = []

    def right():
        evaluated.append(1)
        return True

    def short(a):
        return a and right()

    assert convert(short)(0) == 0 and evaluated == []  # Python short-circuit kept


def collatz_steps(n):
    steps = el.tensor(0)
    while n > 1:
        if n % 2 == 0:
            n = n // 2
        else:
            n = 3 * n + 1
        steps += 1
    return steps


def test_seed_scenarios(calls):
    steps = convert(collatz_steps)
    assert [steps(el.tensor(n)).item() for n in (27, 97, 1)] == [111, 118, 0]
    assert calls["while_loop"] == 3 and calls["cond"] == 111 + 118
    xs = el.tensor(np.array([1.0, 2.0, 3.0, 4.0, 5.0], dtype=np.float32))
    first = convert(first_index_over)
    assert first(xs, el.tensor(5.0)).item() == 2 and first(xs, el.tensor(100.0)).item() == 5
