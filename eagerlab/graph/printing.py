"""`print(fn.graph)`: one row per node (value, op, inputs, shape, dtype, source line), nested blocks indented."""
import os

from ..errors import fmt_shape
from .ir import Value


def format_graph(graph):
    rows = [("value", "op", "inputs", "shape", "dtype", "source")]
    for v in graph.inputs:
        rows.append((v.name, "input", "", fmt_shape(v.shape), v.dtype.name, ""))
    for n in graph.captures:
        rows.append((_outs(n), "capture", n.op.__class__.__name__, *_meta(n), _where(n)))
    _block(graph.body, rows, 0)
    rows.append(("", "return", ", ".join(_arg(v) for v in graph.outputs), "", "", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [f"graph {graph.name}: {sum(1 for _ in graph.nodes())} nodes, {len(graph.inputs)} inputs, "
             f"{len(graph.captures)} captures"]
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return "\n".join(lines)


def _block(block, rows, depth):
    pad = "  " * depth
    for n in block.nodes:
        op = n.name if n.kind != "effect" else f"{n.op.name} {n.op.describe()}"
        rows.append((pad + _outs(n), pad + op, ", ".join(_arg(x) for x in n.inputs), *_meta(n), _where(n)))
        labels = ("then", "else") if n.kind == "cond" else ("cond", "body")
        for label, b in zip(labels, n.blocks):
            rows.append((pad + "  " + label + ":", "", "", "", "", ""))
            _block(b, rows, depth + 2)
            rows.append((pad + "   ", pad + "  yield", ", ".join(_arg(x) for x in b.outputs), "", "", ""))


def _outs(n):
    return ", ".join(v.name for v in n.outputs) or "-"


def _meta(n):
    if not n.outputs:
        return "", ""
    return " ".join(fmt_shape(v.shape) for v in n.outputs), " ".join(v.dtype.name for v in n.outputs)


def _arg(x):
    if isinstance(x, Value):
        return x.name
    text = repr(x)
    return text if len(text) <= 24 else text[:21] + "..."


def _where(n):
    return f"{os.path.basename(n.where[0])}:{n.where[1]}" if n.where else ""
