"""Undefined: the value the runtime sees for a variable that has none yet, and the errors it explains itself with."""
from ...errors import ControlFlowVariableError, UnsupportedError


class Undefined:
    """Stands for an unbound variable while a tensor-dependent statement saves and restores its state; it never
    reaches user code: the runtime raises one of the errors below first."""

    __slots__ = ("name",)
    fillable = False  # see UndefinedReturnValue

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"Undefined({self.name!r})"

    def branch_error(self, where):
        return ControlFlowVariableError(
            f"'{self.name}' must be defined in both branches of the if at {where}: the condition is a tensor, so "
            "both branches are part of the graph and it is used after the if; give it a value before the if or in "
            "both branches")

    def loop_error(self, where):
        return ControlFlowVariableError(
            f"'{self.name}' must be defined before the loop at {where}: the condition is a tensor, so the loop "
            "carries it from one iteration to the next (or out of the loop) and needs its value before the first "
            "iteration; give it a value before the loop")


class UndefinedReturnValue(Undefined):
    """The return value of a function whose `return` sits inside control flow, before a return has run.

    `fillable`: every path through the function ends in a return, so the value is only ever read after a return
    set it, and a tensor-dependent statement may carry a placeholder (zeros of the returned value's kind) in its
    stead, guarded by the do_return flag it carries too (TensorFlow's approach). A function that may also end
    without a return (returning None) cannot: a graph has no value that is None on some runs."""

    __slots__ = ("fillable",)

    def __init__(self, fillable=False):
        super().__init__("return value")
        self.fillable = fillable

    def branch_error(self, where):
        return ControlFlowVariableError(
            f"the if at {where} returns a value in only one branch: with a tensor condition both branches are part "
            "of the graph, so both must return (add an else that returns)")

    def loop_error(self, where):
        return UnsupportedError(
            f"return inside the loop at {where}, whose condition is a tensor, in a function that can also end "
            "without a return (returning None): a graph cannot return a value on some runs and None on others; "
            "end the function with a return statement")


def ldu(load, name):
    """The variable's value, or Undefined(name) when it is unbound (`load` is a lambda reading it)."""
    try:
        return load()
    except NameError:  # UnboundLocalError, or a free variable not yet assigned in the enclosing function
        return Undefined(name)


def return_value(value):
    """What the converted function returns: None when no return statement ran, as in Python."""
    return None if isinstance(value, UndefinedReturnValue) else value
