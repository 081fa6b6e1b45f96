"""The recording API of the autograd layer: wrap an op's output data in Tensors, with a tape Node when a gradient
is needed. Every interpreter ends an op here (eager with arrays, the tracer with graph Values), so tape recording
is written once."""
from .._tensor import Tensor
from .node import Node
from .thread_state import thread_state


def wrap_outputs(prim, args, attrs, out, dev, grad):
    """Tensors for an op's output data, with a tape Node when `grad` (an input requires grad) and grad mode is on
    and the op is differentiable."""
    if grad and thread_state.grad_enabled and prim.vjp is not None:
        return record(prim, args, attrs, out, dev)
    if prim.n_out == 1:
        t = Tensor._make(out, dev)
        if prim.view:
            link_view(t, args[0])
        return t
    outs = tuple(Tensor._make(o, dev) for o in out)
    if prim.view:
        for t in outs:
            link_view(t, args[0])
    return outs


def record(prim, args, attrs, out, dev):
    """Wrap the outputs and record the tape Node of this application, saving what the op declared."""
    edges = []
    shapes = []
    needs = []
    for a in args:
        if isinstance(a, Tensor):
            shapes.append(a._data.shape)
            if a.requires_grad:
                edges.append((a._node, a._out) if a._node is not None else (a, -1))
                needs.append(True)
                continue
        else:
            shapes.append(None)
        edges.append(None)
        needs.append(False)
    node = Node(prim, attrs, tuple(edges), tuple(shapes), prim.n_out or len(out), tuple(needs))
    if prim.n_out == 1:
        t = Tensor._make(out, dev, True)
        t._node = node
        if prim.view:
            link_view(t, args[0])
        outs = (t,)
        result = t
    else:
        outs = []
        for i, o in enumerate(out):
            diff = i not in prim.nondiff_outputs
            t = Tensor._make(o, dev, diff)
            if diff:
                t._node, t._out = node, i
            if prim.view:
                link_view(t, args[0])
            outs.append(t)
        result = tuple(outs)
    save_inputs, save_outputs = prim.save_inputs, prim.save_outputs
    if save_outputs == (0,) and not save_inputs and prim.save_when is None:
        node.save_output(outs[0])
    elif save_inputs or save_outputs:
        n = len(args)  # ops with a variable number of inputs declare the largest range they may save
        if prim.save_when is None:
            node.save([args[i] for i in save_inputs if i < n], [outs[i] for i in save_outputs])
        else:  # only what the gradients of the inputs that need one read (-1: not kept)
            keep_in, keep_out = prim.save_plan(node.needs)
            node.save([args[i] if i >= 0 else None for i in keep_in if i < n],
                      [outs[i] if i >= 0 else None for i in keep_out])
    return result


def link_view(t, src):
    """Make `t` share `src`'s version counter when the backend returned a view of src's memory."""
    base = t._data.base
    if base is not None and (base is src._data or base is src._data.base):
        if src._vc is None:
            src._vc = [0]
        t._vc = src._vc
        t._base = src._base if src._base is not None else src
