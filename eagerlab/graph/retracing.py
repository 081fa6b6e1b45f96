"""The retrace history of one @eagerlab.function: per trace, the call's arguments and what differed from the trace
before; one warning once a function has been traced more than RETRACE_WARNING_AFTER times; the retrace report."""
import inspect
import warnings

from .._tensor import Tensor
from .trace import user_frame

RETRACE_WARNING_AFTER = 5  # traces of one function before the one warning about retracing


class RetraceHistory:
    def __init__(self, name):
        self.name = name
        self.traces = []  # per trace: (argument descriptions, what changed)
        self.warned = False

    def __len__(self):
        return len(self.traces)

    def note(self, fn, leaves):
        """A trace of `fn` for these argument leaves succeeded."""
        desc = describe(fn, leaves)
        change = what_changed(self.traces[-1][0], desc) if self.traces else ""
        if not change and self.traces:
            change = "a module's training flag, a captured tensor's requires_grad or grad mode"
        self.traces.append((desc, change))
        if len(self.traces) > RETRACE_WARNING_AFTER and not self.warned:
            self.warned = True
            where = user_frame() or ("<unknown>", 0)  # the call that retraced, in the user's code
            warnings.warn_explicit(
                f"eagerlab.function {self.name!r} has been traced {len(self.traces)} times; the last retrace "
                f"came from {change}. Retracing is slow: pass tensors of a fixed shape, give "
                "input_signature=[eagerlab.TensorSpec([None, ...])] / reduce_retracing=True, and pass Python "
                f"numbers that change as tensors. See {self.name}.retrace_report().", UserWarning, *where)

    def explain_last(self, why):
        """Add `why` to what the report says of the last trace."""
        desc, change = self.traces[-1]
        self.traces[-1] = (desc, f"{change}; {why}".lstrip("; "))

    def report(self):
        lines = [f"{self.name}: {len(self.traces)} trace(s)"]
        for i, (desc, change) in enumerate(self.traces):
            lines.append(f"  #{i + 1}: {', '.join(desc)}" + (f"  <- {change}" if change else ""))
        return "\n".join(lines)


def describe(fn, leaves):
    """One entry per argument leaf: its name (from fn's signature) and its tensor metadata or Python value."""
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        names = []
    out = []
    for i, x in enumerate(leaves):
        label = names[i] if i < len(names) else f"arg{i}"
        if isinstance(x, Tensor):
            out.append(f"{label}=Tensor{tuple(x.shape)} {x.dtype.name} {x.device}"
                       + (" requires_grad" if x.requires_grad else ""))
        else:
            out.append(f"{label}={x!r}" if isinstance(x, (bool, int, float, str)) else f"{label}={type(x).__name__}")
    return out


def what_changed(before, after):
    diffs = [f"{y} (was {x.split('=', 1)[-1]})" for x, y in zip(before, after) if x != y]
    if len(before) != len(after):
        diffs.append(f"{len(after)} arguments (was {len(before)})")
    return "; ".join(diffs)
