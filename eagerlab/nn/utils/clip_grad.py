"""Gradient clipping, in place on .grad (vectorised: one norm per gradient, one scale per gradient)."""
import math

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ...errors import AutogradError


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale all gradients together so that their total `norm_type`-norm is at most max_norm; returns the total
    norm (before clipping) as a 0-d tensor."""
    from ...ops.creation import tensor
    from ...ops.join import stack

    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return tensor(0.0)
    with no_grad():
        norms = [g.detach().norm(norm_type) for g in grads]
        if len({g.device for g in grads}) > 1:
            norms = [n.to(grads[0].device) for n in norms]
        total = stack(norms).amax() if norm_type == math.inf else stack(norms).norm(norm_type)
        if error_if_nonfinite and not bool(total.isfinite()):
            raise AutogradError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
                                f"non-finite ({total.item()}), so it cannot be clipped. Pass error_if_nonfinite=False "
                                "to clip anyway (the gradients become nan).")
        scale = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale.to(g.dtype))
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.clamp_(-clip_value, clip_value)
