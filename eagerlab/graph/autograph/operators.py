"""The runtime half of AutoGraph: what converted code calls (as `ag__.<name>`). Each operator chooses at run time:
a Python condition or iterable runs exactly as the original statement would; a tensor one goes through
eagerlab.cond / eagerlab.while_loop, looked up on the control_flow module at each call so the tracer's versions
apply."""
import os
import re
import sys

import eagerlab

from ..._tensor import Tensor
from ...errors import DTypeError, ShapeError
from .. import control_flow
from .call import TensorRange, converted_call
from .variables import Undefined, UndefinedReturnValue, ldu, return_value

__all__ = ["if_stmt", "while_stmt", "for_stmt", "if_exp", "and_", "or_", "not_", "converted_call", "ldu",
           "return_value", "Undefined", "UndefinedReturnValue"]


def _where():
    """'file.py:LINE' of the statement being run: the converted code keeps the user's file name and line numbers,
    and the frame two up is the converted function calling the operator."""
    frame = sys._getframe(2)
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


def _as_tensor(value):
    # as in tf.cond / tf.while_loop, Python numbers a tensor-dependent statement carries become tensors, so both
    # branches (and every iteration) produce the same kind of value
    return eagerlab.tensor(value) if isinstance(value, (bool, int, float)) else value


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
        if isinstance(value, Undefined):
            raise value.branch_error(where)

    def branch(block):
        def run():
            set_state(init)  # each branch starts from the same values, whichever ran (or was traced) first
            block()
            out = get_state()
            undefined = [v for v in out if isinstance(v, Undefined)]
            if undefined:
                raise undefined[0].branch_error(where)
            return tuple(_as_tensor(v) for v in out)
        return run

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
    """`while test(): body()`; with a tensor test, through eagerlab.while_loop carrying the variables `names`."""
    cond = test()
    if not isinstance(cond, Tensor):
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

    set_state(_while_loop(cond_fn, body_fn, _loop_vars(get_state(), where), names, where))


def _index_loop(iterated):
    """(first index, stop, step, element of an index) for iterating a tensor or a range with tensor bounds."""
    if isinstance(iterated, TensorRange):
        return _as_tensor(iterated.start), iterated.stop, iterated.step, lambda i: i
    if iterated.dim() == 0:
        raise TypeError("iteration over a 0-d tensor")
    return eagerlab.tensor(0), iterated.shape[0], 1, iterated.__getitem__


def _before(i, stop, step):
    if isinstance(step, Tensor):
        return eagerlab.logical_or(eagerlab.logical_and(step > 0, i < stop), eagerlab.logical_and(step < 0, i > stop))
    return i < stop if step > 0 else i > stop


def for_stmt(iterated, extra_test, body, get_state, set_state, names):
    """`for x in iterated: body(x)` while `extra_test()` (the break/return flags) holds; a tensor or a range of
    tensors loops through eagerlab.while_loop over an index, carrying the variables `names`."""
    if not isinstance(iterated, (Tensor, TensorRange)):
        for element in iterated:
            body(element)
            if extra_test is not None and not extra_test():
                break
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

    init = (start, *_loop_vars(get_state(), where))
    set_state(_while_loop(cond_fn, body_fn, init, ("<index>", *names), where)[1:])


# ---- logical operators ----------------------------------------------------------------------------------------
def and_(left, right):
    """`left and right()`; logical_and when `left` is a tensor (then `right` is always evaluated)."""
    return eagerlab.logical_and(left, right()) if isinstance(left, Tensor) else left and right()


def or_(left, right):
    """`left or right()`; logical_or when `left` is a tensor (then `right` is always evaluated)."""
    return eagerlab.logical_or(left, right()) if isinstance(left, Tensor) else left or right()


def not_(value):
    return eagerlab.logical_not(value) if isinstance(value, Tensor) else not value
