"""The limits a loaded exported graph runs under, so that a file from a stranger cannot take the host down:

- memory: before anything is compiled or allocated, the size of every value the graph computes (views included: an
  op reading a view the size of the machine's memory takes as long as if it were allocated) and the peak of the
  intermediates it allocates at once (a liveness sweep, nested blocks included) must fit in `max_bytes`; the
  caller's inputs and the file's weights and constants are in memory already and do not count;
- time: every iteration of every while loop counts against `max_loop_iterations` per call (a loop's own
  `maximum_iterations`, recorded by export when the traced code gave one, still ends it early and quietly, as
  eagerlab.while_loop does); past the limit the call stops with a ResourceLimitError instead of hanging.

Both defaults are generous for models (a few GiB, a hundred thousand iterations) and stop a hostile file quickly;
a caller who trusts a file raises them: `load_exported(path, max_bytes=..., max_loop_iterations=...)`.
"""
import os

from ...errors import ResourceLimitError, fmt_shape
from ..ir import Value

GiB = 1 << 30
MAX_BYTES_CAP = 16 * GiB
DEFAULT_MAX_LOOP_ITERATIONS = 100_000  # a trivial hostile loop stops within about a second at this count


def default_max_bytes():
    """16 GiB, or half this machine's physical memory when that is less: a default that fits the host."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return MAX_BYTES_CAP
    return min(MAX_BYTES_CAP, physical // 2) if physical > 0 else MAX_BYTES_CAP


def checked_limit(name, value):
    """`value` if it is a positive int or None (no limit: for files you trust)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        raise ValueError(f"load_exported: {name} must be a positive int, or None for no limit; got {value!r}")
    return value


def check_memory(graph, max_bytes, where):
    """Refuse `graph` (a ResourceLimitError naming the value and the limit) when one of its values or the peak of
    its intermediates is larger than `max_bytes`."""
    if max_bytes is None:
        return
    hint = (f"than load_exported allows (max_bytes={max_bytes:_}); if you trust this file, load it with a larger "
            "max_bytes=")
    for v, node in _values(graph):
        if _nbytes(v) > max_bytes:
            raise ResourceLimitError(f"load_exported: {where}: value %{v.id} ({node.name}, {v.dtype}"
                                     f"{fmt_shape(v.shape)}) "
                                     f"is {_human(_nbytes(v))}, more {hint}")
    peak = _peak(graph.body, set(id(v) for v in graph.outputs))
    if peak > max_bytes:
        raise ResourceLimitError(f"load_exported: {where}: running the graph needs about {_human(peak)} of "
                                 f"intermediates at once, more {hint}")


def loop_limit_error(name):
    """What a call of the loaded graph `name` raises when it goes past its loop limit (see codegen.LoopLimit)."""
    def exceeded(loop, limit):
        return ResourceLimitError(
            f"{name}: while loop {loop} (in program order) went past the limit of {limit:_} loop iterations per "
            "call: its condition may never turn false. If you trust this file, load it with a larger "
            "load_exported(path, max_loop_iterations=...), or None for no limit")

    return exceeded


def _values(graph):
    """(value, the node that makes it) for every value the graph computes (not its inputs, weights and constants:
    the caller's tensors and the file's arrays are in memory already)."""
    for n in graph.nodes():
        if n.kind in ("prim", "cond", "while"):
            for v in n.outputs:
                yield v, n


def _peak(block, live_to_end):
    """The most bytes of the values `block` allocates that are alive at once, with what the nested blocks of the
    node running at that moment allocate (a cond: its larger branch; a while: condition and body together). A
    view keeps the value it was taken from alive; values in `live_to_end` (the block's results) live to its end.
    Conservative: a node's results are counted beside its own nested blocks, and nothing is reused in place."""
    nodes = block.nodes
    root, born, last = {}, {}, {}  # view -> its storage; allocation -> (bytes, position); storage -> last use
    for i, node in enumerate(nodes):
        for v in _reads(node):
            r = root.get(id(v), id(v))
            last[r] = i
        view = node.kind == "prim" and node.op.view and isinstance(node.inputs[0], Value)
        for v in node.outputs:
            if view:
                root[id(v)] = root.get(id(node.inputs[0]), id(node.inputs[0]))
            elif node.kind in ("prim", "cond", "while"):  # inputs, captures and constants are there already
                born[id(v)] = (_nbytes(v), i)
    end = len(nodes)
    for v in block.outputs:
        if isinstance(v, Value):
            last[root.get(id(v), id(v))] = end
    for key in live_to_end:
        last[root.get(key, key)] = end
    delta = [0] * (end + 2)
    for key, (size, first) in born.items():
        delta[first] += size
        delta[max(last.get(key, first), first) + 1] -= size
    peak, alive = 0, 0
    for i, node in enumerate(nodes):
        alive += delta[i]
        nested = [_peak(b, ()) for b in node.blocks]
        inner = (max(nested) if node.kind == "cond" else sum(nested)) if nested else 0
        peak = max(peak, alive + inner)
    return peak


def _reads(node):
    """Values `node` reads, those its nested blocks read (operands and results) included."""
    out = [x for x in node.inputs if isinstance(x, Value)]
    for b in node.blocks:
        for n in b.walk():
            out += [x for x in n.inputs if isinstance(x, Value)]
            for inner in n.blocks:
                out += [x for x in inner.outputs if isinstance(x, Value)]
        out += [x for x in b.outputs if isinstance(x, Value)]
    return out


def _nbytes(v):
    return v.size * v.dtype.itemsize


def _human(n):
    for unit, size in (("TiB", 1 << 40), ("GiB", GiB), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"
