"""converted_call: how converted code calls anything. User functions (and the forward of user Module subclasses)
are converted when called, so control flow in helpers is converted too; everything else is called as is."""
import sysconfig
import types

from ..._tensor import Tensor
from ..protocols import TracedModule
from . import api
from .parser import NOT_CONVERTED_FLAGS, SourceUnavailable

# converting these would rewrite library code that has no tensor-dependent control flow of the user's
_LIBRARIES = {"eagerlab", "numpy", "cupy", "builtins"}
_STDLIB = sysconfig.get_paths()["stdlib"]


class TensorRange:
    """range() with a tensor bound: `for i in range(n)` loops through eagerlab.while_loop. Iterated directly
    (outside a converted for), it is the Python range of the bounds' values."""

    def __init__(self, *args):
        if not 1 <= len(args) <= 3:
            raise TypeError(f"range expected 1 to 3 arguments, got {len(args)}")
        start, stop, step = (0, args[0], 1) if len(args) == 1 else (*args, 1)[:3]
        if not isinstance(step, Tensor) and step == 0:
            raise ValueError("range() arg 3 must not be zero")
        self.start, self.stop, self.step = start, stop, step

    def __iter__(self):
        return iter(range(int(self.start), int(self.stop), int(self.step)))


def range_(*args):
    return TensorRange(*args) if any(isinstance(a, Tensor) for a in args) else range(*args)


def _user_function(fn):
    """Whether `fn` is a plain Python function of the user's, whose conversion is wanted."""
    module = (getattr(fn, "__module__", None) or "").split(".")[0]
    return (isinstance(fn, types.FunctionType) and module not in _LIBRARIES
            and not fn.__code__.co_filename.startswith(_STDLIB) and not fn.__code__.co_flags & NOT_CONVERTED_FLAGS
            and not getattr(fn, "__ag_do_not_convert__", False))


def _converted(fn):
    """The converted version of a user function, or None to call `fn` as is."""
    if isinstance(fn, types.MethodType):
        target = _converted(fn.__func__)
        return target and types.MethodType(target, fn.__self__)
    if isinstance(fn, TracedModule):
        # nn's own modules are called as is; a user's subclass keeps Module.__call__ (hooks) around its converted
        # forward
        forward = type(fn).forward
        target = _converted(forward) if not type(fn).__module__.startswith("eagerlab.") else None
        return target and (lambda *args, **kwargs: fn._call_forward(types.MethodType(target, fn), args, kwargs))
    if not _user_function(fn):
        return None
    try:
        return api.convert(fn)
    except SourceUnavailable:  # defined in a REPL, by exec, or a lambda sharing its line: run it unconverted
        return None


def converted_call(fn, args, kwargs):
    """`fn(*args, **kwargs)`, with `fn` converted first when it is user code; `range` of tensors as TensorRange."""
    if fn is range:
        return range_(*args)
    return (_converted(fn) or fn)(*args, **(kwargs or {}))
