"""The traced implementations of cond and while_loop (control_flow.py holds the public functions and their eager
semantics, and hands a call made while tracing to these): both branches (the condition and the body) are traced
into nested Blocks of one operation, so the graph chooses at run time. Python numbers meeting tensors across
branches or iterations become tensors, as in TensorFlow."""
import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import is_grad_enabled
from ..backend import CPU, from_numpy_dtype
from ..backend.dtypes import is_floating_np
from ..errors import DTypeError, ShapeError, fmt_shape
from ..autograd.operands import Aval
from .ir import Block, Operation
from .pytree import flatten, unflatten
from .trace import no_grad_node, user_frame

_NUMBER = (bool, int, float)


def traced_cond(tracer, pred, true_fn, false_fn):
    if pred.numel() != 1:
        raise ShapeError(f"cond: the predicate must be a single value (a 0-d bool tensor), got a tensor of shape "
                         f"{fmt_shape(pred.shape)}; reduce it first, e.g. with .any() or .all()")
    where = user_frame()
    pv = tracer.value_of(pred)
    true_block, t_out = tracer.trace_block(true_fn)
    false_block, f_out = tracer.trace_block(false_fn)
    t_leaves, t_tree = flatten(t_out)
    f_leaves, f_tree = flatten(f_out)
    if t_tree != f_tree:
        raise TypeError(f"cond: true_fn and false_fn must return the same structure, got {t_tree} and {f_tree}")
    merged, t_vals, f_vals, grad = [], [], [], False
    for i, (a, b) in enumerate(zip(t_leaves, f_leaves)):
        if not isinstance(a, Tensor) and not isinstance(b, Tensor) and type(a) is type(b) and a == b:
            merged.append(a)  # the same Python value either way: stays a Python value
            continue
        a, b = _as_tensor(tracer, true_block, a, b, f"output {i} of cond"), \
            _as_tensor(tracer, false_block, b, a, f"output {i} of cond")
        _check_same_kind("cond", f"output {i}", a, b, "true_fn", "false_fn")
        t_vals.append(tracer.value_of(a))
        f_vals.append(tracer.value_of(b))
        merged.append(None)
        grad = grad or a.requires_grad or b.requires_grad
    node = Operation("cond", None, [pv], blocks=(Block(true_block.nodes, t_vals), Block(false_block.nodes, f_vals)),
                where=where)
    outs = _outputs(tracer, node, t_vals, "cond", grad)
    it = iter(outs)
    return unflatten(t_tree, [next(it) if m is None else m for m in merged])


def traced_while(tracer, cond_fn, body_fn, loop_vars, single, maximum_iterations):
    where = user_frame()
    leaves, tree = flatten(loop_vars)
    init = [tracer.constant(np.asarray(x, dtype=_number_dtype(x)), CPU) if isinstance(x, _NUMBER) else x
            for x in leaves]
    carried = [i for i, x in enumerate(init) if isinstance(x, Tensor)]
    node = Operation("while", None, [tracer.value_of(init[i]) for i in carried],
                attrs={"maximum_iterations": maximum_iterations}, where=where)
    params = tracer.new_values(node, [Aval(node.inputs[k].shape, from_numpy_dtype(node.inputs[k].dtype),
                                           init[i]._device) for k, i in enumerate(carried)])

    def call(fn):
        now = list(init)
        for k, i in enumerate(carried):
            now[i] = Tensor._make(params[k], init[i]._device)
        values = unflatten(tree, now)
        return fn(values) if single else fn(*values)

    cond_block, c = tracer.trace_block(lambda: call(cond_fn), params)
    if not isinstance(c, Tensor):
        c = tracer.constant(np.asarray(bool(c)), CPU)
    elif c.numel() != 1:
        raise ShapeError(f"while_loop: cond_fn must return a single value (a 0-d bool tensor), got shape "
                         f"{fmt_shape(c.shape)}")
    cond_val = tracer.value_of(c)
    body_block, out = tracer.trace_block(lambda: call(body_fn), params)
    out = (out,) if single or not isinstance(out, (tuple, list)) else tuple(out)
    out_leaves, out_tree = flatten(out if not single else out[0])
    if out_tree != tree:
        raise TypeError(f"while_loop: body_fn must return the loop variables' structure {tree}, got {out_tree}")
    body_vals, grad = [], False
    for i, (before, after) in enumerate(zip(init, out_leaves)):
        if not isinstance(before, Tensor):
            if not (type(after) is type(before) and after == before):
                raise TypeError(f"while_loop: loop variable {i} ({before!r}) changed to {after!r}; a value that "
                                "changes in a tensor-dependent loop must be a tensor")
            continue
        after = _as_tensor(tracer, body_block, after, before, f"loop variable {i}")
        _check_same_kind("while_loop", f"loop variable {i}", before, after, "before the loop", "after one iteration")
        body_vals.append(tracer.value_of(after))
        grad = grad or after.requires_grad or before.requires_grad
    node.blocks = (Block(cond_block.nodes, (cond_val,)), Block(body_block.nodes, body_vals))
    outs = _outputs(tracer, node, params, "while_loop", grad, emit_only=True)
    it = iter(outs)
    return unflatten(tree, [next(it) if isinstance(x, Tensor) else x for x in init])


def _number_dtype(x):
    from ..backend import get_default_dtype

    return np.bool_ if isinstance(x, bool) else np.int64 if isinstance(x, int) else get_default_dtype().np


def _as_tensor(tracer, block, x, other, what):
    """x as a tensor, a constant appended to `block` when it is a Python number (dtype of `other` if a tensor)."""
    if isinstance(x, Tensor):
        return x
    if not isinstance(x, _NUMBER):
        raise TypeError(f"{what}: {type(x).__name__} {x!r} cannot meet a tensor across a tensor-dependent branch "
                        "or loop; use tensors or equal Python values")
    dtype = other._data.dtype if isinstance(other, Tensor) else _number_dtype(x)
    device = other._device if isinstance(other, Tensor) else CPU
    node = Operation("const", np.asarray(x, dtype=dtype), where=user_frame())
    (v,) = tracer.new_values(node, [Aval((), from_numpy_dtype(np.dtype(dtype)), device)])
    block.nodes.append(node)
    return Tensor._make(v, device)


def _check_same_kind(op, what, a, b, a_name, b_name):
    if a.dtype is not b.dtype:
        raise DTypeError(f"{op}: {what} has dtype {a.dtype.name} {a_name} but {b.dtype.name} {b_name}; cast it so "
                         "both agree")
    if tuple(a.shape) != tuple(b.shape):
        raise ShapeError(f"{op}: {what} has shape {fmt_shape(a.shape)} {a_name} but {fmt_shape(b.shape)} "
                         f"{b_name}; it must keep one shape")
    if a._device is not b._device:
        raise ShapeError(f"{op}: {what} is on {a.device} {a_name} but on {b.device} {b_name}")


def _outputs(tracer, node, like, kind, grad, emit_only=False):
    if not emit_only:
        tracer.new_values(node, [Aval(v.shape, from_numpy_dtype(v.dtype), v.device) for v in like])
    tracer.emit(node)
    tape = no_grad_node(kind, len(node.outputs)) if grad and is_grad_enabled() else None
    outs = []
    for i, v in enumerate(node.outputs):
        t = Tensor._make(v, v.device, tape is not None and is_floating_np(v.dtype))
        if t.requires_grad:
            t._node, t._out = tape, i
        outs.append(t)
    return outs
