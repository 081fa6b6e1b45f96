"""Algebraic simplification: ops that give back their operand unchanged are dropped (x * 1, x / 1, x - 0,
reshape/expand to the same shape, cast to the same dtype, permute by the identity, permute of a permute, neg of
a neg). Each rule fires only where the result is exactly the operand: same shape (no broadcast widening), same
dtype, same values. x + 0 is kept for floats: -0.0 + 0 is +0.0. Arithmetic on memory owned outside the graph
(an argument, a captured tensor, a gradient read) is kept: eagerly `x * 1` is a new tensor, and an alias would
change when the caller mutates the result or an effect writes into the tensor."""
from ..ir import Value, storage_root
from .rewrite import Rewriter


def simplify(graph):
    rw = Rewriter()
    _block(graph.body, rw)
    rw.finish(graph)
    return graph


def _block(block, rw):
    for node in block.nodes:
        rw.rewrite_inputs(node)
        for b in node.blocks:
            _block(b, rw)
            rw.rewrite_block_outputs(b)
        rule = _RULES.get(node.op.name) if node.kind == "prim" and len(node.outputs) == 1 else None
        if rule is None:
            continue
        new = rule(node, *node.inputs)
        if isinstance(new, Value) and node.op.name in _ARITHMETIC and _outside(new):
            continue
        if isinstance(new, Value) and new.shape == node.outputs[0].shape and new.dtype == node.outputs[0].dtype:
            rw.replace(node.outputs[0], new)
        elif isinstance(new, tuple):  # (input, new dims): permute of a permute becomes one permute
            node.inputs, node.attrs = (new[0],), {**node.attrs, "dims": new[1]}
    rw.drop_replaced(block)


def _outside(v):
    root = storage_root(v).node
    return root is not None and root.kind in ("input", "capture", "effect")


def _is_scalar(x, value):
    """x is the Python number `value` (bool excluded: True * x promotes nothing but reads oddly)."""
    return type(x) in (int, float) and x == value


def _identity_operand(value, commutes):
    def rule(node, a, b):
        if isinstance(a, Value) and _is_scalar(b, value):
            return a
        if commutes and isinstance(b, Value) and _is_scalar(a, value):
            return b
        return None

    return rule


def _add(node, a, b):
    if node.outputs[0].dtype.kind in "iub":  # exact for integers; for floats -0.0 + 0 = +0.0
        return _identity_operand(0, True)(node, a, b)
    return None


def _same_shape(node, x, *_):
    return x if isinstance(x, Value) and x.shape == node.outputs[0].shape else None


def _cast(node, x, *_):
    return x if isinstance(x, Value) and x.dtype == node.outputs[0].dtype else None


def _neg(node, x):
    inner = x.node if isinstance(x, Value) else None
    return inner.inputs[0] if inner is not None and inner.kind == "prim" and inner.op.name == "neg" else None


def _permute(node, x):
    dims = tuple(node.attrs["dims"])
    if dims == tuple(range(len(dims))):
        return x
    inner = x.node
    if inner.kind == "prim" and inner.op.name == "permute":
        first = tuple(inner.attrs["dims"])
        combined = tuple(first[d] for d in dims)
        return inner.inputs[0] if combined == tuple(range(len(dims))) else (inner.inputs[0], combined)
    return None


_ARITHMETIC = ("mul", "div", "sub", "add", "neg")  # rules whose op makes new memory eagerly (the rest are views)
_RULES = {
    "mul": _identity_operand(1, True), "div": _identity_operand(1, False), "sub": _identity_operand(0, False),
    "add": _add, "reshape": _same_shape, "expand": _same_shape, "cast": _cast, "neg": _neg, "permute": _permute,
}
