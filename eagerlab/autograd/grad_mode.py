"""Grad modes: no_grad, enable_grad, set_grad_enabled, inference_mode (context managers and decorators).

The flag lives on one class attribute (`GradMode.enabled`) because op dispatch reads it on every call.
It is process-wide, not per thread: DataLoader workers are processes, and eagerlab runs ops on one thread.
"""
import functools


class GradMode:
    enabled = True
    anomaly = False  # detect_anomaly: record creation sites and check backward outputs for NaN


class Interpreter:
    """Which interpreter ops are handed to. `tracer` None: eager. While @eagerlab.function traces, the graph
    tracer installs itself here; the few places that touch raw arrays outside the op registry (gradient
    accumulation, in-place writes, tensor creation, optimizer steps) ask it to record instead."""

    tracer = None


def is_grad_enabled():
    return GradMode.enabled


class _GradModeContext:
    """Base of the grad-mode managers: set the flag on enter, restore on exit; usable as a decorator."""

    _value = None

    def __enter__(self):
        self._prev = GradMode.enabled
        GradMode.enabled = self._value
        return self

    def __exit__(self, *exc):
        GradMode.enabled = self._prev
        return False

    def __call__(self, fn):
        value = self._value

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = GradMode.enabled
            if value is not None:
                GradMode.enabled = value
            try:
                return fn(*args, **kwargs)
            finally:
                GradMode.enabled = prev

        return wrapper


class no_grad(_GradModeContext):
    """Ops inside record no autograd history."""

    _value = False


class enable_grad(_GradModeContext):
    """Re-enable recording inside a no_grad block."""

    _value = True


class set_grad_enabled(_GradModeContext):
    """`set_grad_enabled(False)` as a context manager, decorator, or plain call (which sets the mode now)."""

    def __init__(self, mode):
        self._value = bool(mode)
        self._prev = GradMode.enabled
        GradMode.enabled = self._value

    def __enter__(self):
        return self

    def __call__(self, fn):
        GradMode.enabled = self._prev  # used as a decorator: the mode applies inside fn only
        return super().__call__(fn)


class inference_mode(_GradModeContext):
    """Like no_grad (eagerlab has no extra per-tensor bookkeeping to skip); `inference_mode(False)` is a no-op."""

    def __init__(self, mode=True):
        self._value = not mode if mode else None

    def __enter__(self):
        self._prev = GradMode.enabled
        if self._value is not None:
            GradMode.enabled = self._value
        return self
