"""One trace for every size of the None dimensions of an input_signature (or of reduce_retracing's relaxed shapes).

The graph itself holds concrete sizes (reshape targets, sum_to shapes, ...). To serve any size without running the
Python function again, the function is traced at the call's sizes and once more per distinct None-dimension size
with that size moved, and once with all of them moved to check. The traces must have the same structure; every
integer in them (attributes, constant operands, value shapes) must then be an affine function of the sizes with
integer coefficients, which the traces determine and the check trace confirms. A new size is served by writing
those integers into a copy of the graph. Anything else (a structure that changes with the size, a constant array
whose shape does, a size used non-linearly) is reported as NotPolymorphic and the caller retraces per shape.
"""
from .ir import Block, Graph, Node, Value

PROBES = (7, 13)  # offsets the probe traces move each size by (odd and distinct, so sizes stay distinct)


class NotPolymorphic(Exception):
    """The traces disagree in structure, or an integer is not affine in the sizes; the message says where."""


def symbols(shapes, poly_dims):
    """Group the None dimensions by their size in this call: (symbol sizes, per poly dim its symbol index)."""
    sizes, which = [], []
    for i, d in poly_dims:
        s = shapes[i][d]
        if s not in sizes:
            sizes.append(s)
        which.append(sizes.index(s))
    return sizes, which


def probe_shapes(shapes, poly_dims, which, moved):
    """`shapes` with the None dims of symbol j moved by moved[j]."""
    out = [list(s) if s is not None else None for s in shapes]
    for (i, d), j in zip(poly_dims, which):
        out[i][d] += moved[j]
    return [tuple(s) if s is not None else None for s in out]


class PolyGraph:
    """A traced graph plus, for each integer in it, `b + sum_j a_j * size_j`. Each trace is (graph, extra values):
    values the caller keeps outside the graph (a backward's cotangents), mapped along with it."""

    def __init__(self, base, base_sizes, probes, check, check_sizes):
        ints0, skel0 = _ints_and_skeleton(*base)
        self.base, self.k = base, len(base_sizes)
        self.coeffs = []
        per_probe = []
        for j, probe in enumerate(probes):
            ints, skel = _ints_and_skeleton(*probe)
            if skel != skel0:
                raise NotPolymorphic(f"the graph's structure changes when size {base_sizes[j]} changes")
            per_probe.append(ints)
        for n, v0 in enumerate(ints0):
            a = []
            for j, ints in enumerate(per_probe):
                delta = ints[n] - v0
                if delta % PROBES[0]:
                    raise NotPolymorphic(f"an integer ({v0}) is not a whole multiple of size {base_sizes[j]}")
                a.append(delta // PROBES[0])
            self.coeffs.append((v0 - sum(x * s for x, s in zip(a, base_sizes)), tuple(a)))
        ints, skel = _ints_and_skeleton(*check)
        if skel != skel0 or ints != self.ints_for(check_sizes):
            raise NotPolymorphic("an integer in the graph is not an affine function of the sizes")

    def ints_for(self, sizes):
        return [b + sum(x * s for x, s in zip(a, sizes)) for b, a in self.coeffs]

    def specialize(self, sizes):
        """(a copy of the base graph with every integer written for these sizes, its extra values)."""
        it = iter(self.ints_for(sizes))
        return _copy_graph(*self.base, on_int=lambda v: next(it))


def copy_graph(graph):
    """An independent copy of a graph (nodes, blocks and values; ops, constants and captured tensors shared)."""
    return _copy_graph(graph, (), on_int=lambda v: v)[0]


# ---- walking every integer of a graph, in a fixed order -----------------------------------------------------------
def _ints_and_skeleton(graph, extra):
    ints, skel = [], []
    _copy_graph(graph, extra, on_int=lambda v: ints.append(v) or v, skeleton=skel)
    return ints, skel


def _copy_graph(graph, extra, on_int, skeleton=None):
    """(A copy of `graph` whose integers are on_int(old), visited in a fixed order, and the copies of the `extra`
    values); `skeleton` (a list) collects everything else, so two graphs of the same structure give equal ones."""
    note = skeleton.append if skeleton is not None else (lambda x: None)
    values = {}
    new = Graph(graph.name)
    new._counter = graph._counter

    def value(v):
        if id(v) not in values:
            values[id(v)] = Value(_map(v.shape, on_int, note), v.dtype, v.device, None, v.index, v.id)
        return values[id(v)]

    def node(n):
        note((n.kind, _identity(n)))
        copy = Node(n.kind, n.op, [value(x) if isinstance(x, Value) else _map(x, on_int, note) for x in n.inputs],
                    _map(n.attrs, on_int, note), [block(b) for b in n.blocks], n.where)
        copy.outputs = tuple(value(v) for v in n.outputs)
        for v in copy.outputs:
            v.node = copy
        return copy

    def block(b):
        nodes = [node(n) for n in b.nodes]
        return Block(nodes, [value(v) if isinstance(v, Value) else v for v in b.outputs])

    new.inputs = [value(v) for v in graph.inputs]
    for v in graph.inputs:
        note(("input", v.dtype.str))
    for v, nv in zip(graph.inputs, new.inputs):
        input_node = Node("input", None)
        input_node.outputs, nv.node = (nv,), input_node
    new.captures = [node(n) for n in graph.captures]
    new.body = block(graph.body)
    new.output_template = _map_template(graph.output_template, value, on_int, note)
    extra = [value(v) for v in extra]
    for v in values.values():
        if v.node is None:  # defined outside the graph (a backward's cotangent): a placeholder, as the original
            placeholder = Node("input", None)
            placeholder.outputs, v.node = (v,), placeholder
    return new, extra


def _identity(n):
    """What must be the same object/op across traces for a node, beyond its integers."""
    if n.kind == "prim":
        return n.op.name
    if n.kind == "capture":
        return id(n.op)
    if n.kind == "const":
        return (n.op.dtype.str, n.op.shape, n.op.tobytes() if n.op.size <= 64 else id(n.op))
    if n.kind == "effect":
        return (type(n.op).__name__, n.op.describe())
    return n.kind


def _map(x, on_int, note):
    if isinstance(x, bool) or x is None:
        note(x)
        return x
    if isinstance(x, int):
        return on_int(x)
    if isinstance(x, slice):
        return slice(_map(x.start, on_int, note), _map(x.stop, on_int, note), _map(x.step, on_int, note))
    if isinstance(x, (tuple, list)):
        note((type(x).__name__, len(x)))
        return type(x)(_map(i, on_int, note) for i in x)
    if isinstance(x, dict):
        note(("dict", tuple(x)))
        return {k: _map(v, on_int, note) for k, v in x.items()}
    note((type(x).__name__, repr(x) if isinstance(x, (float, str)) else id(x)))
    return x


def _map_template(t, value, on_int, note):
    if isinstance(t, Value):
        return value(t)
    if isinstance(t, tuple) and hasattr(t, "_fields"):
        return type(t)(*(_map_template(x, value, on_int, note) for x in t))
    if isinstance(t, (tuple, list)):
        return type(t)(_map_template(x, value, on_int, note) for x in t)
    if isinstance(t, dict):
        return {k: _map_template(v, value, on_int, note) for k, v in t.items()}
    return _map(t, on_int, note)
