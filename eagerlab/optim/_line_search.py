"""The strong-Wolfe line search LBFGS uses (Nocedal & Wright, Numerical Optimization, algorithms 3.5 and 3.6), with
PyTorch's bracketing, zoom and safeguards, so LBFGS takes PyTorch's iterates.

Everything here works on flat backend arrays (numpy or cupy) and scalars of their dtype: `evaluate(t)` returns
(loss as a float, flat gradient array) at x + t * d.
"""


def cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2, clipped to `bounds` (default:
    between x1 and x2); the bounds' midpoint when the cubic has no minimum."""
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square < 0:
        return (lo + hi) / 2.0
    d2 = d2_square ** 0.5
    if x1 <= x2:
        at = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        at = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(at, lo), hi)


class _Point:
    """A step length t with the loss, flat gradient and directional derivative there."""

    __slots__ = ("t", "f", "g", "gtd")

    def __init__(self, t, f, g, gtd):
        self.t, self.f, self.g, self.gtd = t, f, g, gtd


def strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step length t along d satisfying the strong Wolfe conditions (or the best found within max_ls
    evaluations). f, g, gtd: loss, flat gradient and g . d at t = 0. Returns (loss, gradient, t, evaluations)."""
    start = prev = _Point(0, f, g.copy(), gtd)
    new = _evaluate(evaluate, t, d)
    evals, ls_iter = 1, 0
    while ls_iter < max_ls:
        if new.f > f + c1 * new.t * gtd or (ls_iter > 1 and new.f >= prev.f):
            break  # the minimum lies between prev and new
        if abs(new.gtd) <= -c2 * gtd:  # strong Wolfe holds
            return new.f, new.g, new.t, evals
        if new.gtd >= 0:
            break  # the slope turned: the minimum lies between prev and new
        # extrapolate: a cubic step between 1.01 and 10 times the current one
        t = cubic_minimum(prev.t, prev.f, prev.gtd, new.t, new.f, new.gtd,
                          bounds=(new.t + 0.01 * (new.t - prev.t), new.t * 10))
        prev, new = new, _evaluate(evaluate, t, d)
        evals, ls_iter = evals + 1, ls_iter + 1
    if ls_iter == max_ls:  # no bracket within max_ls evaluations: keep the better end of [0, t]
        best = start if start.f <= new.f else new
        return best.f, best.g, best.t, evals
    return _zoom(evaluate, [prev, new], d, f, gtd, c1, c2, tolerance_change, max_ls, ls_iter, evals)


def _evaluate(evaluate, t, d):
    f, g = evaluate(t)
    return _Point(t, f, g, g.dot(d))


def _zoom(evaluate, bracket, d, f, gtd, c1, c2, tolerance_change, max_ls, ls_iter, evals):
    """Shrink the bracket (which holds a Wolfe point) by safeguarded cubic interpolation."""
    d_norm = abs(d).max()
    insufficient_progress = False
    low, high = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
    while ls_iter < max_ls:
        a, b = bracket
        if abs(b.t - a.t) * d_norm < tolerance_change:
            break
        t = cubic_minimum(a.t, a.f, a.gtd, b.t, b.f, b.gtd)
        # a point too close to either end of the bracket makes little progress: move it 10% inside
        t_max, t_min = max(a.t, b.t), min(a.t, b.t)
        eps = 0.1 * (t_max - t_min)
        if min(t_max - t, t - t_min) < eps:
            if insufficient_progress or t >= t_max or t <= t_min:
                t = t_max - eps if abs(t - t_max) < abs(t - t_min) else t_min + eps
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        new = _evaluate(evaluate, t, d)
        evals, ls_iter = evals + 1, ls_iter + 1
        if new.f > f + c1 * t * gtd or new.f >= bracket[low].f:
            bracket[high] = new
            low, high = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
            continue
        done = abs(new.gtd) <= -c2 * gtd
        if not done and new.gtd * (bracket[high].t - bracket[low].t) >= 0:
            bracket[high] = bracket[low]
        bracket[low] = new
        if done:
            break
    best = bracket[low]
    return best.f, best.g, best.t, evals
