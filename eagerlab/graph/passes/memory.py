"""Memory planning: which intermediates get a preallocated buffer, kept by the compiled function across calls,
that their node writes into (`out=`), and which buffers dead intermediates hand on to later ones.

Liveness is computed per alias group: a view (a primitive flagged `view`) shares its operand's memory, and a
value read inside a cond/while lives until that node ends. A group escapes when one of its values is a graph
output or an effect's operand (a .grad store, a write into a captured tensor): those are never planned, since the
next call would overwrite what the caller or the leaf holds. A buffer passes to a later value only after every
value of its group is dead (never in place across nodes: a lowering may read an operand after writing `out`).
Only top-level nodes are planned; nested blocks run as before.
"""
from ..ir import Value
from .elementwise import lowering
from .fuse import Fused

_NEVER = float("inf")


class MemoryPlan:
    """`buffers`: (shape, dtype) per preallocated buffer; `slots`: id(Value) -> buffer index; `lowerings`:
    id(Operation) -> fn(out, *inputs); `report`: peak and buffer bytes (see memory_report)."""

    __slots__ = ("buffers", "slots", "lowerings", "report")

    def __init__(self):
        self.buffers, self.slots, self.lowerings, self.report = [], {}, {}, {}


def plan_memory(graph, xp):
    nodes = graph.body.nodes
    groups = _Groups()
    last = {}  # alias-group root -> position of its last use
    escaping = set()
    for i, node in enumerate(nodes):
        for v in _reads(node):
            root = groups.find(v)
            last[root] = max(last.get(root, -1), i)
            if node.kind == "effect" or _effect_inside(node):
                escaping.add(root)
        if node.kind in ("cond", "while") or node.kind == "prim" and node.op.view:
            for out in node.outputs:  # views share memory; control flow may yield an operand itself
                for v in _reads(node):
                    groups.union(v, out)
    for v in graph.outputs:
        escaping.add(groups.find(v))
    end = {}  # alias-group root (after every union) -> position of its last use
    for key, pos in last.items():
        r = groups.find_id(key)
        end[r] = max(end.get(r, -1), pos)
    escaping = {groups.find_id(k) for k in escaping}

    plan = MemoryPlan()
    free, busy = {}, []  # (shape, dtype) -> [buffer index]; [(end position, buffer index)]
    for i, node in enumerate(nodes):
        still = []
        for stop, b in busy:
            if stop < i:
                free.setdefault(plan.buffers[b], []).append(b)
            else:
                still.append((stop, b))
        busy = still
        fn = _lowering(xp, node)
        if fn is None:
            continue
        v = node.outputs[0]
        root = groups.find_id(id(v))
        if root in escaping or end.get(root, -1) < i:
            continue  # escapes, or is never read (DCE keeps no such node, but be safe)
        key = (v.shape, v.dtype)
        stack = free.get(key)
        b = stack.pop() if stack else None
        if b is None:
            b = len(plan.buffers)
            plan.buffers.append(key)
        plan.slots[id(v)], plan.lowerings[id(node)] = b, fn
        busy.append((end[root], b))
    plan.report = _report(graph, nodes, plan, groups, end, escaping)
    return plan


def _lowering(xp, node):
    if node.kind != "prim" or len(node.outputs) != 1 or node.op.view:
        return None
    if isinstance(node.op, Fused):
        return lambda out, *xs, op=node.op: op.impl(xp, *xs, out=out)
    return lowering(xp, node)


def _reads(node):
    """Values a node reads, those read inside its nested blocks included."""
    out = [x for x in node.inputs if isinstance(x, Value)]
    for b in node.blocks:
        for n in b.walk():
            out += [x for x in n.inputs if isinstance(x, Value)]
        out += [x for x in b.outputs if isinstance(x, Value)]
        for n in b.nodes:
            for inner in n.blocks:
                out += [x for x in inner.outputs if isinstance(x, Value)]
    return out


def _effect_inside(node):
    return any(n.kind == "effect" for b in node.blocks for n in b.walk())


def _report(graph, nodes, plan, groups, end, escaping):
    """Bytes: `buffers` (preallocated, kept across calls), `peak` (buffers plus the largest total of other
    intermediates alive at once during a run) and `peak_unplanned` (the same run with every intermediate
    allocated by its node, as before planning)."""
    spans = []  # (bytes, planned, first position, last position) per allocation a node makes
    for i, node in enumerate(nodes):
        if node.kind == "prim" and not node.op.view:
            for v in node.outputs:
                r = groups.find_id(id(v))
                stop = _NEVER if r in escaping else end.get(r, i)
                spans.append((v.size * v.itemsize, id(v) in plan.slots, i, stop))
    buffer_bytes = sum(_nbytes(shape, dtype) for shape, dtype in plan.buffers)
    peak, peak_unplanned = 0, 0
    for i in range(len(nodes)):
        alive = [(n, planned) for n, planned, first, stop in spans if first <= i <= stop]
        peak = max(peak, sum(n for n, planned in alive if not planned))
        peak_unplanned = max(peak_unplanned, sum(n for n, _ in alive))
    return {"buffers": len(plan.buffers), "buffer_bytes": buffer_bytes, "planned_values": len(plan.slots),
            "peak_bytes": buffer_bytes + peak, "peak_bytes_unplanned": peak_unplanned}


def _nbytes(shape, dtype):
    n = dtype.itemsize
    for s in shape:
        n *= s
    return n


class _Groups:
    """Union-find over Values (by id)."""

    def __init__(self):
        self.parent = {}

    def find(self, v):
        return self.find_id(id(v))

    def find_id(self, k):
        parent = self.parent
        while parent.get(k, k) != k:
            parent[k] = parent.get(parent[k], parent[k])
            k = parent[k]
        return k

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra
