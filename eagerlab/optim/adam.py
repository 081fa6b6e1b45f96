"""Adam and AdamW (decoupled weight decay), with amsgrad and maximize: PyTorch's update in the same float order."""
from ..backend.parallel import elementwise
from ._update import (_check_unsupported, _grad_for_update, _lerp_, _lerp_coeff, _like, _new_step, _operands, _scalar,
                      _scratch, _square_average_, _tick, _zeros_state)
from .optimizer import Optimizer, _update_step


class Adam(Optimizer):
    """Adam; `decoupled_weight_decay=True` makes it AdamW."""

    _param_shaped_state = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        if not 0.0 <= _scalar(lr):
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        betas = tuple(_scalar(b) for b in betas)
        for i, b in enumerate(betas):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {b}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        _check_unsupported(differentiable, capturable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    step = _update_step

    def _update(self, pool):
        """The update of every parameter with a gradient; `pool`: see _scratch."""
        for group in self.param_groups:
            lr, (beta1, beta2) = _scalar(group["lr"]), group["betas"]
            eps, weight_decay, amsgrad = group["eps"], group["weight_decay"], group["amsgrad"]
            decoupled, maximize = group["decoupled_weight_decay"], group["maximize"]
            cache = {}
            for p, pa, g in self._grads(group):
                xp, state = p._device.xp, self.state[p]
                if not state:
                    state["step"] = _new_step()
                    keys = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if amsgrad else ("exp_avg", "exp_avg_sq")
                    for key in keys:
                        state[key] = _zeros_state(p)
                step = _tick(state)
                # bias corrections in Python floats, as PyTorch's single-tensor path (its CPU default) does
                w1, b2, w2, bc2_sqrt, eps_, neg_step_size = _operands(cache, pa, step, lambda: (
                    _lerp_coeff(1 - beta1, pa.dtype), beta2, 1 - beta2, (1 - beta2 ** step) ** 0.5, eps,
                    -lr / (1 - beta1 ** step)))
                m, v = _like(pa, state["exp_avg"]._data, state["exp_avg_sq"]._data)
                v_max = _like(pa, state["max_exp_avg_sq"]._data)[0] if amsgrad else None

                def update(pa, g, m, v, v_max, tmp, denom):
                    if weight_decay != 0 and decoupled:
                        pa *= 1 - lr * weight_decay
                    d = _grad_for_update(xp, g, pa, 0 if decoupled else weight_decay, maximize)
                    tmp = _lerp_(xp, m, d, 1 - beta1, w1, tmp)
                    _square_average_(xp, v, d, b2, w2, out=tmp)
                    if v_max is not None:
                        v = xp.maximum(v_max, v, out=v_max)
                    denom = xp.sqrt(v, out=denom)
                    denom /= bc2_sqrt
                    denom += eps_
                    xp.multiply(m, neg_step_size, out=tmp)  # addcdiv's order: (value * m) / denom
                    tmp /= denom
                    pa += tmp

                elementwise(update, pa, g, m, v, v_max, _scratch(pool, xp, pa, 0), _scratch(pool, xp, pa, 1))
                p._bump()


class AdamW(Adam):
    """Adam with decoupled weight decay (weight_decay defaults to 1e-2)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
