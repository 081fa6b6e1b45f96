"""graft: re-root a piece of tape onto other tensors.

A backward that must itself be differentiable can be computed on a local copy of its inputs (detached leaves, so
autograd.grad over the local tape stops there instead of walking the whole graph behind the inputs), then grafted:
every edge of the local tape that led to a local leaf is pointed at the tensor the leaf stood for. The result is the
tape the same ops would have recorded on the real inputs, differentiable to any order.
"""
from .node import Node


def _edge(t):
    """The tape edge leading to tensor t (None when no gradient flows into it)."""
    if t is None or not t.requires_grad:
        return None
    return (t._node, t._out) if t._node is not None else (t, -1)


def graft(outputs, leaves, targets):
    """Rewire the tape behind `outputs` so that what flowed into each of `leaves` (leaf tensors) flows into the
    tensor at the same place in `targets`. Returns the outputs, an output that is one of the leaves replaced by
    its target."""
    edges = {id(leaf): _edge(target) for leaf, target in zip(leaves, targets)}
    stack = [t._node for t in outputs if t is not None and t._node is not None]
    seen = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        new = list(node.edges)
        for k, e in enumerate(new):
            if e is None:
                continue
            if type(e[0]) is Node:
                stack.append(e[0])
            elif id(e[0]) in edges:
                new[k] = edges[id(e[0])]
        node.edges = tuple(new)
        node.needs = tuple(e is not None for e in new)
    swap = {id(leaf): target for leaf, target in zip(leaves, targets)}
    return [swap.get(id(t), t) if t is not None else None for t in outputs]
