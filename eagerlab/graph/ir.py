"""The graph IR: Values (SSA, one per op output), Operations (one op application each, as tf.Operation: the nodes
of the graph; the autograd tape's nodes are autograd.node.Node) and Blocks (ordered node lists; the branches of a
cond and the condition/body of a while loop are nested Blocks).

While a function is traced, a Value is also what an abstract Tensor holds in `_data`: it answers the metadata
questions code asks of an array (shape, ndim, dtype, size) and refuses, with a TracingError, anything that would
need the data.
"""
import numpy as np

from ..autograd.interpreter import EAGER, current
from ..errors import TracingError, fmt_shape

# Operation kinds. "prim": a registry primitive; "input": a function argument; "capture": a tensor reached from
# outside, read by reference at every run; "const": an array created while tracing; "cond"/"while": control flow
# with nested blocks; "effect": an ordered side effect (a write into a captured tensor, a .grad store, a call back
# into Python such as an optimizer step).
KINDS = ("prim", "input", "capture", "const", "cond", "while", "effect")


class Value:
    """One SSA value: the output `index` of `node`, with a static shape, numpy dtype and device."""

    __slots__ = ("shape", "dtype", "device", "node", "index", "id")
    base = None  # never a view of another array: a view op makes a new Value
    flags = type("flags", (), {"c_contiguous": True, "f_contiguous": False})()

    def __init__(self, shape, dtype, device, node=None, index=0, id=-1):
        self.shape, self.dtype, self.device = tuple(shape), np.dtype(dtype), device
        self.node, self.index, self.id = node, index, id

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def itemsize(self):
        return self.dtype.itemsize

    @property
    def strides(self):
        st, acc = [], self.dtype.itemsize
        for s in reversed(self.shape):
            st.append(acc)
            acc *= max(s, 1)
        return tuple(reversed(st))

    def __len__(self):
        return self.shape[0]

    @property
    def name(self):
        return f"%{self.id}"

    def __repr__(self):
        return f"{self.name}: {fmt_shape(self.shape)} {self.dtype}"

    def __array__(self, *args, **kwargs):
        raise _data_error("converting it to a numpy array")

    def __getattr__(self, attr):  # anything else an array has (item, tolist, reshape, fill, ...) needs data
        if attr.startswith("__"):  # protocol probes (copy, pickle, cupy interop) simply find nothing
            raise AttributeError(attr)
        raise _data_error(f"its data was asked for: .item(), bool(), float(), .tolist() or .numpy() (array.{attr})")

    def __bool__(self):
        raise _data_error("bool()")


def _data_error(what):
    if current().unwrapped() is EAGER:  # no trace runs on this thread: the tensor outlived the trace it came from
        return TracingError(
            f"eagerlab.function: this tensor was computed while a function was traced (eagerlab.function, export, "
            f"onnx.export) and was kept past the trace ({what}): stored on a module or another object (self.mask "
            "= ...) while traced, it never had a value. Compute it outside the traced function (or register it as "
            "a buffer first), or return it from the function.")
    return TracingError(
        f"eagerlab.function: a tensor's value is not known while the function is traced ({what}). Python control "
        "flow on tensors is converted by AutoGraph (if/while/for on a tensor condition, in functions whose source "
        "file it can read: not ones typed into a REPL or exec'd); for other uses call "
        "eagerlab.cond / eagerlab.while_loop, keep the value a tensor, or run the function eagerly "
        "(eagerlab.function(fn, eager=True) or eagerlab.run_functions_eagerly(True))."
    )


class Operation:
    """One op application. `op`: the Primitive (kind "prim"), the captured Tensor ("capture"), the array
    ("const"), an Effect ("effect"). `inputs`: Values or Python constants. `blocks`: nested Blocks (cond: true,
    false; while: cond, body). `where`: the user's source line that created it, for errors and printing."""

    __slots__ = ("kind", "op", "inputs", "attrs", "outputs", "blocks", "where")

    def __init__(self, kind, op, inputs=(), attrs=None, blocks=(), where=None):
        self.kind, self.op, self.inputs, self.attrs = kind, op, tuple(inputs), attrs or {}
        self.outputs, self.blocks, self.where = (), tuple(blocks), where

    @property
    def name(self):
        if self.kind == "prim":
            return self.op.name
        if self.kind == "effect":
            return self.op.name
        return self.kind

    @property
    def pure(self):
        """May be removed when unused, merged with an equal node, or computed at trace time."""
        return self.kind in ("prim", "const", "input", "capture") and not (
            self.kind == "prim" and "generator" in self.attrs)

    def __repr__(self):
        return f"<Operation {self.name} -> {', '.join(v.name for v in self.outputs)}>"


def storage_root(v):
    """The Value whose memory `v` shares: v itself, or what a chain of view primitives was applied to."""
    node = v.node
    while node is not None and node.kind == "prim" and node.op.view and isinstance(node.inputs[0], Value):
        v = node.inputs[0]
        node = v.node
    return v


class Block:
    """An ordered list of nodes and the Values it yields (a branch's results, a loop's next variables)."""

    __slots__ = ("nodes", "outputs")

    def __init__(self, nodes=None, outputs=()):
        self.nodes = nodes if nodes is not None else []
        self.outputs = tuple(outputs)

    def walk(self):
        """Every node, nested blocks included, in program order."""
        for n in self.nodes:
            yield n
            for b in n.blocks:
                yield from b.walk()


class Graph:
    """A traced function: a top-level Block, its inputs (Values of "input" nodes), captures ("capture" nodes,
    in first-use order) and its output structure (a template whose leaves are Values or Python constants)."""

    __slots__ = ("body", "inputs", "captures", "output_template", "name", "_counter")

    def __init__(self, name="graph"):
        self.body = Block()
        self.inputs = []
        self.captures = []
        self.output_template = None
        self.name = name
        self._counter = 0

    def new_value(self, shape, dtype, device, node=None, index=0):
        v = Value(shape, dtype, device, node, index, self._counter)
        self._counter += 1
        return v

    @property
    def outputs(self):
        return tuple(_leaves(self.output_template))

    def nodes(self):
        return self.body.walk()

    def copy(self, map_static=None):
        """An independent copy: new nodes, blocks and values; the ops, constant arrays and captured tensors they
        refer to are shared. See GraphCopy for `map_static`."""
        return GraphCopy(map_static).graph(self)

    def __str__(self):
        from .printing import format_graph

        return format_graph(self)

    __repr__ = __str__


class GraphCopy:
    """Copies a graph node by node, remembering each value's copy, so values held outside the graph (a backward's
    cotangents) can be mapped along with `value`. `map_static(x)`, when given, rewrites on the way every static
    part (each non-Value operand, each node's attrs dict, each value's shape, each constant of the output
    template), visited in a fixed order: shape polymorphism writes new sizes into a copy with it."""

    def __init__(self, map_static=None):
        self.static = map_static or (lambda x: x)
        self.values = {}  # id(original Value) -> its copy

    def graph(self, graph):
        new = Graph(graph.name)
        new._counter = graph._counter
        new.inputs = [self.value(v) for v in graph.inputs]
        new.captures = [self.node(n) for n in graph.captures]
        new.body = self.block(graph.body)
        new.output_template = self.template(graph.output_template)
        return new

    def value(self, v):
        new = self.values.get(id(v))
        if new is None:
            new = self.values[id(v)] = Value(self.static(v.shape), v.dtype, v.device, None, v.index, v.id)
            # made by a placeholder until its producer is copied; values made outside the graph (its inputs, a
            # backward's saved values and cotangents) keep it, as their originals have no producer in the graph
            placeholder = Operation("input", None)
            placeholder.outputs, new.node = (new,), placeholder
        return new

    def node(self, n):
        inputs = [self.value(x) if isinstance(x, Value) else self.static(x) for x in n.inputs]
        new = Operation(n.kind, n.op, inputs, self.static(dict(n.attrs)), [self.block(b) for b in n.blocks], n.where)
        new.outputs = tuple(self.value(v) for v in n.outputs)
        for v in new.outputs:
            v.node = new
        return new

    def block(self, block):
        nodes = [self.node(n) for n in block.nodes]
        return Block(nodes, [self.value(v) if isinstance(v, Value) else v for v in block.outputs])

    def template(self, t):
        if isinstance(t, Value):
            return self.value(t)
        if isinstance(t, tuple) and hasattr(t, "_fields"):
            return type(t)(*(self.template(x) for x in t))
        if isinstance(t, (tuple, list)):
            return type(t)(self.template(x) for x in t)
        if isinstance(t, dict):
            return {k: self.template(v) for k, v in t.items()}
        return self.static(t)


def _leaves(template):
    if isinstance(template, Value):
        yield template
    elif isinstance(template, (tuple, list)):
        for t in template:
            yield from _leaves(t)
    elif isinstance(template, dict):
        for t in template.values():
            yield from _leaves(t)
