"""Gradients through a compiled call: the trace continues past the function's result with autograd.grad of the
outputs that need gradients (seeded by placeholder cotangents) with respect to the differentiable inputs and
captured parameters, so one joint graph holds forward and backward. It is split where the cotangents start: the
forward graph also returns the values the backward reads ("saved"), and a call records one tape node whose
backward runs the backward graph on them. autograd then treats the whole compiled call like one op.
"""
from .._tensor import Tensor
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.node import Node as TapeNode
from ..errors import UnsupportedError
from ..autograd.operands import Aval
from .ir import Block, Graph, Operation, Value
from .pytree import flatten


class Joint:
    """What the trace adds for the backward: the outputs that need gradients, their cotangent placeholders and
    what gradients are taken with respect to (("input", leaf index) or ("capture", tensor))."""

    __slots__ = ("diff_outputs", "cotangents", "wrt")


def trace_backward(tracer, result, inputs):
    """Inside a trace, after the forward: record the backward. `inputs`: (leaf index, abstract tensor) of the
    tensor arguments. Returns (Joint, the gradient Values (None where unused)), or None when the call cannot be
    differentiated this way (a captured tensor that requires grad but is itself computed: its graph is eager)."""
    from ..autograd import grad

    outs = [t for t in flatten(result)[0] if isinstance(t, Tensor) and t.requires_grad]
    captured = [n.op for n in tracer.graph.captures if n.op.requires_grad]
    if any(t._node is not None for t in captured):
        return None
    joint = Joint()
    joint.diff_outputs = [tracer.value_of(t) for t in outs]
    joint.cotangents, seeds = [], []
    for t in outs:
        node = Operation("input", None)
        (v,) = tracer.new_values(node, [Aval(t._data.shape, t.dtype, t._device)])
        joint.cotangents.append(v)
        seeds.append(Tensor._make(v, t._device))
    targets = [(("input", i), t) for i, t in inputs if t.requires_grad] + [(("capture", t), t) for t in captured]
    joint.wrt = [w for w, _ in targets]
    grads = grad(outs, [t for _, t in targets], seeds, allow_unused=True)
    return joint, [None if g is None else tracer.value_of(g) for g in grads]


def values_of(joint):
    """The Values a Joint refers to (cotangents, then differentiable outputs); none for no Joint."""
    return [] if joint is None else joint.cotangents + joint.diff_outputs


def remapped(joint, values):
    """The Joint for a copy of its graph, given the copies of values_of(joint)."""
    if joint is None:
        return None
    new = Joint()
    n = len(joint.cotangents)
    new.cotangents, new.diff_outputs, new.wrt = values[:n], values[n:], joint.wrt
    return new


def split(graph, joint):
    """(forward Graph, backward Graph) from an optimized joint graph whose output_template is (user outputs,
    gradients). The forward returns (user outputs, saved values); the backward takes (saved, cotangents)."""
    user, grads = graph.output_template
    backward_ids = {id(v) for v in joint.cotangents}
    fwd_nodes, bwd_nodes = [], []
    for node in graph.body.nodes:
        if any(isinstance(x, Value) and id(x) in backward_ids for x in node.inputs) or _reads_in_blocks(
                node, backward_ids):
            bwd_nodes.append(node)
            backward_ids.update(id(v) for v in node.outputs)
        else:
            fwd_nodes.append(node)
    used = [x for n in bwd_nodes for x in _reads(n)] + [g for g in grads if g is not None]
    saved, seen = [], set()
    for v in used:
        if id(v) not in backward_ids and id(v) not in seen:
            seen.add(id(v))
            saved.append(v)
    forward = Graph(graph.name)
    forward.inputs, forward.captures = graph.inputs, graph.captures
    forward.body, forward.output_template = Block(fwd_nodes), (user, saved)
    backward = Graph(graph.name + "_backward")
    backward.inputs = saved + joint.cotangents
    backward.body, backward.output_template = Block(bwd_nodes), list(grads)
    return forward, backward, len(saved)


def _reads(node):
    yield from (x for x in node.inputs if isinstance(x, Value))
    for b in node.blocks:
        for n in b.nodes:
            yield from _reads(n)
        yield from (x for x in b.outputs if isinstance(x, Value))


def _reads_in_blocks(node, ids):
    return any(id(x) in ids for b in node.blocks for n in b.nodes for x in _reads(n))


class CompiledBackward:
    """The tape op of one compiled call: its backward runs the backward graph on that call's saved arrays."""

    __slots__ = ("run", "saved", "cotangents", "present", "devices", "name", "backward_name")

    def __init__(self, run, saved, cotangents, present, devices, name):
        self.run, self.saved, self.cotangents, self.present, self.devices = run, saved, cotangents, present, devices
        self.name, self.backward_name = name, "CompiledFunctionBackward"

    def vjp(self, ctx, *grads):
        if is_grad_enabled():
            raise UnsupportedError(f"{self.name}: higher-order gradients (create_graph=True) through a compiled "
                                   "call are not supported yet; run the function eagerly (eager=True) for them")
        cots = [g._data if g is not None else v.device.xp.zeros(v.shape, v.dtype) for g, v in
                zip(grads, self.cotangents)]
        results = iter(self.run(list(self.saved) + cots))
        # a gradient must own its memory: autograd may accumulate into it in place
        held = {id(a) for a in cots} | {id(a) for a in self.saved}
        out = []
        for present, device in zip(self.present, self.devices):
            a = next(results) if present else None
            if a is not None and (a.base is not None or id(a) in held):
                a = a.copy()
            if a is not None:
                held.add(id(a))
            out.append(None if a is None else Tensor._make(a, device))
        return tuple(out)


def attach(backward, wrt_tensors, n_out):
    """The tape node one compiled call's differentiable outputs share (output k takes _out = k)."""
    edges = tuple((t._node, t._out) if t._node is not None else (t, -1) for t in wrt_tensors)
    return TapeNode(backward, {}, edges, tuple(t._data.shape for t in wrt_tensors), n_out)
