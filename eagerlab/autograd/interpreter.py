"""The interpreter protocol: what running an op means on this thread.

Every primitive goes through `bind`, and every in-place write through `apply_inplace`; both hand the op to the
thread's current interpreter. `Interpreter` declares the whole protocol with eager execution as its defaults; the
graph tracer (eagerlab.graph.trace.Tracer) overrides it to record instead of compute. Code outside the op registry
that touches raw data or Python-side state (tensor creation, .grad slots, optimizer and scheduler steps, module
calls) calls the protocol rather than asking which interpreter runs, so a new interpreter (autocast, collectives)
is one subclass, and no module but this one and graph/ tests which interpreter is current.

The current interpreter is per thread (`installed(interp)` sets it for the calling thread only): tracing in one
thread never records another thread's ops.
"""
import functools

from numpy import asarray as _np_asarray, generic as _np_scalar, ndarray as _np_ndarray

from .._tensor import Tensor
from ..backend.dtypes import is_floating_np
from ..errors import AutogradError, DTypeError, ShapeError, UnsupportedError, fmt_shape
from .operands import explain_failure, scan_operands
from .recording import record, wrap_outputs
from .thread_state import ThreadState, thread_state


class Interpreter:
    """The protocol, with eager execution: arrays are computed now, Python-side effects happen now."""

    def bind(self, prim, args, attrs):
        """Apply a primitive to Tensors (and plain Python values, taken as constants): the eager path of `bind`
        (the module function), which runs inline there for speed and is reached here with this thread's
        interpreter set to EAGER for the call (a subclass calling super().bind runs the op eagerly)."""
        prev = thread_state.interpreter
        thread_state.interpreter = EAGER
        try:
            return bind(prim, *args, **attrs)
        finally:
            thread_state.interpreter = prev

    def bind_into(self, prim, target, args, attrs):
        """`target <- prim(target, *args)` with nothing to record for autograd. Eagerly, a primitive with an
        in-place kernel (`impl_inplace`) writes into target's memory directly, skipping the functional result."""
        if prim.impl_inplace is None:
            return self._bind_functional_into(prim, target, args, attrs)
        operands = (target, *args)
        dev, _, arrays = scan_operands(prim, operands, attrs)
        try:
            prim.impl_inplace(dev._xp or dev.xp, *arrays, **attrs)
        except Exception as exc:
            raise explain_failure(prim, operands, attrs, exc) from exc

    def _bind_functional_into(self, prim, target, args, attrs):
        prev = thread_state.grad_enabled
        thread_state.grad_enabled = False
        try:
            result = self.bind(prim, (target, *args), attrs)
        finally:
            thread_state.grad_enabled = prev
        self.write_into(target, checked_result(prim, target, result._data))

    def write_into(self, target, data):
        """`target[...] = data`: the result of an in-place op lands in the target's memory."""
        target._data[...] = data

    def view_base(self, tensor):
        """The tensor whose memory `tensor` views (None when it is no view): in-place ops that autograd must track
        are refused on views."""
        return tensor._base

    def saved_copy(self, data):
        """What backward keeps of a tensor about to be overwritten in place: a copy of its array."""
        return data.copy()

    def constant(self, array, device):
        """A tensor created from data (tensor(), zeros(), a backward seed)."""
        return Tensor._make(array, device)

    def static_value(self, tensor):
        """The Python value of a one-element tensor if this interpreter knows it now, else None (a tracer knows
        no values: code that only uses the value to pick a faster path takes the general one)."""
        return tensor.item()

    def grad_slot(self, leaf, read):
        """First touch of `leaf.grad` by backward (read=True: it accumulates) or zero_grad: nothing to do now."""

    def accumulate_grad(self, grad, g):
        """`grad += g` for a leaf's .grad (no graph to record): in place, into its array. Returns the new .grad."""
        grad._data += g._data.astype(grad._data.dtype, copy=False)
        grad._bump()
        return grad

    def note_module(self, module):
        """A module is being called (a tracer makes its training flag part of what the trace depends on)."""

    def optimizer_step(self, optimizer, step_now, args, kwargs):
        """optimizer.step(*args, **kwargs): `step_now` runs it (with its hooks)."""
        return step_now(*args, **kwargs)

    def deferred_call(self, name, fn, args, kwargs):
        """A Python call with effects outside the tensors (a scheduler step, a collective): now. It may read its
        tensor arguments and change them in place (an all-reduce); a tracer then makes the tensors stand for the
        changed values."""
        return fn(*args, **kwargs)

    # ---- autocast (eagerlab.amp installs an interpreter over the current one; these let the others see it) ------
    def call_op(self, name, fn, args, kwargs):
        """A public op named in the autocast policy (eagerlab/ops/autocast_policy.py) is called: run it."""
        return fn(*args, **kwargs)

    def unwrapped(self):
        """The interpreter under any autocast: backward passes run there (their ops are never autocast)."""
        return self

    def autocast_settings(self):
        """{device_type: dtype} of the autocast in force on this thread; empty without one."""
        return _NO_AUTOCAST

    def rewrap(self, interp):
        """`interp` (a tracer about to be installed) under the autocast in force, so a trace started inside an
        autocast region records its casts: itself when there is none."""
        return interp


_NO_AUTOCAST = {}


EAGER = Interpreter()
ThreadState.interpreter = EAGER  # every thread starts eager


def current():
    """The interpreter ops are handed to on this thread."""
    return thread_state.interpreter


class installed:
    """`with installed(interp):` makes `interp` the current interpreter of this thread for the block."""

    __slots__ = ("interp", "prev")

    def __init__(self, interp):
        self.interp = interp

    def __enter__(self):
        self.prev = thread_state.interpreter
        thread_state.interpreter = self.interp
        return self.interp

    def __exit__(self, *exc):
        thread_state.interpreter = self.prev
        return False


def policy_point(name, fn):
    """`fn` (the public op `name`, named in the autocast policy) asking the current interpreter at its entry
    (`call_op`); eagerly with no autocast in force it is one identity test more than calling fn."""

    @functools.wraps(fn)
    def entry(*args, **kwargs):
        interp = thread_state.interpreter
        if interp is EAGER:
            return fn(*args, **kwargs)
        return interp.call_op(name, fn, args, kwargs)

    return entry


def zeros(shape, dtype, device):
    """A zero tensor made through the current interpreter (a graph constant while tracing): autograd's own
    zeros (materialized gradients, gradcheck seeds) without importing the ops layer."""
    return thread_state.interpreter.constant(device.xp.zeros(shape, dtype.np), device)


def bind(prim, *args, **attrs):
    """Apply a primitive through the current interpreter (the one entry point of every op). The eager
    interpreter's work is written here, inline: it is the hot path of every eager op."""
    interp = thread_state.interpreter
    if interp is not EAGER:
        return interp.bind(prim, args, attrs)
    dev, grad, arrays = scan_operands(prim, args, attrs)
    try:
        out = prim.impl(dev._xp or dev.xp, *arrays, **attrs)
    except Exception as exc:  # a backend error becomes a typed one that names the op and operands
        raise explain_failure(prim, args, attrs, exc) from exc
    if type(out) is not _np_ndarray and prim.n_out == 1 and isinstance(out, _np_scalar):
        out = _np_asarray(out)  # numpy reductions return scalars; a tensor always holds an array (0-d here)
    if grad and thread_state.grad_enabled and prim.vjp is not None:
        return record(prim, args, attrs, out, dev)  # (what wrap_outputs would call, one call sooner)
    return wrap_outputs(prim, args, attrs, out, dev, False)


def apply_inplace(prim, target, *args, **attrs):
    """Run `prim(target, *args)` and write the result into target's memory (`x.add_(y)`, `x[i] = v`).

    With autograd on, target takes the op's node as its new grad_fn, as in PyTorch. The old value is
    snapshotted only when the op's backward needs it.
    """
    interp = thread_state.interpreter
    tensors = [a for a in args if isinstance(a, Tensor)]
    if thread_state.grad_enabled and (target.requires_grad or any(a.requires_grad for a in tensors)):
        if target._node is None and target.requires_grad:
            raise AutogradError(
                f"{prim.name}_: a leaf Variable that requires grad (shape {fmt_shape(target.shape)}) is being used "
                "in an in-place operation. Wrap it in `with eagerlab.no_grad():` or use the out-of-place op."
            )
        base = interp.view_base(target)
        if base is not None and (base.requires_grad or target.requires_grad or tensors):
            raise UnsupportedError(
                f"{prim.name}_: in-place ops that autograd must track are not supported yet on views (this tensor "
                f"of shape {fmt_shape(target.shape)} is a view of one of shape {fmt_shape(base.shape)}); "
                "apply the op to the base tensor, or use the out-of-place op."
            )
        source = target
        if _saves_target(prim, target, args):
            source = Tensor._make(interp.saved_copy(target._data), target._device, target.requires_grad)
            source._node, source._out = target._node, target._out
        result = interp.bind(prim, (source, *args), attrs)
        interp.write_into(target, checked_result(prim, target, result._data))
        target._node, target._out, target.requires_grad = result._node, result._out, result.requires_grad
    else:
        interp.bind_into(prim, target, args, attrs)
    target._bump()
    return target


def _saves_target(prim, target, args):
    """Does the op's backward keep its first input (the in-place target's old value), given what needs grad?"""
    if 0 not in prim.save_inputs:
        return False
    readers = prim.save_when.get(prim.save_inputs.index(0)) if prim.save_when is not None else None
    if readers is None:
        return True
    operands = (target, *args)
    return any(i < len(operands) and isinstance(operands[i], Tensor) and operands[i].requires_grad for i in readers)


def checked_result(prim, target, data):
    """`data` if it may be written into `target` (same shape; no float -> int or int -> bool cast)."""
    if data.shape != target._data.shape:
        raise ShapeError(
            f"{prim.name}_: output with shape {fmt_shape(target.shape)} doesn't match the broadcast shape "
            f"{fmt_shape(data.shape)}"
        )
    if data.dtype != target._data.dtype:
        if is_floating_np(data.dtype) and target._data.dtype.kind in "iub" or (data.dtype.kind in "iu" and
                                                                          target._data.dtype.kind == "b"):
            raise DTypeError(f"{prim.name}_: result type {data.dtype} can't be cast to the desired output type "
                             f"{target._data.dtype}")
    return data
