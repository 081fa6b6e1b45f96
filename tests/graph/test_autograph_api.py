"""AutoGraph's API (convert keeps what a function is, to_code, do_not_convert, lazy import) and the errors a user
sees, each naming the file and line of the statement."""
import inspect
import os
import subprocess
import sys

import pytest

import eagerlab as el
from eagerlab.autograph import convert, do_not_convert, to_code
from eagerlab.errors import ControlFlowVariableError, DTypeError, UnsupportedError

FILE = os.path.basename(__file__)


def line_of(fn, marker):
    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, line in enumerate(lines) if marker in line)


def one_branch(x):
    if x > 0:  # the if
        y = x
    return y


def changes_dtype(n):
    v = el.tensor(0)
    while v < n:  # the loop
        v = v + 0.5
    return v


def defined_inside(xs):
    for x in xs:  # the loop
        last = x
    return last


def returns_in_tensor_loop(xs):
    for x in xs:  # the loop
        if x > 1:
            return x
    # no return here: the function returns None when no x > 1, which a graph cannot (with one it can: see
    # test_autograph_compiled.py)


def returns_in_one_branch(x):
    if x > 0:  # the if
        return x


def test_errors_name_the_file_and_line():
    where = f"{FILE}:{line_of(one_branch, '# the if')}"
    with pytest.raises(ControlFlowVariableError, match=f"'y' must be defined in both branches of the if at {where}"):
        convert(one_branch)(el.tensor(1.0))  # even though the branch that runs eagerly defines y
    where = f"{FILE}:{line_of(changes_dtype, '# the loop')}"
    with pytest.raises(DTypeError, match=f"loop variable 'v' changed dtype from int64 to float32.*{where}"):
        convert(changes_dtype)(el.tensor(3))
    where = f"{FILE}:{line_of(defined_inside, '# the loop')}"
    with pytest.raises(ControlFlowVariableError, match=f"'last' must be defined before the loop at {where}"):
        convert(defined_inside)(el.ones(3))
    where = f"{FILE}:{line_of(returns_in_tensor_loop, '# the loop')}"
    with pytest.raises(UnsupportedError, match=f"return inside the loop at {where}, whose condition is a tensor, in a "
                       "function that can also end without a return"):
        convert(returns_in_tensor_loop)(el.ones(3))
    where = f"{FILE}:{line_of(returns_in_one_branch, '# the if')}"
    with pytest.raises(ControlFlowVariableError, match=f"the if at {where} returns a value in only one branch"):
        convert(returns_in_one_branch)(el.tensor(1.0))


def test_python_conditions_keep_python_errors_and_results():
    with pytest.raises(UnboundLocalError) as info:
        convert(one_branch)(-1)
    assert not isinstance(info.value, ControlFlowVariableError)
    assert convert(one_branch)(2) == 2 and convert(defined_inside)([1, 2]) == 2
    assert convert(returns_in_one_branch)(-1) is None and convert(returns_in_tensor_loop)([0, 5]) == 5
    assert convert(returns_in_tensor_loop)([0, 1]) is None


def test_traceback_points_at_the_users_line():
    def divide(x):
        if x > 0:
            x = x / 0  # raises here
        return x

    with pytest.raises(ZeroDivisionError) as info:
        convert(divide)(1)
    last = info.traceback[-1]
    assert os.path.basename(str(last.path)) == FILE and last.lineno + 1 == line_of(divide, "# raises here")


def test_convert_keeps_name_doc_defaults_closure_and_is_cached():
    offset = el.tensor(10.0)
    counter = 0

    def shifted(x, scale=2, *, bias=1):
        """Doc."""
        nonlocal counter
        counter += 1
        if x > 0:
            x = x * scale + bias
        return x + offset

    converted = convert(shifted)
    assert converted is convert(shifted)
    assert (converted.__name__, converted.__doc__) == ("shifted", "Doc.")
    assert converted(el.tensor(1.0)).item() == 13.0 and counter == 1  # defaults, closure read and write
    offset = el.tensor(0.0)  # noqa: F841 - the converted function shares the closure cell
    assert converted(el.tensor(1.0), 3, bias=0).item() == 3.0 and counter == 2


def test_to_code_shows_the_rewrite():
    def loop(n):
        while n > 1:
            if n % 2 == 0:
                n = n // 2
        return n

    code = to_code(loop)
    assert code.startswith("def loop(n):") and "ag__.while_stmt(" in code and "ag__.if_stmt(" in code
    assert "while" in code


def test_do_not_convert(monkeypatch):
    @do_not_convert
    def raw(x):
        return 1 if x > 0 else 0

    def outer(x):
        return raw(x)

    seen = []
    monkeypatch.setattr(el.graph.control_flow, "cond", lambda *a: seen.append(a))
    assert convert(raw) is raw and convert(outer)(el.tensor(2.0)) == 1 and seen == []


def test_source_unavailable_is_called_as_is():
    namespace = {}
    exec("def made(x):\n    return x + 1\n", namespace)

    def outer(x):
        return namespace["made"](x)

    assert convert(outer)(1) == 2
    with pytest.raises(UnsupportedError, match="source code is not available"):
        convert(namespace["made"])


def test_import_eagerlab_does_not_load_autograph():
    code = "import sys, eagerlab; print('ast' in sys.modules, 'eagerlab.graph.autograph' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[1] == "False"
    assert el.autograph.convert is convert


def recursive_flatten(xs):
    return [y for x in xs for y in (recursive_flatten(x) if isinstance(x, list) else [x])]


def test_a_recursive_function_keeps_calling_itself_through_its_global_name():
    from eagerlab.autograph import convert

    assert convert(recursive_flatten)([1, [2, [3]], 4]) == [1, 2, 3, 4]
