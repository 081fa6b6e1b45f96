"""Resetting `.grad` slots: what Module.zero_grad and Optimizer.zero_grad share."""
from .interpreter import current


def zero_grads(params, set_to_none=True):
    """Drop each parameter's gradient (default), or zero it in place with set_to_none=False (detached first, as
    PyTorch's zero_grad does). A tracer records the slots it touches, so a compiled step resets them at run time."""
    interp = current()
    for p in params:
        interp.grad_slot(p, read=not set_to_none)
        g = p.grad
        if g is None:
            continue
        if set_to_none:
            p.grad = None
        else:
            g._node, g.requires_grad = None, False
            g.zero_()
