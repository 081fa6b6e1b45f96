"""Adadelta (rho, eps, L2 weight decay, maximize): PyTorch's update in the same float order."""
from ..backend.parallel import elementwise
from ._update import (_check_unsupported, _grad_for_update, _like, _new_step, _operands, _scalar, _scratch,
                      _square_average_, _tick, _zeros_state)
from .optimizer import Optimizer, _update_step


class Adadelta(Optimizer):
    """Adadelta: step sizes from running averages of squared gradients and of squared updates."""

    _param_shaped_state = ("square_avg", "acc_delta")

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        if not 0.0 <= _scalar(lr):
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        _check_unsupported(differentiable, capturable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize, capturable=capturable,
                        foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    step = _update_step

    def _update(self, pool):
        """The update of every parameter with a gradient; `pool`: see _scratch."""
        for group in self.param_groups:
            lr, rho, eps = _scalar(group["lr"]), group["rho"], group["eps"]
            weight_decay, maximize = group["weight_decay"], group["maximize"]
            cache = {}
            for p, pa, g in self._grads(group):
                xp, state = p._device.xp, self.state[p]
                if not state:
                    state["step"] = _new_step()
                    state["square_avg"] = _zeros_state(p)
                    state["acc_delta"] = _zeros_state(p)
                _tick(state)
                r, w, eps_, neg_lr = _operands(cache, pa, None, lambda: (rho, 1 - rho, eps, -lr))
                sq, acc = _like(pa, state["square_avg"]._data, state["acc_delta"]._data)

                def update(pa, g, sq, acc, tmp, std, delta):
                    d = _grad_for_update(xp, g, pa, weight_decay, maximize)
                    tmp = _square_average_(xp, sq, d, r, w, out=tmp)
                    std = xp.add(sq, eps_, out=std)
                    xp.sqrt(std, out=std)
                    delta = xp.add(acc, eps_, out=delta)
                    xp.sqrt(delta, out=delta)
                    delta /= std
                    delta *= d
                    _square_average_(xp, acc, delta, r, w, out=tmp)
                    xp.multiply(delta, neg_lr, out=tmp)
                    pa += tmp

                elementwise(update, pa, g, sq, acc, *(_scratch(pool, xp, pa, slot) for slot in range(3)))
                p._bump()
