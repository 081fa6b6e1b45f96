"""Adagrad (lr_decay, initial_accumulator_value, L2 weight decay, maximize): PyTorch's update and float order."""
from ..backend.parallel import elementwise
from .._tensor import Tensor
from ._update import _check_unsupported, _grad_for_update, _like, _new_step, _operands, _scalar, _scratch, _tick
from .optimizer import Optimizer, _update_step


class Adagrad(Optimizer):
    """Adagrad: per-coordinate step sizes from the running sum of squared gradients."""

    _param_shaped_state = ("sum",)

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        for name, value in (("lr_decay", lr_decay), ("weight_decay", weight_decay),
                            ("initial_accumulator_value", initial_accumulator_value), ("epsilon", eps)):
            if not 0.0 <= value:
                raise ValueError(f"Invalid {name} value: {value}")
        if not 0.0 <= _scalar(lr):
            raise ValueError(f"Invalid learning rate: {lr}")
        _check_unsupported(differentiable)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        # PyTorch creates Adagrad's state up front, so a fresh optimizer's state_dict already holds the sums
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group):
        state = self.state[p]
        state["step"] = _new_step()
        state["sum"] = Tensor._make(p._device.xp.full_like(p._data, group["initial_accumulator_value"]), p._device)
        return state

    step = _update_step

    def _update(self, pool):
        """The update of every parameter with a gradient; `pool`: see _scratch."""
        for group in self.param_groups:
            lr, lr_decay, eps = _scalar(group["lr"]), group["lr_decay"], group["eps"]
            weight_decay, maximize = group["weight_decay"], group["maximize"]
            cache = {}
            for p, pa, g in self._grads(group):
                xp = p._device.xp
                state = self.state[p] or self._init_state(p, group)  # groups added after construction
                step = _tick(state)
                eps_, neg_clr = _operands(cache, pa, step, lambda: (eps, -lr / (1 + (step - 1) * lr_decay)))
                (acc,) = _like(pa, state["sum"]._data)

                def update(pa, g, acc, tmp, std):
                    d = _grad_for_update(xp, g, pa, weight_decay, maximize)
                    tmp = xp.multiply(d, d, out=tmp)
                    acc += tmp
                    std = xp.sqrt(acc, out=std)
                    std += eps_
                    xp.multiply(d, neg_clr, out=tmp)  # addcdiv's order: (value * g) / std
                    tmp /= std
                    pa += tmp

                elementwise(update, pa, g, acc, _scratch(pool, xp, pa, 0), _scratch(pool, xp, pa, 1))
                p._bump()
