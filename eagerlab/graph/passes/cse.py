"""Common-subexpression elimination: a pure op applied again to the same inputs with the same attributes reuses
the first result. Effects (and control flow containing them) end the reuse: after a write, a recomputation
may see different data."""
from ..ir import Value
from .dce import has_effects
from .rewrite import Rewriter


def common_subexpressions(graph):
    rw = Rewriter()
    _block(graph.body, {}, rw)
    rw.finish(graph)
    return graph


def _block(block, table, rw):
    for node in block.nodes:
        rw.rewrite_inputs(node)
        if node.blocks:
            for b in node.blocks:
                _block(b, dict(table), rw)
                rw.rewrite_block_outputs(b)
        if has_effects(node):
            table.clear()
            continue
        if node.kind != "prim":
            continue
        key = (node.op.name, tuple(_freeze(x) for x in node.inputs), _freeze(node.attrs))
        earlier = table.get(key)
        if earlier is None:
            table[key] = node
        else:
            for old, new in zip(node.outputs, earlier.outputs):
                rw.replace(old, new)
    rw.drop_replaced(block)


def _freeze(x):
    """A hashable stand-in that is equal only for equal values (type included: 1, 1.0 and True differ)."""
    if isinstance(x, Value):
        return ("value", x.id)
    if isinstance(x, slice):
        return ("slice", _freeze(x.start), _freeze(x.stop), _freeze(x.step))
    if isinstance(x, (tuple, list)):
        return (type(x).__name__,) + tuple(_freeze(i) for i in x)
    if isinstance(x, dict):
        return ("dict",) + tuple((k, _freeze(v)) for k, v in sorted(x.items()))
    try:
        hash(x)
    except TypeError:
        return ("id", id(x))
    return (type(x), x)
