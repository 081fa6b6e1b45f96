"""The runtime half of AutoGraph: what converted code calls (as `ag__.<name>`). Each operator chooses at run time:
a Python condition or iterable runs exactly as the original statement would; a tensor one goes through
eagerlab.cond / eagerlab.while_loop, looked up on the control_flow module at each call so the tracer's versions
apply."""
import operator
import os
import re
import sys

from ..._tensor import Tensor
from ...errors import DTypeError, ShapeError
from ...ops.arith_logical import logical_and, logical_not, logical_or
from ...ops.creation import tensor
from .. import control_flow
from ..trace import active_tracer
from .call import TensorRange, converted_call
from .placeholders import fill_returns, pending
from .variables import Undefined, UndefinedReturnValue, ldu, return_value

__all__ = ["if_stmt", "while_stmt", "for_stmt", "if_exp", "and_", "or_", "not_", "compare", "converted_call",
           "ldu", "return_value", "Undefined", "UndefinedReturnValue"]


def _where(depth=2):
    """'file.py:LINE' of the statement being run: the converted code keeps the user's file name and line numbers,
    and the frame `depth` up is the converted function calling the operator."""
    frame = sys._getframe(depth)
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


def _as_tensor(value):
    # as in tf.cond / tf.while_loop, Python numbers a tensor-dependent statement carries become tensors, so both
    # branches (and every iteration) produce the same kind of value
    return tensor(value) if isinstance(value, (bool, int, float)) else value


def _traced(value):
    """Whether `value` is a tensor whose value is only known when the graph runs."""
    return isinstance(value, Tensor) and active_tracer() is not None


# ---- if -------------------------------------------------------------------------------------------------------
def if_stmt(cond, body, orelse, get_state, set_state, names, one_branch):
    """Run `body` or `orelse`; with a tensor `cond`, through eagerlab.cond carrying the variables `names`."""
    if not isinstance(cond, Tensor):
        body() if cond else orelse()
        return
    where = _where()
    init = get_state()
    for name in one_branch:
        value = init[names.index(name)]
        if isinstance(value, Undefined) and not value.fillable:
            raise value.branch_error(where)
    _cond_stmt(cond, body, orelse, get_state, set_state, where, Undefined.branch_error)


def _cond_stmt(cond, body, orelse, get_state, set_state, where, undefined_error):
    """eagerlab.cond over `body` / `orelse`, carrying the variables get_state / set_state read and write."""
    init = get_state()

    def branch(block):
        def run():
            set_state(init)  # each branch starts from the same values, whichever ran (or was traced) first
            block()
            out = get_state()
            undefined = [v for v in out if isinstance(v, Undefined) and not v.fillable]
            if undefined:
                raise undefined_error(undefined[0], where)
            return tuple(_as_tensor(v) for v in out)
        return run

    init = fill_returns(init, [branch(body), branch(orelse)], where)
    set_state(control_flow.cond(cond, branch(body), branch(orelse)))


def if_exp(cond, body, orelse):
    """`body() if cond else orelse()`, through eagerlab.cond for a tensor `cond`."""
    if isinstance(cond, Tensor):
        return control_flow.cond(cond, body, orelse)
    return body() if cond else orelse()


# ---- loops ----------------------------------------------------------------------------------------------------
def _loop_vars(values, where):
    for value in values:
        if isinstance(value, Undefined):
            raise value.loop_error(where)
    return tuple(_as_tensor(v) for v in values)


def _loop_init(get_state, set_state, run_once, where):
    """The loop variables a tensor loop starts from: numbers as tensors, a pending return value as a placeholder
    shaped like what one traced iteration (`run_once`, given the converted values) returns."""
    values = get_state()
    converted = tuple(v if isinstance(v, Undefined) and v.fillable else _as_tensor(v) for v in values)

    def iteration():
        set_state(converted)
        run_once()
        return get_state()

    return _loop_vars(fill_returns(converted, [iteration], where), where)


def _while_loop(cond_fn, body_fn, init, names, where):
    """control_flow.while_loop, its errors about changing loop variables naming the variable and the loop."""
    try:
        return control_flow.while_loop(cond_fn, body_fn, init)
    except (DTypeError, ShapeError, TypeError) as e:
        message = str(e)
        if not message.startswith("while_loop:") or getattr(e, "ag_where", None):
            raise
        # while_loop counts loop variables; the user knows them by name
        message = re.sub(r"loop variable (\d+)", lambda m: f"loop variable '{names[int(m.group(1))]}'", message)
        error = type(e)(f"{message} (the loop at {where})")
        error.ag_where = where
        raise error.with_traceback(e.__traceback__) from None


def while_stmt(test, body, get_state, set_state, names):
    """`while test(): body()`; with a tensor test, through eagerlab.while_loop carrying the variables `names`.
    A Python test that becomes a tensor after some iterations (a `break` or `return` under a tensor `if` sets the
    flag the test includes) hands the rest of the loop to eagerlab.while_loop: a graph cannot unroll a loop whose
    end it does not know."""
    cond = test()
    while not isinstance(cond, Tensor):
        if not cond:
            return
        body()
        cond = test()
    if not _traced(cond) and pending(get_state()):
        # eagerly, a loop that may return needs no placeholder: run it in Python
        while cond:
            body()
            cond = test()
        return
    where = _where()

    def cond_fn(*values):
        set_state(values)
        return test()

    def body_fn(*values):
        set_state(values)
        body()
        return get_state()

    init = _loop_init(get_state, set_state, body, where)
    set_state(_while_loop(cond_fn, body_fn, init, names, where))


def _index_loop(iterated):
    """(first index, stop, step, element of an index) for iterating a tensor or a range with tensor bounds."""
    if isinstance(iterated, TensorRange):
        return _as_tensor(iterated.start), iterated.stop, iterated.step, lambda i: i
    if iterated.dim() == 0:
        raise TypeError("iteration over a 0-d tensor")
    return tensor(0), iterated.shape[0], 1, iterated.__getitem__


def _before(i, stop, step):
    if isinstance(step, Tensor):
        return logical_or(logical_and(step > 0, i < stop), logical_and(step < 0, i > stop))
    return i < stop if step > 0 else i > stop


def for_stmt(iterated, extra_test, body, get_state, set_state, names):
    """`for x in iterated: body(x)` while `extra_test()` (the break/return flags) holds; a tensor or a range of
    tensors loops through eagerlab.while_loop over an index, carrying the variables `names`."""
    if not isinstance(iterated, (Tensor, TensorRange)) or (active_tracer() is None and pending(get_state())):
        # eagerly, a tensor loop that may return needs no placeholder either: iterate in Python
        _python_for(iterated, extra_test, body, get_state, set_state)
        return
    where = _where()
    start, stop, step, element = _index_loop(iterated)

    def cond_fn(i, *values):
        set_state(values)
        in_range = _before(i, stop, step)
        return in_range if extra_test is None else and_(in_range, extra_test)

    def body_fn(i, *values):
        set_state(values)
        body(element(i))
        return (i + step, *get_state())

    init = (start, *_loop_init(get_state, set_state, lambda: body(element(start)), where))
    set_state(_while_loop(cond_fn, body_fn, init, ("<index>", *names), where)[1:])


def _python_for(iterated, extra_test, body, get_state, set_state):
    """A for loop over a Python iterable, unrolled while tracing. Once a `break` or `return` under a tensor `if`
    makes the loop's flags a tensor, whether later iterations run is only known when the graph runs: each one
    runs under eagerlab.cond on the flags. (Converting the loop into a while_loop instead would turn the loop
    variable into a tensor and break Python uses of it, such as indexing a list of layers; TensorFlow refuses
    the loop instead.) The iterable must be finite, as any loop unrolled at trace time."""
    go, where = True, None
    for element in iterated:
        if _traced(go):
            where = where or _where(3)
            _cond_stmt(go, lambda: body(element), lambda: None, get_state, set_state, where, Undefined.loop_error)
        else:
            body(element)
        if extra_test is not None:
            go = extra_test()
            if not _traced(go) and not go:
                break


# ---- logical operators ----------------------------------------------------------------------------------------
def and_(left, right):
    """`left and right()`; logical_and when `left` is a tensor (then `right` is always evaluated)."""
    return logical_and(left, right()) if isinstance(left, Tensor) else left and right()


def or_(left, right):
    """`left or right()`; logical_or when `left` is a tensor (then `right` is always evaluated)."""
    return logical_or(left, right()) if isinstance(left, Tensor) else left or right()


_COMPARISONS = {"Eq": operator.eq, "NotEq": operator.ne, "Lt": operator.lt, "LtE": operator.le, "Gt": operator.gt,
                "GtE": operator.ge, "Is": operator.is_, "IsNot": operator.is_not,
                "In": lambda a, b: a in b, "NotIn": lambda a, b: a not in b}


def compare(left, ops, operands):
    """`left op0 operands[0]() op1 operands[1]() ...` (operands as lambdas, each evaluated once and only when
    Python would): and_ of the pairwise comparisons, so tensors give their logical_and."""
    right = operands[0]()
    result = _COMPARISONS[ops[0]](left, right)
    if len(ops) == 1:
        return result
    return and_(result, lambda: compare(right, ops[1:], operands[1:]))


def not_(value):
    return logical_not(value) if isinstance(value, Tensor) else not value
