"""Replacing Values by others across a graph (what CSE, folding and simplification do when a node goes away)."""
from ..ir import Value


class Rewriter:
    def __init__(self):
        self.map = {}  # id(old Value) -> new Value

    def replace(self, old, new):
        self.map[id(old)] = self.resolve(new)

    def resolve(self, v):
        while isinstance(v, Value) and id(v) in self.map:
            v = self.map[id(v)]
        return v

    def rewrite_inputs(self, node):
        if self.map:
            node.inputs = tuple(self.resolve(x) for x in node.inputs)

    def rewrite_block_outputs(self, block):
        if self.map:
            block.outputs = tuple(self.resolve(x) for x in block.outputs)

    def drop_replaced(self, block):
        """Remove nodes all of whose outputs were replaced."""
        if self.map:
            block.nodes[:] = [n for n in block.nodes if not n.outputs or any(id(v) not in self.map
                                                                               for v in n.outputs)]

    def finish(self, graph):
        if self.map:
            graph.output_template = _map(graph.output_template, self.resolve)
            self.rewrite_block_outputs(graph.body)


def _map(t, fn):
    if isinstance(t, Value):
        return fn(t)
    if isinstance(t, tuple) and hasattr(t, "_fields"):
        return type(t)(*(_map(x, fn) for x in t))
    if isinstance(t, (tuple, list)):
        return type(t)(_map(x, fn) for x in t)
    if isinstance(t, dict):
        return {k: _map(v, fn) for k, v in t.items()}
    return t
