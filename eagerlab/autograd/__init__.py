"""Tape autograd: backward, grad, grad modes, custom Functions, gradcheck, anomaly detection."""
from .._tensor import Tensor
from ..errors import AutogradError, ShapeError, fmt_shape
from .engine import queue_callback, run_backward
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .hooks import register_hook, register_post_accumulate_grad_hook, retain_grad
from .interpreter import current, zeros


def _as_tuple(x):
    if x is None:
        return None
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _grad_roots(outputs, grad_outputs, create_graph):
    roots = []
    grad_outputs = _as_tuple(grad_outputs) or (None,) * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad_outputs has {len(grad_outputs)} entries for {len(outputs)} outputs")
    for i, (t, g) in enumerate(zip(outputs, grad_outputs)):
        if not t.requires_grad:
            raise AutogradError(
                f"element {i} of tensors does not require grad and does not have a grad_fn (shape "
                f"{fmt_shape(t.shape)}). Did you compute it under no_grad(), or from tensors without requires_grad?"
            )
        if g is None:
            if t.numel() != 1:
                raise AutogradError(f"grad can be implicitly created only for scalar outputs; got an output of shape "
                                    f"{fmt_shape(t.shape)}. Pass gradient= (a tensor of that shape).")
            # (inside @eagerlab.function the seed is a graph constant)
            g = current().constant(t._device.xp.ones(t._data.shape, t._data.dtype), t._device)
        elif g.shape != t.shape:
            raise ShapeError(f"backward: gradient has shape {fmt_shape(g.shape)} but the output has shape "
                             f"{fmt_shape(t.shape)}")
        elif not create_graph:
            g = g.detach()
        roots.append(g)
    return roots


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaf) into every leaf's .grad (or only into `inputs`' when given)."""
    tensors = _as_tuple(tensors)
    roots = _grad_roots(tensors, grad_tensors, create_graph)
    retain = create_graph if retain_graph is None else retain_graph
    if inputs is not None:
        inputs = _as_tuple(inputs)
        grads = run_backward(tensors, roots, retain, create_graph, inputs=inputs, allow_unused=True)
        for t, g in zip(inputs, grads):
            if g is not None:
                t.grad = (g if create_graph else g.detach()) if t.grad is None else t.grad + g
        return
    run_backward(tensors, roots, retain, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False,
         materialize_grads=False):
    """The gradients of `outputs` with respect to `inputs`, returned (no .grad is touched)."""
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise AutogradError(f"grad: input {i} (shape {fmt_shape(t.shape)}) does not require grad")
    roots = _grad_roots(outputs, grad_outputs, create_graph)
    retain = create_graph if retain_graph is None else retain_graph
    grads = run_backward(outputs, roots, retain, create_graph, inputs=inputs,
                         allow_unused=allow_unused or materialize_grads)
    if materialize_grads:
        grads = [zeros(t.shape, t.dtype, t._device) if g is None else g for g, t in zip(grads, inputs)]
    return tuple(grads)


def _tensor_backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradient of this tensor into the leaves' .grad (see eagerlab.autograd.backward)."""
    backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)


Tensor.backward = _tensor_backward
Tensor.register_hook, Tensor.retain_grad = register_hook, retain_grad
Tensor.register_post_accumulate_grad_hook = register_post_accumulate_grad_hook

from .anomaly import detect_anomaly, set_detect_anomaly  # noqa: E402
from .function import Function, FunctionCtx, once_differentiable  # noqa: E402
from .gradcheck import gradcheck, gradgradcheck  # noqa: E402

__all__ = ["backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "Function", "FunctionCtx", "once_differentiable", "gradcheck", "gradgradcheck", "detect_anomaly",
           "set_detect_anomaly", "queue_callback"]
