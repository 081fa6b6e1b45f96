"""Tracing one call of a function: it runs on abstract tensors (the call's shapes, dtypes and devices; no data) under
a Tracer, which records a Graph. When its result is differentiated through, the backward is traced into the same
graph (see autodiff), so forward and backward compile together."""
from .._tensor import Tensor
from ..autograd.grad_mode import is_grad_enabled
from . import autodiff
from .guards import Guards
from .pytree import flatten, unflatten
from .trace import Tracer


class Trace:
    """A traced call: its graph, the Guards to check before reusing it, whether its results need gradients, and the
    autodiff.Joint when the backward was traced too (its gradients join the output template), else None."""

    __slots__ = ("graph", "guards", "differentiable", "joint")

    def __init__(self, graph, guards, differentiable, joint):
        self.graph, self.guards, self.differentiable, self.joint = graph, guards, differentiable, joint


def trace_call(fn, name, leaves, treedef, shapes=None, root=None):
    """Trace fn(*args, **kwargs) for the call whose flattened arguments are `leaves`; `shapes` (per leaf, None for
    non-tensors) replaces the tensors' shapes (shape polymorphism's probe traces); `root`: the Module compiled."""
    tracer = Tracer(name)
    abstract = []
    with tracer:
        for i, x in enumerate(leaves):
            if isinstance(x, Tensor):
                node = tracer.emit_input(x, shapes[i] if shapes else None)
                abstract.append(Tensor._make(node.outputs[0], x._device, x.requires_grad))
                tracer.argument(abstract[-1])
            else:
                abstract.append(x)
        args, kwargs = unflatten(treedef, abstract)
        result = fn(*args, **kwargs)
        # a result is differentiated through (rather than the function being a step that does its own
        # backward and update) when it needs grad and the only effects are writes into buffers (BatchNorm)
        differentiable = tracer.effect_kinds <= {"assign"} and any(
            isinstance(t, Tensor) and t.requires_grad for t in flatten(result)[0])
        traced = None
        if differentiable and is_grad_enabled():
            traced = autodiff.trace_backward(tracer, result, [(i, t) for i, t in enumerate(abstract)
                                                              if isinstance(t, Tensor)])
        graph = tracer.finish(result)
        if traced is not None:
            graph.output_template = (graph.output_template, traced[1])
    return Trace(graph, Guards(tracer, graph, root), differentiable, traced and traced[0])
