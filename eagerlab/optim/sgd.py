"""SGD with momentum, dampening, Nesterov momentum, L2 weight decay and maximize (PyTorch's update)."""
from ..backend.parallel import elementwise
from .._tensor import Tensor
from ._update import _check_unsupported, _grad_for_update, _like, _operands, _scalar, _scratch
from .optimizer import Optimizer, _update_step


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum)."""

    _param_shaped_state = ("momentum_buffer",)

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        if _scalar(lr) < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        _check_unsupported(differentiable)
        # foreach/fused are kept for PyTorch's group layout: one vectorised update serves every setting
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                        maximize=maximize, foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    step = _update_step

    def _update(self, pool):
        """The update of every parameter with a gradient; `pool`: see _scratch."""
        for group in self.param_groups:
            lr, momentum, dampening = _scalar(group["lr"]), group["momentum"], group["dampening"]
            weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
            cache = {}
            for p, pa, g in self._grads(group):
                xp = p._device.xp
                mom, damp, neg_lr = _operands(cache, pa, None, lambda: (momentum, 1 - dampening, -lr))
                buf, fresh = None, False
                if momentum != 0:
                    state = self.state[p]
                    if state.get("momentum_buffer") is None:  # the first step's buffer is the gradient itself
                        state["momentum_buffer"] = Tensor._make(xp.empty_like(p._data), p._device)
                        fresh = True
                    (buf,) = _like(pa, state["momentum_buffer"]._data)

                def update(pa, g, buf, tmp, change):
                    d = _grad_for_update(xp, g, pa, weight_decay, maximize)
                    if buf is not None:
                        if fresh:
                            xp.copyto(buf, d)
                        else:
                            buf *= mom
                            buf += d if dampening == 0 else xp.multiply(d, damp)
                        if nesterov:
                            tmp = xp.multiply(buf, mom, out=tmp)
                            d = xp.add(tmp, d, out=tmp)
                        else:
                            d = buf
                    pa += xp.multiply(d, neg_lr, out=change)

                elementwise(update, pa, g, buf, _scratch(pool, xp, pa, 0), _scratch(pool, xp, pa, 1))
                p._bump()
