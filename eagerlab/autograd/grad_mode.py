"""Grad modes: no_grad, enable_grad, set_grad_enabled, inference_mode (context managers and decorators).

The flag is per thread (`thread_state.grad_enabled`, as in PyTorch): a `no_grad()` block in one thread leaves
every other thread's mode alone.
"""
import functools

from .thread_state import thread_state


def is_grad_enabled():
    return thread_state.grad_enabled


class _GradModeContext:
    """Base of the grad-mode managers: set the flag on enter, restore on exit; usable as a decorator."""

    _value = None

    def __enter__(self):
        self._prev = thread_state.grad_enabled
        thread_state.grad_enabled = self._value
        return self

    def __exit__(self, *exc):
        thread_state.grad_enabled = self._prev
        return False

    def __call__(self, fn):
        value = self._value

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = thread_state.grad_enabled
            if value is not None:
                thread_state.grad_enabled = value
            try:
                return fn(*args, **kwargs)
            finally:
                thread_state.grad_enabled = prev

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
        self._prev = thread_state.grad_enabled
        thread_state.grad_enabled = self._value

    def __enter__(self):
        return self

    def __call__(self, fn):
        thread_state.grad_enabled = self._prev  # used as a decorator: the mode applies inside fn only
        return super().__call__(fn)


class inference_mode(_GradModeContext):
    """Like no_grad (eagerlab has no extra per-tensor bookkeeping to skip); `inference_mode(False)` is a no-op."""

    def __init__(self, mode=True):
        self._value = not mode if mode else None

    def __enter__(self):
        self._prev = thread_state.grad_enabled
        if self._value is not None:
            thread_state.grad_enabled = self._value
        return self
