"""The tracer: the interpreter `bind` hands every op to while @eagerlab.function traces a function.

Each op becomes an Operation whose output Values (shape, dtype, device from the primitive's `infer`; no data) are
wrapped in ordinary Tensors, with tape Nodes when gradients are needed, so `loss.backward()` inside the traced
function records the backward ops too. Tensors reached from outside (parameters, buffers, optimizer state,
tensors a closure holds) become captures read by reference at every run. Mutation is recorded, never performed:
in-place writes into captured tensors become `assign` effects, `.grad` writes become `store_grad` effects,
optimizer steps and scheduler steps become calls back into their eager code at their place in the program. When
tracing ends, every touched tensor gets back the state it had before.
"""
import os
import sys

from .._tensor import Tensor
from ..autograd.interpreter import Interpreter, current, installed
from ..autograd.node import Node as TapeNode
from ..autograd.operands import Aval, scan_operands
from ..autograd.recording import wrap_outputs
from ..backend import from_numpy_dtype
from ..errors import DeviceError, ShapeError, TracingError, fmt_shape
from . import effects
from .ir import Block, Graph, Operation, Value
from .views import Views

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def user_frame():
    """(file, line) of the innermost caller outside the eagerlab package: where the user wrote the op."""
    f = sys._getframe(2)
    while f is not None and f.f_code.co_filename.startswith(_PKG):
        f = f.f_back
    return (f.f_code.co_filename, f.f_lineno) if f is not None else None


class _Frame:
    """One block being recorded, and the in-place changes made while recording it (undone when it closes)."""

    __slots__ = ("block", "undo", "defined")

    def __init__(self, block, defined=()):
        self.block, self.undo, self.defined = block, [], set(defined)


def active_tracer():
    """The Tracer recording on this thread, or None."""
    interp = current().unwrapped()  # (under an autocast region, the tracer it wraps)
    return interp if isinstance(interp, Tracer) else None


class Tracer(Interpreter):
    """The interpreter that records one function into a Graph (installed on this thread while it is a context
    manager): the protocol's methods record instead of computing."""

    def __init__(self, name="graph"):
        self.graph = Graph(name)
        self.frames = [_Frame(self.graph.body)]
        self.captures = {}  # id(tensor) -> capture Value
        self.saved_state = {}  # id(tensor) -> (tensor, _data, _node, _out, requires_grad, version)
        self.grad_slots = {}  # id(leaf) -> [leaf, grad before tracing, Value last stored (or "none")]
        self.modules = {}  # id(module) -> (module, training): the trace is only valid for these flags
        self.effect_kinds = set()  # names of the effects recorded (assign, store_grad, call, ...)
        self.arguments = {}  # id(abstract argument tensor) -> (it, its position among the graph's inputs)
        self.views = Views()

    # ---- installing -----------------------------------------------------------------------------------------
    def __enter__(self):
        if active_tracer() is not None:
            raise TracingError("eagerlab.function: cannot start a trace while another one runs (get_concrete_function "
                               "or export called inside a compiled function?); call it outside")
        self._installed = installed(current().rewrap(self))  # a trace inside autocast records its casts
        self._installed.__enter__()
        return self

    def __exit__(self, *exc):
        self._installed.__exit__(*exc)
        self._restore()
        return False

    def _restore(self):
        for t, data, node, out, requires_grad, version in self.saved_state.values():
            t._data, t._node, t._out, t.requires_grad = data, node, out, requires_grad
            if t._vc is not None:
                t._vc[0] = version
        for leaf, before, _ in self.grad_slots.values():
            leaf.grad = before

    # ---- values ---------------------------------------------------------------------------------------------
    def emit(self, node):
        frame = self.frames[-1]
        frame.block.nodes.append(node)
        frame.defined.update(id(v) for v in node.outputs)
        return node

    def new_values(self, node, avals):
        node.outputs = tuple(self.graph.new_value(a.shape, a.dtype.np, a.device, node, i) for i, a in
                             enumerate(avals))
        return node.outputs

    def value_of(self, t):
        """The graph Value a tensor stands for: its own while traced, else a capture of the outside tensor."""
        d = t._data
        if type(d) is Value:
            return d
        v = self.captures.get(id(t))
        if v is None:
            node = Operation("capture", t, where=user_frame())
            (v,) = self.new_values(node, [Aval(d.shape, from_numpy_dtype(d.dtype), t._device)])
            self.graph.captures.append(node)
            self.captures[id(t)] = v
            self._save_state(t)
        return v

    def _save_state(self, t):
        if id(t) not in self.saved_state:
            self.saved_state[id(t)] = (t, t._data, t._node, t._out, t.requires_grad, t._version)

    def emit_input(self, tensor, shape=None):
        """A placeholder for a tensor argument of the traced function (of `shape` when given: probe traces)."""
        node = Operation("input", None, where=None)
        (v,) = self.new_values(node, [Aval(shape or tensor._data.shape, tensor.dtype, tensor._device)])
        self.graph.inputs.append(v)
        self.frames[0].defined.add(id(v))
        return node

    def argument(self, tensor):
        """`tensor` stands for the last input emitted: in-place writes into it reach the caller's tensor."""
        self.arguments[id(tensor)] = (tensor, len(self.graph.inputs) - 1)

    def constant(self, array, device):
        """A tensor created inside the traced function (tensor(), zeros(), arange(), ...): a graph constant."""
        node = Operation("const", array, where=user_frame())
        (v,) = self.new_values(node, [Aval(array.shape, from_numpy_dtype(array.dtype), device)])
        self.emit(node)
        return Tensor._make(v, device)

    # ---- ops --------------------------------------------------------------------------------------------------
    def bind(self, prim, args, attrs):
        dev, grad, _ = scan_operands(prim, args, attrs)
        inputs = [self.value_of(a) if isinstance(a, Tensor) else a for a in args]  # (captures outside tensors)
        avals = [Aval(v.shape, from_numpy_dtype(v.dtype), dev) if type(v) is Value else v for v in inputs]
        if prim.dynamic_shape:
            raise TracingError(f"{prim.name}: its output shape depends on the data, which a graph cannot know "
                               "ahead of time; not supported inside eagerlab.function yet (run it eagerly)")
        try:
            out = prim.infer(*avals, **attrs)
        except (ShapeError, DeviceError, TypeError, ValueError, IndexError) as e:
            if not str(e).startswith(prim.name):
                e.args = (f"{prim.name}: {e}",) + e.args[1:]
            raise
        node = Operation("prim", prim, inputs, attrs, where=user_frame())
        outs = self.new_values(node, out if isinstance(out, (tuple, list)) else (out,))
        self.emit(node)
        result = wrap_outputs(prim, args, attrs, outs[0] if prim.n_out == 1 else outs, dev, grad)
        if prim.view and isinstance(args[0], Tensor):
            self.views.note(prim, args, attrs, result)
        return result

    def write_into(self, target, value, skip=None):
        """`target[...] = value` from an in-place op: the tensor now stands for `value` (cast to its dtype). As
        eagerly, the write lands in the memory target shares: a view's write is scattered into the tensor it views,
        and the views taken of a tensor written read it anew (Views). A captured tensor or an argument also gets an
        `assign` effect so the write happens, to the outside tensor, when the graph runs."""
        d = target._data
        if value.dtype != d.dtype:
            value = Tensor._make(value, target._device).to(from_numpy_dtype(d.dtype))._data
        frame = self.frames[-1]
        base = self.views.base_of(target)
        if base is not None:  # the base takes the write; target keeps the value itself (not a re-read of it)
            self.write_into(base[0], self.views.scatter(base[0], base[1], target, value)._data, skip=target)
            frame.undo.append((target, d, True, _where()))
            target._data = value
            return
        captured = type(d) is not Value or id(target) in self.captures
        argument = self.arguments.get(id(target))
        if captured:  # (a second write targets the captured tensor too, not the value the first one wrote)
            cap = self.captures.get(id(target))
            cap = self.value_of(target) if cap is None else cap
            self.effect(effects.Assign(target), (cap, value))
            self._save_state(target)
        elif argument is not None:
            self.effect(effects.WriteArgument(argument[1]), (self.graph.inputs[argument[1]], value))
        # an argument written at the top level is handled (the effect); inside a branch or loop body, as a local
        # tensor, the change must leave through the block's results (_check_carried)
        handled = captured or argument is not None and frame is self.frames[0] or id(d) in frame.defined
        frame.undo.append((target, d, handled, _where()))
        target._data = value
        for view, fresh in self.views.reread(target, skip):
            frame.undo.append((view, view._data, True, _where()))
            view._data = fresh

    def effect(self, op, inputs=(), out_avals=()):
        node = Operation("effect", op, inputs, where=user_frame())
        self.new_values(node, out_avals)
        self.emit(node)
        self.effect_kinds.add(op.name)
        return node.outputs

    # ---- gradients, optimizers, modules ----------------------------------------------------------------------
    def grad_slot(self, leaf, read):
        """First touch of `leaf.grad` in this trace. read=True (backward accumulates into it): a gradient that
        is there when the graph runs is read then (zeros if None), as eager accumulation would."""
        if id(leaf) in self.grad_slots:
            return
        self.grad_slots[id(leaf)] = [leaf, leaf.grad, None]
        if read:
            (v,) = self.effect(effects.ReadGrad(leaf), (), [Aval(leaf._data.shape, leaf.dtype, leaf._device)])
            leaf.grad = Tensor._make(v, leaf._device)
        else:
            leaf.grad = None

    def store_grads(self, leaves):
        """Record `.grad` stores for touched slots whose value changed since their last store."""
        for leaf in leaves:
            slot = self.grad_slots.get(id(leaf))
            if slot is None:
                continue
            g = leaf.grad
            current = "none" if g is None else self.value_of(g)
            if slot[2] is not current:
                self.effect(effects.StoreGrad(leaf), () if g is None else (current,))
                slot[2] = current

    def optimizer_step(self, optimizer, step_now, args, kwargs):
        """An effect: at this point of every run, the optimizer's update (or, lacking one, its eager step)."""
        if args or kwargs:
            raise TracingError(f"{type(optimizer).__name__}.step(closure) inside eagerlab.function: not supported "
                               "yet; call the model and backward() in the function, then step() without a closure")
        self.store_grads(p for group in optimizer.param_groups for p in group["params"])
        self.effect(effects.Call(f"{type(optimizer).__name__}.step", optimizer._compiled_step(step_now)))

    def deferred_call(self, name, fn, args, kwargs):
        """A Python call (a scheduler step, a collective) that must run at this point of every run of the graph.
        Its tensor arguments become the effect's operands, and each then stands for the effect's output of it
        (the array the call may have changed in place: an all-reduce)."""
        keys = [k for k, v in kwargs.items() if isinstance(v, Tensor)]
        if keys:
            raise TracingError(f"{name}(...) with a tensor keyword argument ({keys[0]}=) inside eagerlab.function: "
                               "not supported yet; pass tensors positionally")
        tensors = [a for a in args if isinstance(a, Tensor)]
        if not tensors:
            self.effect(effects.Call(name, lambda: fn(*args, **kwargs)))
            return
        values = [self.value_of(t) for t in tensors]
        avals = [Aval(v.shape, from_numpy_dtype(v.dtype), t._device) for v, t in zip(values, tensors)]
        outs = self.effect(effects.CallOnTensors(name, fn, args, kwargs), values, avals)
        for t, v in zip(tensors, outs):
            self.write_into(t, v)

    def static_value(self, tensor):
        return None  # a traced tensor has no value yet

    def saved_copy(self, data):
        return data  # a traced value is never overwritten: no copy needed

    def view_base(self, tensor):
        base = self.views.base_of(tensor)
        return base[0] if base is not None else tensor._base

    def accumulate_grad(self, grad, g):
        return grad + g  # a new value, stored into .grad when the graph runs

    def bind_into(self, prim, target, args, attrs):
        self._bind_functional_into(prim, target, args, attrs)

    def note_module(self, module):
        self.modules.setdefault(id(module), (module, module.training))

    # ---- control flow -----------------------------------------------------------------------------------------
    def trace_block(self, fn, params=()):
        """Run fn() recording into a new Block; returns (block, fn's result). In-place changes made inside are
        undone when the block closes (the branch may not run)."""
        frame = _Frame(Block(), (id(p) for p in params))
        self.frames.append(frame)
        try:
            result = _snapshot(fn())  # before the undo below rewinds tensors changed in place
            _check_carried(frame, result)
        finally:
            self.frames.pop()
            for target, data, _, _ in reversed(frame.undo):
                target._data = data
        return frame.block, result

    def finish(self, result):
        """Close the trace: final .grad stores, and the output template."""
        self.store_grads(slot[0] for slot in list(self.grad_slots.values()))
        self.graph.output_template = self.template(result)
        return self.graph

    def template(self, obj):
        if isinstance(obj, Tensor):
            return self.value_of(obj)
        if isinstance(obj, (tuple, list)):
            items = [self.template(o) for o in obj]
            return type(obj)(*items) if hasattr(obj, "_fields") else type(obj)(items)
        if isinstance(obj, dict):
            return {k: self.template(v) for k, v in obj.items()}
        if obj is None or isinstance(obj, (bool, int, float, complex, str)):
            return obj
        raise TracingError(f"eagerlab.function: cannot return a {type(obj).__name__} from a compiled function "
                           "(return tensors, Python numbers/strings/None, or tuples/lists/dicts of them)")


def _check_carried(frame, result):
    """An in-place change, inside a branch or loop body, of a tensor from outside it must leave through the
    block's results (AutoGraph carries `x += 1`, a rebinding of x; not `x.add_(1)`), or it would be lost."""
    from .pytree import flatten

    out = {id(x._data) for x in flatten(result)[0] if isinstance(x, Tensor)}
    for target, before, local, where in frame.undo:
        if not local and id(target._data) not in out:
            raise TracingError(
                f"in-place change of a tensor of shape {fmt_shape(before.shape)} defined outside a tensor-dependent "
                f"if/while (at {where}) that the branch does not hand back: assign the result instead (x = x + 1 "
                "rather than x.add_(1)) so AutoGraph can carry it out of the branch")


def _snapshot(result):
    """The result with every tensor replaced by one that keeps the Value it holds now."""
    from .pytree import flatten, unflatten

    leaves, tree = flatten(result)
    out = []
    for x in leaves:
        if isinstance(x, Tensor):
            t = Tensor._make(x._data, x._device, x.requires_grad)
            t._node, t._out = x._node, x._out
            x = t
        out.append(x)
    return unflatten(tree, out)


def _where():
    f = user_frame()
    return f"{f[0]}:{f[1]}" if f else "unknown location"


def no_grad_node(kind, n_out):
    """A tape node for the outputs of a traced cond/while that would need a gradient: backward through it inside
    a compiled function is not supported yet, and says so instead of silently dropping the gradient."""
    node = TapeNode(_NoGradThrough(kind), {}, (), (), n_out)
    return node


class _NoGradThrough:
    __slots__ = ("name", "backward_name")

    def __init__(self, kind):
        self.name, self.backward_name = kind, kind.title().replace("_", "") + "Backward0"

    def vjp(self, ctx, *grads):
        raise TracingError(f"backward through a tensor-dependent {self.name} inside eagerlab.function is not "
                           "supported yet; compute the loss without it, or run the function eagerly")

