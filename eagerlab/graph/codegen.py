"""Codegen: a Graph becomes the source of one Python function over raw backend arrays (one line per node, no
Tensor objects, no tape, no dispatch), compiled once. `fn.code` shows it; errors raised inside it are traced
back to the node, and so to the user's source line (CompiledGraph.node_at)."""
import functools
import itertools
import math

from .effects import StoreGrad
from .ir import Value, storage_root

_counter = itertools.count()


class CompiledGraph:
    """The callable for a graph: `run(input_arrays) -> output arrays` (flat lists). It follows `memory`, the graph's
    memory plan (passes.lower makes both): a value the plan gives a buffer is written into it, and the buffers are
    allocated here, once, and reused by every run. So two runs must never overlap: whoever calls `run` from several
    threads holds a lock around it (Function, Backward, ExportedFunction do).

    `loop_limit` (a LoopLimit, or None): every iteration of every while loop counts against it, nested loops
    included, so one run can never loop forever (graphs loaded from files that no one here wrote)."""

    __slots__ = ("graph", "source", "run", "filename", "line_nodes")

    def __init__(self, graph, memory, xp, loop_limit=None):
        gen = _Generator(graph, xp, memory, loop_limit)
        self.graph, self.source, self.line_nodes = graph, gen.source, gen.line_nodes
        self.filename = f"<eagerlab.function {graph.name} #{next(_counter)}>"
        namespace = dict(gen.namespace)
        exec(compile(self.source, self.filename, "exec"), namespace)  # noqa: S102 - our own generated source
        self.run = namespace["_graph_fn"]

    def node_at(self, tb):
        """The node whose line of generated code raised (walking the traceback), or None."""
        node = None
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self.filename:
                node = self.line_nodes.get(tb.tb_lineno, node)
            tb = tb.tb_next
        return node


def _name(v):
    return f"v{v.id}"


class LoopLimit:
    """The most loop iterations one run may make, all loops together; called with the loop's number (in program
    order) when a run goes past it, it raises the error `exceeded(loop, limit)` returns."""

    __slots__ = ("limit", "exceeded")

    def __init__(self, limit, exceeded):
        self.limit, self.exceeded = int(limit), exceeded

    def __call__(self, loop):
        raise self.exceeded(loop, self.limit)


class _Generator:
    def __init__(self, graph, xp, plan, loop_limit=None):
        self.graph, self.xp, self.plan, self.loop_limit = graph, xp, plan, loop_limit
        self.namespace = {"_asarray": xp.asarray}
        self.buffers = [self.bind(xp.empty(shape, dtype), "_b") for shape, dtype in plan.buffers]
        self.lines, self.line_nodes = [], {}
        self.copies = _values_to_copy(graph)
        self.loops = 0
        self.emit(0, "def _graph_fn(_args):")
        if loop_limit is not None:
            self.namespace["_loop_limit"] = loop_limit
            self.emit(1, "_loops = 0")
        if graph.inputs:
            self.emit(1, f"{', '.join(_name(v) for v in graph.inputs)}, = _args")
        for node in graph.captures:
            self.emit(1, f"{_name(node.outputs[0])} = {self.bind(node.op)}._data", node)
        self.block(graph.body.nodes, 1)
        outs = [_name(v) for v in graph.outputs]
        self.emit(1, f"return ({', '.join(outs)}{',' if len(outs) == 1 else ''})")
        self.source = "\n".join(self.lines) + "\n"

    def emit(self, depth, text, node=None):
        self.lines.append("    " * depth + text)
        if node is not None:
            self.line_nodes[len(self.lines)] = node

    def bind(self, obj, prefix="_k"):
        name = f"{prefix}{len(self.namespace)}"
        self.namespace[name] = obj
        return name

    def arg(self, x):
        if isinstance(x, Value):
            return _name(x)
        if x is None or isinstance(x, (bool, int, str)) or isinstance(x, float) and math.isfinite(x):
            return repr(x)
        return self.bind(x)

    def targets(self, node):
        names = [_name(v) for v in node.outputs]
        if len(names) == 1 and (node.kind != "prim" or node.op.n_out == 1):
            return names[0]
        return ", ".join(names) + "," if names else "_"  # impl returns a tuple (possibly of one, or none)

    def block(self, nodes, depth):
        if not nodes:
            self.emit(depth, "pass")
        for node in nodes:
            getattr(self, "node_" + node.kind)(node, depth)

    def node_prim(self, node, depth):
        args = ", ".join(self.arg(x) for x in node.inputs)
        into = self.plan.lowerings.get(id(node))
        if into is not None:  # writes into its preallocated buffer
            buffer = self.buffers[self.plan.slots[id(node.outputs[0])]]
            self.emit(depth, f"{self.targets(node)} = {self.bind(into, '_o')}({buffer}, {args})", node)
            return
        fn = self.bind(functools.partial(node.op.impl, self.xp, **node.attrs), "_f")
        call = f"{fn}({args})"
        if len(node.outputs) == 1 and node.outputs[0].shape == () and node.op.n_out == 1:
            call = f"_asarray({call})"  # numpy reductions return scalars; keep every value an array
        self.emit(depth, f"{self.targets(node)} = {call}", node)

    def node_const(self, node, depth):
        self.emit(depth, f"{_name(node.outputs[0])} = {self.bind(node.op)}", node)

    def node_effect(self, node, depth):
        fn = self.bind(node.op, "_e")
        args = [f"{self.arg(x)}.copy()" if isinstance(node.op, StoreGrad) and x in self.copies else self.arg(x)
                for x in node.inputs]
        call = f"{fn}({', '.join(args)})"
        self.emit(depth, f"{self.targets(node)} = {call}" if node.outputs else call, node)

    def node_cond(self, node, depth):
        self.emit(depth, f"if {self.arg(node.inputs[0])}:", node)
        for block in node.blocks:
            self.block(block.nodes, depth + 1)
            self.assign(node.outputs, block.outputs, depth + 1)
            if block is node.blocks[0]:
                self.emit(depth, "else:")

    def node_while(self, node, depth):
        self.assign(node.outputs, node.inputs, depth)
        limit = node.attrs.get("maximum_iterations")
        if limit is not None:
            counter = f"_it{node.outputs[0].id if node.outputs else id(node)}"
            self.emit(depth, f"{counter} = 0")
        self.emit(depth, "while True:", node)
        cond, body = node.blocks
        self.block(cond.nodes, depth + 1)
        self.emit(depth + 1, f"if not {self.arg(cond.outputs[0])}:", node)
        self.emit(depth + 2, "break")
        if limit is not None:
            self.emit(depth + 1, f"if {counter} >= {int(limit)}:")
            self.emit(depth + 2, "break")
            self.emit(depth + 1, f"{counter} += 1")
        if self.loop_limit is not None:
            self.emit(depth + 1, "_loops += 1")
            self.emit(depth + 1, f"if _loops > {self.loop_limit.limit}:")
            self.emit(depth + 2, f"_loop_limit({self.loops})", node)
        self.loops += 1
        self.block(body.nodes, depth + 1)
        self.assign(node.outputs, body.outputs, depth + 1)

    def assign(self, targets, sources, depth):
        if targets:
            self.emit(depth, f"{', '.join(_name(v) for v in targets)}, = "
                             f"{', '.join(self.arg(v) for v in sources)},")


def _values_to_copy(graph):
    """Values a .grad store must copy: ones that alias memory the graph does not own (inputs, captures,
    constants, a gradient read back), or that also escape another way (an output, a second store)."""
    uses = {}
    for v in graph.outputs:
        uses[v] = uses.get(v, 0) + 1
    stores = [n for n in graph.nodes() if n.kind == "effect" and isinstance(n.op, StoreGrad)]
    for n in stores:
        for v in n.inputs:
            uses[v] = uses.get(v, 0) + 1
    copies = set()
    for n in stores:
        for v in n.inputs:
            if uses[v] > 1 or storage_root(v).node.kind in ("input", "capture", "const", "effect"):
                copies.add(v)
    return copies
