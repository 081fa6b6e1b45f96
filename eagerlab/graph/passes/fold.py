"""Constant folding: a pure primitive whose every tensor operand is a graph constant is computed once, at compile
time, and becomes a constant itself. Random draws and effects are never folded (they must happen at every run);
an op that fails here is left in place, to fail at run time with the usual error."""
import numpy as np

from ..ir import Value

MAX_FOLDED_BYTES = 1 << 24  # a folded result lives in the compiled function: don't bake huge arrays into it


def fold_constants(graph):
    _block(graph.body, {})
    return graph


def _block(block, known):
    """known: id(Value) -> array, for constants defined in this block or an enclosing one."""
    for node in block.nodes:
        if node.kind == "const":
            known[id(node.outputs[0])] = node.op
        elif node.blocks:
            for b in node.blocks:
                _block(b, dict(known))
        elif _foldable(node, known):
            _fold(node, known)


def _foldable(node, known):
    if node.kind != "prim" or not node.pure or node.op.n_out != 1 or len(node.outputs) != 1:
        return False
    values = [x for x in node.inputs if isinstance(x, Value)]
    out = node.outputs[0]
    return bool(values) and all(id(v) in known for v in values) and out.size * out.itemsize <= MAX_FOLDED_BYTES


def _fold(node, known):
    out = node.outputs[0]
    args = [known[id(x)] if isinstance(x, Value) else x for x in node.inputs]
    try:
        array = node.op.impl(out.device.xp, *args, **node.attrs)
    except Exception:  # noqa: BLE001 - the run will raise it, traced back to the user's line
        return
    if isinstance(array, np.generic):
        array = np.asarray(array)
    if tuple(array.shape) != out.shape or array.dtype != out.dtype:
        return  # never change what the graph promised (shape, dtype)
    if node.op.view:
        array = array.copy()  # a constant owns its memory
    node.kind, node.op, node.inputs, node.attrs = "const", array, (), {}
    known[id(out)] = array
