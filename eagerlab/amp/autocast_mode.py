"""`eagerlab.autocast`: mixed precision as an interpreter.

Inside `with autocast("cpu", dtype=eagerlab.bfloat16):` the thread's interpreter is an `_Autocast` over the one
that was current (eager, or a graph tracer): it casts the floating operands of the ops named in the policy table
(eagerlab/ops/autocast_policy.py) and hands every op on to the interpreter below. The casts are ordinary `cast`
ops, so autograd differentiates them (a float32 parameter gets a float32 gradient) and `@eagerlab.function`
records them as graph nodes (a compiled autocast step computes what the eager one does). Backward passes run on the
interpreter below: their ops are never cast, as in PyTorch. The state is per thread, as PyTorch's.

The weight-cast cache (PyTorch's): within the outermost region, a float32 leaf that requires grad (a parameter) is
cast to the autocast dtype once and the cast tensor reused by every op that reads it (an RNN's weights at each
step, a weight shared by two layers). An entry is checked against the leaf's version counter and data, so an
in-place update inside the region (an optimizer step) makes a fresh cast; the cache is emptied when the region
that made it exits. A trace under a region records into a cache of its own, so a compiled step reuses a cast
where the eager one does.
"""
import functools
import warnings

from .._tensor import Tensor
from ..autograd.interpreter import Interpreter, current, installed
from ..backend import cuda_available
from ..backend.dtypes import as_dtype, bfloat16, float16, float32, float64, promote_types
from ..ops import autocast_policy
from ..autograd.thread_state import thread_state
from ..ops.elementwise import cast

_DEVICE_TYPES = ("cpu", "cuda")
_DEFAULT_DTYPE = {"cpu": bfloat16, "cuda": float16}


def _eligible(x, device_type):
    """Tensors autocast may cast: floating, not float64 (PyTorch leaves double alone), on this device type."""
    return (isinstance(x, Tensor) and x.dtype.is_floating_point and x.dtype is not float64
            and x._device.type == device_type)


def _first_tensor(args, kwargs):
    for a in args:
        if isinstance(a, Tensor):
            return a
        if isinstance(a, (list, tuple)):
            for b in a:
                if isinstance(b, Tensor):
                    return b
    for a in kwargs.values():
        if isinstance(a, Tensor):
            return a
    return None


def _map_tensors(fn, args):
    """args with fn applied to each tensor, one level into lists and tuples (cat and stack take a sequence)."""
    out = []
    for a in args:
        if isinstance(a, Tensor):
            a = fn(a)
        elif isinstance(a, (list, tuple)) and any(isinstance(b, Tensor) for b in a):
            a = type(a)(fn(b) if isinstance(b, Tensor) else b for b in a)
        out.append(a)
    return out


def _each_tensor(args, kwargs):
    for a in (*args, *kwargs.values()):
        if isinstance(a, Tensor):
            yield a
        elif isinstance(a, (list, tuple)):
            yield from (b for b in a if isinstance(b, Tensor))


class _Autocast(Interpreter):
    """The autocast interpreter: `settings` {device_type: dtype} over `inner` (an interpreter without autocast)."""

    def __init__(self, inner, settings, cache=None):
        # cache: {(id(leaf), dtype, grad mode): (leaf, its data, its version, the cast)}, or None (cache disabled)
        self.inner, self.settings, self.cache = inner, settings, cache

    # ---- the policy ---------------------------------------------------------------------------------------------
    def _target(self, rule, device_type, args, kwargs):
        if rule == "lower":
            return self.settings[device_type]
        if rule == "float32":
            return float32
        found = [t.dtype for t in _each_tensor(args, kwargs) if _eligible(t, device_type)]  # "promote"
        return functools.reduce(promote_types, found) if found else None

    def _cast_operands(self, rule, device_type, args, kwargs):
        target = self._target(rule, device_type, args, kwargs)
        if target is None:
            return args, kwargs

        cache = self.cache if target is self.settings.get(device_type) else None

        def to_target(t):
            if not _eligible(t, device_type) or t.dtype is target:
                return t
            if cache is not None and t.requires_grad and t._node is None and t._base is None and t.dtype is float32:
                return self._cached_cast(cache, t, target)
            return cast(t, target)

        with installed(self.inner):  # the casts are recorded by the interpreter below (tape, or graph nodes)
            args = _map_tensors(to_target, args)
            kwargs = dict(zip(kwargs, _map_tensors(to_target, kwargs.values()))) if kwargs else kwargs
        return args, kwargs

    @staticmethod
    def _cached_cast(cache, leaf, target):
        """cast(leaf, target), made once per region while the leaf keeps its data and version."""
        key = (id(leaf), target, thread_state.grad_enabled)  # a cast made under no_grad has no tape node
        version = leaf._vc[0] if leaf._vc is not None else 0
        hit = cache.get(key)
        if hit is not None and hit[0] is leaf and hit[1] is leaf._data and hit[2] == version:
            return hit[3]
        out = cast(leaf, target)
        cache[key] = (leaf, leaf._data, version, out)
        return out

    def call_op(self, name, fn, args, kwargs):
        first = _first_tensor(args, kwargs)
        device_type = first._device.type if first is not None else None
        rule = autocast_policy.rule(device_type, name, args, kwargs) if device_type in self.settings else None
        if rule is None:
            return fn(*args, **kwargs)
        if rule != "as_is":
            args, kwargs = self._cast_operands(rule, device_type, args, kwargs)
        with installed(self.inner):  # the op runs as one kernel would: its own ops are not cast again
            return fn(*args, **kwargs)

    def bind(self, prim, args, attrs):
        if prim.name in autocast_policy.PRIMITIVES:
            first = _first_tensor(args, attrs)
            if first is not None and first._device.type in self.settings:
                args, _ = self._cast_operands("lower", first._device.type, args, {})
        with installed(self.inner):
            return self.inner.bind(prim, args, attrs)

    # ---- everything else is the interpreter's below ---------------------------------------------------------------
    def bind_into(self, prim, target, args, attrs):
        with installed(self.inner):
            return self.inner.bind_into(prim, target, args, attrs)

    def write_into(self, target, data):
        return self.inner.write_into(target, data)

    def saved_copy(self, data):
        return self.inner.saved_copy(data)

    def constant(self, array, device):
        return self.inner.constant(array, device)

    def static_value(self, tensor):
        return self.inner.static_value(tensor)

    def grad_slot(self, leaf, read):
        return self.inner.grad_slot(leaf, read)

    def accumulate_grad(self, grad, g):
        return self.inner.accumulate_grad(grad, g)

    def note_module(self, module):
        return self.inner.note_module(module)

    def optimizer_step(self, optimizer, step_now, args, kwargs):
        with installed(self.inner):  # an optimizer step inside an autocast region updates in the params' dtypes
            return self.inner.optimizer_step(optimizer, step_now, args, kwargs)

    def deferred_call(self, name, fn, args, kwargs):
        with installed(self.inner):
            return self.inner.deferred_call(name, fn, args, kwargs)

    def unwrapped(self):
        return self.inner

    def autocast_settings(self):
        return self.settings

    def rewrap(self, interp):
        return _Autocast(interp, self.settings, None if self.cache is None else {})  # a trace's casts are its own


class autocast:
    """`with eagerlab.autocast("cpu"):` (or as a decorator): run the ops of the policy table in `dtype` (default
    bfloat16 on "cpu", float16 on "cuda") or float32, as PyTorch's autocast does. Regions nest; an inner
    `autocast(..., enabled=False)` turns it off for its block; the state belongs to the calling thread.
    `cache_enabled` (default True): cast each parameter once per outermost region (see the module docstring)."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str) or device_type not in _DEVICE_TYPES:
            raise ValueError(f"autocast: device_type must be 'cpu' or 'cuda' (a device type, not a device such as "
                             f"'cuda:0'), got {device_type!r}")
        self.device_type = device_type
        self.fast_dtype = _DEFAULT_DTYPE[device_type] if dtype is None else as_dtype(dtype)
        self._enabled = bool(enabled)
        if self._enabled and self.fast_dtype not in (float16, bfloat16):
            warnings.warn(f"In {device_type} autocast, but the target dtype {self.fast_dtype.name} is not supported "
                          "(supported: float16, bfloat16). Disabling autocast.", UserWarning, stacklevel=2)
            self._enabled = False
        if self._enabled and device_type == "cuda" and not cuda_available():
            warnings.warn("User provided device_type of 'cuda', but CUDA is not available. Disabling",
                          UserWarning, stacklevel=2)
            self._enabled = False
        self._cache_enabled = True if cache_enabled is None else bool(cache_enabled)
        self._entered = []  # (`installed`, the cache it made or None) per active `with` (it may be re-entered)

    def __enter__(self):
        prev = current()
        settings = dict(prev.autocast_settings())
        if self._enabled:
            settings[self.device_type] = self.fast_dtype
        else:
            settings.pop(self.device_type, None)
        base = prev.unwrapped()
        cache = made = None
        if self._cache_enabled:  # a nested region uses the enclosing one's cache; the outermost makes it
            cache = getattr(prev, "cache", None)
            if cache is None:
                cache = made = {}
        entry = installed(_Autocast(base, settings, cache) if settings else base)
        entry.__enter__()
        self._entered.append((entry, made))
        return self

    def __exit__(self, *exc):
        entry, made = self._entered.pop()
        entry.__exit__(*exc)
        if made is not None:
            made.clear()
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            with autocast(self.device_type, self.fast_dtype, self._enabled, self._cache_enabled):
                return fn(*args, **kwargs)

        return run


def is_autocast_enabled(device_type="cuda"):
    """Whether autocast is on for `device_type` on this thread."""
    return device_type in current().autocast_settings()


def get_autocast_dtype(device_type):
    """The dtype autocast uses on `device_type` on this thread (its default when no region is active)."""
    return current().autocast_settings().get(device_type, _DEFAULT_DTYPE[device_type])
