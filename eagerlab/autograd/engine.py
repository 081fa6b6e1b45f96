"""The backward engine: walk nodes in reverse topological order, run each op's vjp, accumulate gradients."""
import os

from ..errors import AutogradError, ShapeError, fmt_shape
from .anomaly import AnomalyMode
from .interpreter import current, installed
from .node import Node
from .thread_state import thread_state

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _toposort(roots):
    """Nodes reachable from `roots` with, for each, how many edges point at it (its dependency count); and for
    each leaf with a post-accumulate hook, how many edges point at it (its hook runs after the last one)."""
    deps = dict.fromkeys(roots, 0)
    leaf_edges = {}
    stack = list(deps)
    while stack:
        for e in stack.pop().edges:
            if e is not None:
                nxt = e[0]
                if type(nxt) is Node:
                    if nxt in deps:
                        deps[nxt] += 1
                    else:
                        deps[nxt] = 1
                        stack.append(nxt)
                elif nxt._hooks and any(type(h) is PostAccumulateHook for h in nxt._hooks):
                    leaf_edges.setdefault(id(nxt), [nxt, 0, False])[1] += 1
    return deps, leaf_edges


class PostAccumulateHook:
    """A hook(leaf) run once a backward has accumulated all of its gradient into leaf.grad
    (Tensor.register_post_accumulate_grad_hook); kept in the leaf's hook list beside the grad hooks."""

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, grad):  # (as a grad hook: nothing to change)
        return None


def current_backward():
    """A token for the backward now running on this thread (None outside one): code called from hooks tells one
    backward from the next by it."""
    return thread_state.backward_callbacks


def queue_callback(fn):
    """Run fn() when the backward now running has finished (after every gradient is accumulated), as PyTorch's
    `Variable._execution_engine.queue_callback`: DistributedDataParallel waits for its all-reduces there."""
    queue = thread_state.backward_callbacks
    if queue is None:
        raise AutogradError("queue_callback: no backward is running on this thread")
    queue.append(fn)


def _check_nan(node, grads):
    for i, g in enumerate(grads):
        if g is not None and g.dtype.is_floating_point and bool(g._device.xp.isnan(g._data).any()):
            where = ""
            if node.trace:
                frame = next((f for f in reversed(node.trace) if not f.filename.startswith(_PKG)), node.trace[-1])
                where = f"\nThe forward op was called at {frame.filename}:{frame.lineno}: {frame.line}"
            raise AutogradError(f"Function '{node.name()}' returned nan values in its {i}th output.{where}")


def run_backward(roots, grad_roots, retain_graph=False, create_graph=False, inputs=None, allow_unused=False):
    """Backpropagate from `roots` (output tensors) seeded with `grad_roots`.

    With `inputs` None, gradients accumulate into leaves' `.grad` (Tensor.backward); otherwise the gradients of
    `inputs` are returned and no `.grad` is touched (autograd.grad).
    """
    prev_mode, prev_queue = thread_state.grad_enabled, thread_state.backward_callbacks
    thread_state.grad_enabled = bool(create_graph)
    queue = thread_state.backward_callbacks = []
    try:
        with installed(current().unwrapped()):  # backward ops run in the forward's dtypes, never autocast
            result = _run(roots, grad_roots, retain_graph, create_graph, inputs, allow_unused)
            while queue:  # (a callback may queue another)
                queue.pop(0)()
        return result
    finally:
        thread_state.grad_enabled, thread_state.backward_callbacks = prev_mode, prev_queue


def _run(roots, grad_roots, retain_graph, create_graph, inputs, allow_unused):
    buffers = {}  # node -> [grad per output]
    leaf_grads = {}  # id(leaf) -> grad, when capturing for autograd.grad
    shared = set()  # ids of grad tensors held in more than one place (must be copied before being stored)
    want = None
    leaf_edges = {}  # id(leaf with a post-accumulate hook) -> [leaf, edges not yet delivered, any delivered]
    interp = current()
    if inputs is not None:
        want = {}
        for i, t in enumerate(inputs):
            want[id(t) if t._node is None else (id(t._node), t._out)] = i
        captured = [None] * len(inputs)

    def deliver_leaf(leaf, g):
        if leaf._hooks:
            for hook in leaf._hooks:
                out = hook(g)
                if out is not None:
                    g = out
            if want is None and id(leaf) in leaf_edges:
                _accumulate(leaf, g)
                entry = leaf_edges[id(leaf)]
                entry[1], entry[2] = entry[1] - 1, True
                if entry[1] <= 0:
                    del leaf_edges[id(leaf)]
                    _run_post_accumulate_hooks(leaf)
                return
        if want is not None:
            key = id(leaf)
            if key in want:
                prev = leaf_grads.get(key)
                leaf_grads[key] = g if prev is None else prev + g
            return
        _accumulate(leaf, g)

    def _accumulate(leaf, g):
        interp.grad_slot(leaf, read=True)  # (a compiled step: the .grad slot becomes a recorded read and store)
        if g._data.shape != leaf._data.shape:
            raise ShapeError(f"backward: gradient of shape {fmt_shape(g.shape)} for a leaf of shape "
                             f"{fmt_shape(leaf.shape)}")
        if leaf.grad is None:
            # A grad still held elsewhere (the caller's gradient, another leaf's, a view of one) is copied so a
            # later in-place accumulation or zero_() on one .grad cannot change another.
            if id(g) in shared or g._base is not None:
                g = g.detach().clone() if not create_graph else g.clone()
            leaf.grad = g if create_graph or not g.requires_grad else g.detach()
        elif create_graph or leaf.grad.requires_grad:
            leaf.grad = leaf.grad + g
        else:
            leaf.grad = interp.accumulate_grad(leaf.grad, g)

    root_nodes = []
    for t, g in zip(roots, grad_roots):
        shared.add(id(g))
        if t._node is None:
            deliver_leaf(t, g)
            continue
        root_nodes.append(t._node)
        buf = buffers.setdefault(t._node, [None] * t._node.n_out)
        buf[t._out] = g if buf[t._out] is None else buf[t._out] + g

    deps, edges_to_leaves = _toposort(root_nodes)
    leaf_edges.update(edges_to_leaves)
    if want is None:
        for t in roots:  # a leaf given as a root got its whole gradient above
            if t._node is None and t._hooks and id(t) not in leaf_edges:
                _run_post_accumulate_hooks(t)
    ready = [n for n in deps if deps[n] == 0]
    while ready:
        node = ready.pop()
        grads = buffers.pop(node)
        if all(g is None for g in grads):  # reached only by edges that brought no gradient: pass none on
            vjp_out = (None,) * len(node.edges)
        else:
            if node.pre_hooks:
                _run_pre_hooks(node, grads)
            if want is not None:
                for k, g in enumerate(grads):
                    i = want.get((id(node), k))
                    if i is not None:
                        captured[i] = g
            vjp_out = _apply_vjp(node, grads)
        if not retain_graph:
            node.release()
        for e, g, shape in zip(node.edges, vjp_out, node.shapes):
            if e is None:
                continue
            if g is None:  # no gradient along this edge (a vjp's None): its node still has one edge less to wait
                target = e[0]  # for, else the gradients its other edges bring would never be passed on
                if type(target) is Node:
                    deps[target] -= 1
                    if deps[target] == 0:
                        buffers.setdefault(target, [None] * target.n_out)
                        ready.append(target)
                continue
            if g._data.shape != shape:
                g = node.prim.reduce_grad(g, shape)
            else:
                for h in grads:
                    if g is h:  # passed through unchanged (add, same-shape reshape): still held upstream
                        shared.add(id(g))
            target, k = e
            if type(target) is Node:
                buf = buffers.get(target)
                if buf is None:
                    buf = buffers[target] = [None] * target.n_out
                buf[k] = g if buf[k] is None else buf[k] + g
                deps[target] -= 1
                if deps[target] == 0:
                    ready.append(target)
            else:
                deliver_leaf(target, g)
    if want is None:
        for leaf, _, delivered in list(leaf_edges.values()):  # edges that brought no gradient (None)
            if delivered:
                _run_post_accumulate_hooks(leaf)
        return None
    for key, i in want.items():
        if type(key) is int and key in leaf_grads:
            captured[i] = leaf_grads[key]
    for i, g in enumerate(captured):
        if g is None and not allow_unused:
            raise AutogradError(
                f"autograd.grad: input {i} (shape {fmt_shape(inputs[i].shape)}) was not used in the graph of the "
                "outputs (or does not require grad). Pass allow_unused=True if this is expected."
            )
    return captured


def _run_post_accumulate_hooks(leaf):
    for hook in list(leaf._hooks):
        if type(hook) is PostAccumulateHook:
            hook.fn(leaf)


def _run_pre_hooks(node, grads):
    for k, hooks in node.pre_hooks.items():
        for hook in hooks:
            if grads[k] is not None:
                out = hook(grads[k])
                if out is not None:
                    grads[k] = out


def _apply_vjp(node, grads):
    if node.n_out == 1:
        g = grads[0]
        if g is None:
            return (None,) * len(node.edges)
        out = node.prim.vjp(node, g)
    else:
        out = node.prim.vjp(node, *grads)
    if type(out) is not tuple:
        out = (out,)
    if node.hooks:
        for hook in node.hooks:
            res = hook(out, tuple(grads))
            if res is not None:
                out = tuple(res)
    if AnomalyMode.enabled or node.trace is not None:
        _check_nan(node, out)
    return out
