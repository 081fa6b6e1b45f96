"""Elementwise fusion: a chain of elementwise primitives, each result used only by the next one, becomes one
`fused` node. Its lowering writes every step of the final shape and dtype into one buffer, in place (the
intermediates die inside the chain, so nothing else can see them: no temporaries), and skips a bool -> float
cast that only feeds a ufunc (the ufunc converts the mask exactly as the cast would). On GPU the same chain
could become one cupy.fuse kernel; the CPU lowering is used on both (cupy ufuncs take out= too)."""
from ..ir import Operation, Value
from .dce import has_effects
from .elementwise import elementwise_step, is_elementwise


class Fused:
    """The op of a fused node: `steps` are the chain's nodes in order; operands are the node's inputs or the
    previous step's result."""

    __slots__ = ("steps", "name", "n_out", "view", "dynamic_shape")

    def __init__(self, steps):
        self.steps, self.n_out, self.view, self.dynamic_shape = steps, 1, False, False
        self.name = "fused[" + ",".join(n.op.name for n in steps) + "]"

    def impl(self, xp, *inputs, out=None):
        """Run the chain (out: the buffer for the result, or None to allocate it)."""
        final = self.steps[-1].outputs[0]
        env = dict(zip(self.external_ids(), inputs))
        prev = None
        for node in self.steps:
            v = node.outputs[0]
            if _elided_cast(node, self.steps):
                env[id(v)] = env[id(node.inputs[0])]
                continue
            operands = [env[id(x)] if isinstance(x, Value) else x for x in node.inputs]
            # (0-d results are numpy scalars, which cannot serve as out=)
            in_place = v.shape == final.shape != () and v.dtype == final.dtype
            target = out if in_place and out is not None else (prev if in_place and prev is not None else None)
            result = elementwise_step(xp, node)(target, *operands)
            if in_place:
                prev = out = result
            env[id(v)] = result
        return env[id(final)]

    def external_ids(self):
        inside = {id(n.outputs[0]) for n in self.steps}
        ids = []
        for n in self.steps:
            ids += [id(x) for x in n.inputs if isinstance(x, Value) and id(x) not in inside and id(x) not in ids]
        return ids


def _elided_cast(node, steps):
    """A bool -> float cast whose one consumer (the next step) multiplies it by a float array of the same type:
    multiply converts the mask (0 or 1, exact) inside its loop."""
    if node.op.name != "cast" or node is steps[-1] or node.inputs[0].dtype.kind != "b":
        return False
    consumer, v = steps[steps.index(node) + 1], node.outputs[0]
    others = [x for x in consumer.inputs if x is not v]
    return (consumer.op.name == "mul" and v.dtype.kind == "f" and len(others) == 1
            and isinstance(others[0], Value) and others[0].dtype == v.dtype)


def fuse_elementwise(graph):
    uses = _use_counts(graph)
    _block(graph.body, uses)
    return graph


def _block(block, uses):
    for node in block.nodes:
        for b in node.blocks:
            _block(b, uses)
    producer_pos = {}
    chains, chain_of = [], {}
    last_effect = -1
    for i, node in enumerate(block.nodes):
        if has_effects(node):
            last_effect = i
        if not is_elementwise(node):
            continue
        feeders = [x for x in node.inputs if isinstance(x, Value) and id(x) in chain_of and uses.get(id(x)) == 1]
        chain = chain_of[id(feeders[0])] if len(feeders) == 1 else None
        if chain is not None and chain[-1].outputs[0] is feeders[0] and producer_pos[id(feeders[0])] > last_effect:
            chain.append(node)
        else:
            chain = [node]
            chains.append(chain)
        chain_of[id(node.outputs[0])] = chain
        producer_pos[id(node.outputs[0])] = i
    fused = {id(c[-1]): c for c in chains if len(c) > 1}
    drop = {id(n) for c in fused.values() for n in c[:-1]}
    out = []
    for node in block.nodes:
        if id(node) in drop:
            continue
        chain = fused.get(id(node))
        out.append(node if chain is None else _fused_node(chain))
    block.nodes[:] = out


def _fused_node(chain):
    op = Fused(chain)
    by_id = {id(x): x for n in chain for x in n.inputs if isinstance(x, Value)}
    node = Operation("prim", op, [by_id[i] for i in op.external_ids()], where=chain[-1].where)
    node.outputs = chain[-1].outputs
    node.outputs[0].node = node
    return node


def _use_counts(graph):
    """Uses per Value: one per consuming node (and per graph or block output), nested blocks included."""
    uses = {}
    for v in graph.outputs:
        uses[id(v)] = uses.get(id(v), 0) + 1
    for node in graph.nodes():
        for x in {id(x) for x in node.inputs if isinstance(x, Value)}:
            uses[x] = uses.get(x, 0) + 1
        for b in node.blocks:
            for x in b.outputs:
                if isinstance(x, Value):
                    uses[id(x)] = uses.get(id(x), 0) + 1
    return uses
