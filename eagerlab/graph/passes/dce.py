"""Dead-code elimination: drop pure nodes whose outputs nothing uses (effects, random draws and control flow
that contains effects always stay), and captures nothing reads."""
from ..ir import Value


def dead_code(graph):
    live = {id(v) for v in graph.outputs}
    _block(graph.body, live)
    graph.captures = [n for n in graph.captures if id(n.outputs[0]) in live]
    return graph


def _block(block, live):
    live.update(id(v) for v in block.outputs if isinstance(v, Value))
    kept = []
    for node in reversed(block.nodes):
        if not (has_effects(node) or any(id(v) in live for v in node.outputs)):
            continue
        if node.kind == "while":  # every carried variable feeds the next iteration
            live.update(id(v) for v in node.outputs)
        for b in reversed(node.blocks):
            _block(b, live)
        live.update(id(x) for x in node.inputs if isinstance(x, Value))
        kept.append(node)
    block.nodes[:] = reversed(kept)


def has_effects(node):
    """Not removable: an effect, a random draw, or control flow containing one."""
    if node.kind in ("cond", "while"):
        return any(has_effects(n) for b in node.blocks for n in b.nodes)
    return not node.pure
