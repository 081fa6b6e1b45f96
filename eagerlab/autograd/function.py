"""Custom differentiable ops: subclass Function with static forward(ctx, ...) and backward(ctx, *grads)."""
import functools

from ..errors import AutogradError, ShapeError, fmt_shape
from .grad_mode import no_grad
from .interpreter import zeros
from .node import Node
from .thread_state import thread_state


class FunctionCtx:
    """The `ctx` of a custom Function: save_for_backward / saved_tensors, needs_input_grad, free attributes."""

    def __init__(self):
        self._node = None
        self._to_save = ()
        self.needs_input_grad = ()
        self._non_differentiable = set()
        self.materialize_grads = True

    def save_for_backward(self, *tensors):
        self._to_save = tensors

    @property
    def saved_tensors(self):
        if self._node is None:
            return tuple(self._to_save)
        return tuple(self._node.saved)

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable.update(id(t) for t in tensors)

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)


class _FunctionOp:
    """What a tape Node needs from its op, for a user's Function subclass."""

    def __init__(self, cls):
        self.name = cls.__name__
        self.backward_name = cls.__name__ + "Backward"
        self.cls = cls

    def vjp(self, node, *grads):
        ctx = node.attrs["ctx"]
        if ctx.materialize_grads:
            grads = tuple(zeros(s, d, dev) if g is None else g for g, (s, d, dev) in zip(grads, node.attrs["out_meta"]))
        out = self.cls.backward(ctx, *grads)
        out = out if isinstance(out, tuple) else (out,)
        n_args = len(node.edges)
        if len(out) < n_args or any(g is not None for g in out[n_args:]):
            raise AutogradError(f"function {self.backward_name} returned an incorrect number of gradients "
                                f"(expected {n_args}, got {len(out)})")
        return tuple(out[:n_args])

    def reduce_grad(self, grad, shape):
        """A gradient of the broadcast shape is summed back to its input's, as PyTorch does for Functions."""
        try:
            return grad.sum_to_size(shape)
        except ShapeError:
            raise ShapeError(f"function {self.backward_name} returned an invalid gradient: got shape "
                             f"{fmt_shape(grad.shape)} but expected a shape compatible with "
                             f"{fmt_shape(shape)}") from None


class Function:
    """Base class of custom autograd ops; call them with `MyFn.apply(*args)`."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise AutogradError("a Function subclass must implement the static method forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise AutogradError("a Function subclass must implement the static method backward(ctx, *grads)")

    @classmethod
    def apply(cls, *args, **kwargs):
        from .._tensor import Tensor

        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            out = cls.forward(ctx, *args, **kwargs)
        record = thread_state.grad_enabled and any(ctx.needs_input_grad)
        outs = out if isinstance(out, tuple) else (out,)
        if not record:
            return out
        op = cls.__dict__.get("_eagerlab_op") or _FunctionOp(cls)
        cls._eagerlab_op = op
        edges = tuple(((a._node, a._out) if a._node is not None else (a, -1)) if need else None
                      for a, need in zip(args, ctx.needs_input_grad))
        shapes = tuple(a.shape if isinstance(a, Tensor) else None for a in args)
        node = Node(op, {"ctx": ctx, "out_meta": [(o.shape, o.dtype, o.device) for o in outs]}, edges, shapes,
                    len(outs))
        wrapped = []
        for i, o in enumerate(outs):
            if not isinstance(o, Tensor):
                raise AutogradError(f"{cls.__name__}.forward must return Tensors, got {type(o).__name__}")
            if any(o is a for a in args):  # an input returned as is: give autograd its own tensor
                o = o.detach()
            if id(o) not in ctx._non_differentiable and o.is_floating_point():
                o.requires_grad, o._node, o._out = True, node, i
            wrapped.append(o)
        node.save(ctx._to_save, [])
        ctx._node = node
        return tuple(wrapped) if isinstance(out, tuple) else wrapped[0]


def once_differentiable(backward):
    """Decorator for a Function.backward that is not itself differentiable: it runs without recording."""

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with no_grad():
            return backward(ctx, *grads)

    return wrapper
