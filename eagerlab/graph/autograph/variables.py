"""Undefined: the value the runtime sees for a variable that has none yet, and the errors it explains itself with."""
from ...errors import ControlFlowVariableError, UnsupportedError


class Undefined:
    """Stands for an unbound variable while a tensor-dependent statement saves and restores its state; it never
    reaches user code: the runtime raises one of the errors below first."""

    __slots__ = ("name",)

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
    """The return value of a function whose `return` sits inside control flow, before a return has run."""

    __slots__ = ()

    def __init__(self):
        super().__init__("return value")

    def branch_error(self, where):
        return ControlFlowVariableError(
            f"the if at {where} returns a value in only one branch: with a tensor condition both branches are part "
            "of the graph, so both must return (add an else that returns)")

    def loop_error(self, where):
        return UnsupportedError(
            f"return inside the loop at {where}, whose condition is a tensor: the graph needs the returned value's "
            "shape and dtype before the loop starts; assign the result to a variable defined before the loop and "
            "break instead")


def ldu(load, name):
    """The variable's value, or Undefined(name) when it is unbound (`load` is a lambda reading it)."""
    try:
        return load()
    except NameError:  # UnboundLocalError, or a free variable not yet assigned in the enclosing function
        return Undefined(name)


def return_value(value):
    """What the converted function returns: None when no return statement ran, as in Python."""
    return None if isinstance(value, UndefinedReturnValue) else value
