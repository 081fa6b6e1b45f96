"""What one trace of an @eagerlab.function keeps and runs: ConcreteFunction (the graph, its compiled code, the
guards checked before reuse, how to build the result) and the backward half of a differentiable trace."""
import threading

from .._tensor import Tensor
from ..backend import CPU
from . import autodiff
from .codegen import CompiledGraph
from .effects import WriteArgument
from .ir import Value, storage_root
from .passes import dead_code, lower, optimize
from .pytree import flatten, unflatten
from .signature import key_part


class ConcreteFunction:
    """One trace: the graph, its generated code, what to check before reusing it and how to build the result."""

    __slots__ = ("graph", "compiled", "memory", "guards", "outputs", "differentiable", "signature", "backward",
                 "pinned", "written")

    def __init__(self, trace, leaves):
        """From a Trace (trace_call) of the call whose argument leaves are `leaves`: the graph optimized, split into
        forward and backward when the backward was traced, each lowered and compiled."""
        graph = optimize(trace.graph)
        self.guards, self.differentiable, self.backward = trace.guards, trace.differentiable, None
        self.signature = [i for i, x in enumerate(leaves) if isinstance(x, Tensor)]
        # the objects the cache key names by id: kept alive, so a new object can never reuse the id of a dead one
        self.pinned = [x for x in leaves if not isinstance(x, Tensor) and key_part(x)[0] == "object"]
        xp = _xp_of(graph, leaves)
        user = graph.output_template
        if trace.joint is not None:
            graph, backward, n_saved = autodiff.split(graph, trace.joint)
            dead_code(graph)
            user = graph.output_template[0]
            self.backward = Backward(trace.joint, backward, n_saved, xp, user)
        self.graph = graph
        # the arguments the graph writes into in place: their version counters move on at each run, as eagerly
        self.written = sorted({n.op.index for n in graph.nodes() if isinstance(n.op, WriteArgument)})
        lowered, self.memory = lower(graph, xp)
        self.compiled = CompiledGraph(lowered, self.memory, xp)
        self.outputs = output_plan(user)

    def run(self, leaves, positions, record=False):
        """The call's result; record=True (grad mode, a trace with a backward graph): its differentiable
        outputs get one tape node whose backward runs the backward graph."""
        arrays = [leaves[i]._data for i in positions]
        try:
            outs = self.compiled.run(arrays)
        except Exception as exc:
            raise _explain(self.compiled, exc) from exc
        finally:
            for k in self.written:
                leaves[positions[k]]._bump()
        treedef, plan, devices, again = self.outputs
        flat = [outs[x] if type(x) is int else x[0] for x in plan]
        for k in again:
            flat[k] = flat[k].copy()
        wrapped = [Tensor._make(o, d) if d is not None else o for o, d in zip(flat, devices)]
        if record:
            self._record(leaves, wrapped, outs[len(outs) - self.backward.n_saved:])
        return unflatten(treedef, wrapped)

    def _record(self, leaves, wrapped, saved):
        b = self.backward
        wrt = [leaves[w[1]] if w[0] == "input" else w[1] for w in b.joint.wrt]
        op = autodiff.CompiledBackward(b.run, saved, b.joint.cotangents, b.present,
                                       [t._device for t in wrt], self.graph.name)
        node = autodiff.attach(op, wrt, len(b.joint.diff_outputs))
        for t, k in zip(wrapped, b.diff_index):
            if k is not None:
                t.requires_grad, t._node, t._out = True, node, k

    def memory_report(self):
        """Bytes and counts of the forward graph's memory plan: preallocated buffers, values planned into them,
        estimated peak of intermediates during one run with and without the plan."""
        return dict(self.memory.report)


class Backward:
    """The backward half of a trace with gradients: its graph compiled, which outputs are differentiable
    (per result leaf: index into joint.diff_outputs or None) and which gradients the graph returns."""

    __slots__ = ("joint", "graph", "compiled", "lock", "n_saved", "present", "diff_index")

    def __init__(self, joint, graph, n_saved, xp, user_template):
        self.joint, self.graph, self.n_saved = joint, graph, n_saved
        self.compiled = CompiledGraph(*lower(graph, xp), xp)
        self.lock = threading.Lock()
        self.present = [g is not None for g in graph.output_template]
        ids = [id(v) for v in joint.diff_outputs]
        self.diff_index = [ids.index(id(x)) if isinstance(x, Value) and id(x) in ids else None
                           for x in flatten(user_template)[0]]

    def run(self, arrays):
        """The backward graph on one call's saved arrays and cotangents. One run at a time, under a lock of its own:
        it writes into buffers it keeps across runs, and backward() runs in whatever thread calls it, outside the
        Function's lock."""
        with self.lock:
            return self.compiled.run(arrays)


def output_plan(template):
    """(treedef, per leaf: output position, or (python constant,), per leaf: device or None, positions whose
    value an earlier leaf returns too, or that is a graph constant: copied, so two results never share memory as
    two eager results do not, and a caller writing into a result never changes what later calls return)."""
    leaves, treedef = flatten(template)
    plan, devs, seen, again = [], [], set(), set()
    for x in leaves:
        if isinstance(x, Value):
            root = storage_root(x).node
            if id(x) in seen or root is not None and root.kind == "const":
                again.add(len(plan))
            seen.add(id(x))
            plan.append(sum(1 for p in plan if type(p) is int))
            devs.append(x.device)
        else:
            plan.append((x,))
            devs.append(None)
    return treedef, plan, devs, again


def _explain(compiled, exc):
    node = compiled.node_at(exc.__traceback__)
    if node is None:
        return exc
    where = f"{node.where[0]}:{node.where[1]}" if node.where else "an unknown line"
    inputs = ", ".join(getattr(x, "name", repr(x)) for x in node.inputs)
    msg = f"{exc} [while running the compiled graph: op {node.name}({inputs}) from {where}]"
    try:
        return type(exc)(msg)
    except Exception:
        return RuntimeError(msg)


def _xp_of(graph, leaves):
    for v in graph.inputs:
        return v.device.xp
    for n in graph.captures:
        return n.op._device.xp
    return next((x._device.xp for x in leaves if isinstance(x, Tensor)), None) or CPU.xp
