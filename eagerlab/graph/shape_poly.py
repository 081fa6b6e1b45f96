"""One trace for every size of the None dimensions of an input_signature (or of reduce_retracing's relaxed shapes).

The graph itself holds concrete sizes (reshape targets, sum_to shapes, ...). To serve any size without running the
Python function again, the function is traced at the call's sizes and once more per distinct None-dimension size
with that size moved, and once with all of them moved to check. The traces must have the same structure; every
integer in them (attributes, constant operands, value shapes) must then be an affine function of the sizes with
integer coefficients, which the traces determine and the check trace confirms. A new size is served by writing
those integers into a copy of the graph. Anything else (a structure that changes with the size, a constant array
whose shape does, a size used non-linearly) is reported as NotPolymorphic and the caller retraces per shape.
"""
from . import autodiff
from .ir import GraphCopy
from .trace_call import Trace

PROBES = (7, 13)  # offsets the probe traces move each size by (odd and distinct, so sizes stay distinct)


class NotPolymorphic(Exception):
    """The traces disagree in structure, or an integer is not affine in the sizes; the message says where."""


class PolyTrace:
    """A trace for every size of some dims: `trace_for` specializes its PolyGraph. When the function turned out not
    to allow that (`why_not` says why), it holds the one trace it made, valid for that call's shapes only."""

    __slots__ = ("base", "graph", "first_dims", "why_not", "base_unused")

    def __init__(self):
        self.base, self.graph, self.first_dims, self.why_not, self.base_unused = None, None, (), None, False

    def trace_for(self, shapes):
        """The Trace for a call of these shapes, or None: not polymorphic, and its one trace already served."""
        if self.graph is not None:
            graph, extra = self.graph.specialize([shapes[i][d] for i, d in self.first_dims])
            b = self.base
            return Trace(graph, b.guards, b.differentiable, autodiff.remapped(b.joint, extra))
        if self.base_unused:
            self.base_unused = False
            return self.base
        return None


def trace_polymorphic(trace, shapes, poly_dims):
    """One trace for all sizes of poly_dims (see the module docstring). `trace(shapes, counted)` traces the call
    at these shapes; it runs at the call's own shapes (counted: that is the call's trace), once per distinct size
    moved, and once to check."""
    poly = PolyTrace()
    sizes, which = symbols(shapes, poly_dims)
    poly.first_dims = [poly_dims[which.index(j)] for j in range(len(sizes))]
    poly.base = trace(shapes, True)

    def probe(moves):  # (graph, the values outside it that a specialization must map too)
        t = trace(probe_shapes(shapes, poly_dims, which, moves), False)
        return t.graph, autodiff.values_of(t.joint)

    try:
        probes = [probe([PROBES[0] if k == j else 0 for k in range(len(sizes))]) for j in range(len(sizes))]
        check_moves = [PROBES[1] + k for k in range(len(sizes))]
        poly.graph = PolyGraph((poly.base.graph, autodiff.values_of(poly.base.joint)), sizes, probes,
                               probe(check_moves), [s + m for s, m in zip(sizes, check_moves)])
    except Exception as exc:  # (a probe size the function refuses is as conclusive as a different structure)
        poly.graph, poly.why_not, poly.base_unused = None, str(exc), True
    return poly


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
        return _copy(*self.base, on_int=lambda v: next(it))


# ---- walking every integer of a graph, in a fixed order -----------------------------------------------------------
def _copy(graph, extra, on_int, note=lambda x: None):
    """(A copy of `graph` whose integers are on_int(old), visited in a fixed order, and the copies of the `extra`
    values); `note` is given everything else static, so two graphs of the same structure note equal sequences."""
    copy = GraphCopy(lambda x: _map(x, on_int, note))
    new = copy.graph(graph)
    return new, [copy.value(v) for v in extra]


def _ints_and_skeleton(graph, extra):
    ints, skel = [], []
    _copy(graph, extra, on_int=lambda v: ints.append(v) or v, note=skel.append)
    skel += [("input", v.dtype.str) for v in graph.inputs]
    skel += [(n.kind, _identity(n)) for n in graph.captures]
    skel += [(n.kind, _identity(n)) for n in graph.nodes()]
    return ints, skel


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
