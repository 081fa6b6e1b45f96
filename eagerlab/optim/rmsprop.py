"""RMSprop (centered, momentum, L2 weight decay, maximize): PyTorch's update in the same float order."""
from ..backend.parallel import elementwise
from ._update import (_check_unsupported, _grad_for_update, _lerp_, _lerp_coeff, _like, _new_step, _operands, _scalar,
                      _scratch, _square_average_, _tick, _zeros_state)
from .optimizer import Optimizer, _update_step


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root mean square of recent gradients."""

    _param_shaped_state = ("square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        for name, value in (("learning rate", _scalar(lr)), ("epsilon", eps), ("momentum", momentum),
                            ("weight_decay", weight_decay), ("alpha", alpha)):
            if not 0.0 <= value:
                raise ValueError(f"Invalid {name} value: {value}" if name != "learning rate"
                                 else f"Invalid learning rate: {value}")
        _check_unsupported(differentiable, capturable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered, weight_decay=weight_decay,
                        capturable=capturable, foreach=foreach, maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    step = _update_step

    def _update(self, pool):
        """The update of every parameter with a gradient; `pool`: see _scratch."""
        for group in self.param_groups:
            lr, alpha, eps, momentum = _scalar(group["lr"]), group["alpha"], group["eps"], group["momentum"]
            centered, weight_decay, maximize = group["centered"], group["weight_decay"], group["maximize"]
            cache = {}
            for p, pa, g in self._grads(group):
                xp, state = p._device.xp, self.state[p]
                if not state:
                    state["step"] = _new_step()
                    state["square_avg"] = _zeros_state(p)
                    if momentum > 0:
                        state["momentum_buffer"] = _zeros_state(p)
                    if centered:
                        state["grad_avg"] = _zeros_state(p)
                _tick(state)
                a, w, wg, eps_, mom, neg_lr = _operands(cache, pa, None, lambda: (
                    alpha, 1 - alpha, _lerp_coeff(1 - alpha, pa.dtype), eps, momentum, -lr))
                (sq,) = _like(pa, state["square_avg"]._data)
                ga = _like(pa, state["grad_avg"]._data)[0] if centered else None
                buf = _like(pa, state["momentum_buffer"]._data)[0] if momentum > 0 else None

                def update(pa, g, sq, ga, buf, tmp, avg):
                    d = _grad_for_update(xp, g, pa, weight_decay, maximize)
                    tmp = _square_average_(xp, sq, d, a, w, out=tmp)
                    if ga is not None:
                        _lerp_(xp, ga, d, 1 - alpha, wg, out=tmp)  # tmp is free: sq holds its g*g now
                        xp.negative(ga, out=tmp)
                        tmp *= ga
                        avg = xp.add(sq, tmp, out=avg)
                        xp.sqrt(avg, out=avg)
                    else:
                        avg = xp.sqrt(sq, out=avg)
                    avg += eps_
                    if buf is not None:
                        xp.divide(d, avg, out=tmp)
                        buf *= mom
                        buf += tmp
                        xp.multiply(buf, neg_lr, out=tmp)
                    else:
                        xp.multiply(d, neg_lr, out=tmp)  # addcdiv's order: (value * g) / avg
                        tmp /= avg
                    pa += tmp

                elementwise(update, pa, g, sq, ga, buf, _scratch(pool, xp, pa, 0), _scratch(pool, xp, pa, 1))
                p._bump()
