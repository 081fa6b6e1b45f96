"""L-BFGS (PyTorch's torch.optim.LBFGS): a quasi-Newton method that re-evaluates the model through a closure several
times per step, with an optional strong-Wolfe line search. PyTorch's algorithm step for step, so the iterates agree.

All parameters are treated as one flat vector (they must share a dtype and device). The update works on raw
backend arrays in the parameters' dtype; the loop's scalars are numpy/cupy scalars of that dtype (Python numbers
mixed in are weak, NEP 50), so float32 arithmetic rounds as PyTorch's float32 tensors do.
"""
from .._tensor import Tensor
from ..errors import DeviceError, DTypeError
from ._line_search import strong_wolfe
from ._update import _scalar
from .optimizer import Optimizer

# the step's history kept in state (Python floats for the scalars, tensors for the vectors): what the next step needs
_SCALARS = ("t", "H_diag", "prev_loss")
_VECTORS = ("d", "prev_flat_grad")
_HISTORIES = ("old_dirs", "old_stps")


class LBFGS(Optimizer):
    """L-BFGS. step(closure) is required: the closure clears the gradients, computes the loss, calls backward() and
    returns the loss. One step makes up to max_iter iterations and max_eval closure calls; it stops early when the
    gradient's largest entry is below tolerance_grad or the step or loss change below tolerance_change.
    line_search_fn: None (fixed step lr) or "strong_wolfe". Parameter groups are not supported (as in PyTorch)."""

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("LBFGS: a Tensor lr must have one element")
        if not 0.0 <= _scalar(lr):
            raise ValueError(f"Invalid learning rate: {lr}")
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got {line_search_fn!r}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]
        first = self._params[0]
        for i, p in enumerate(self._params):
            if p.dtype != first.dtype or p._device is not first._device:
                err = DTypeError if p.dtype != first.dtype else DeviceError
                raise err(f"LBFGS: all parameters form one flat vector and must share a dtype and device; parameter "
                          f"0 is {first.dtype.name} on {first.device}, parameter {i} is {p.dtype.name} on {p.device}")

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    # ---- the flat vector -------------------------------------------------------------------------------------
    def _flat_grad(self):
        """The gradients as one flat array; zeros for a parameter without one."""
        xp = self._params[0]._device.xp
        return xp.concatenate([xp.zeros(p._data.size, p._data.dtype) if p.grad is None else p.grad._data.reshape(-1)
                               for p in self._params])

    def _add_to_params(self, step, update):
        """params += step * update (the flat update split back into the parameters' shapes)."""
        offset = 0
        for p in self._params:
            n = p._data.size
            p._data += (step * update[offset:offset + n]).reshape(p._data.shape)
            p._bump()
            offset += n

    def _set_params(self, arrays):
        for p, a in zip(self._params, arrays):
            p._data[...] = a
            p._bump()

    # ---- the step ---------------------------------------------------------------------------------------------
    def step(self, closure=None):
        """Up to max_iter L-BFGS iterations; returns the loss the closure gave at the start."""
        if closure is None:
            raise TypeError("LBFGS.step needs a closure that re-evaluates the model and returns the loss: "
                                   "optimizer.step(closure)")
        group = self.param_groups[0]
        lr = _scalar(group["lr"])
        max_iter, max_eval, history_size = group["max_iter"], group["max_eval"], group["history_size"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = self._closure_loss(closure)
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if abs(flat_grad).max() <= tolerance_grad:
            return orig_loss
        h = _History.load(state)

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                h.d, h.H_diag = -flat_grad, 1
                h.old_dirs, h.old_stps, h.ro = [], [], []
            else:
                h.update(flat_grad, history_size)
                h.d = h.direction(flat_grad)
            if h.prev_flat_grad is None:
                h.prev_flat_grad = flat_grad.copy()
            else:
                h.prev_flat_grad[...] = flat_grad
            h.prev_loss = loss
            # the first step is scaled down by the gradient's size: the curvature is not known yet
            h.t = min(1.0, 1.0 / abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
            gtd = flat_grad.dot(h.d)
            if gtd > -tolerance_change:  # not a descent direction (any more)
                break

            ls_evals = 0
            if group["line_search_fn"] is not None:
                x0 = [p._data.copy() for p in self._params]

                def evaluate(t):
                    self._add_to_params(t, h.d)
                    value = float(self._closure_loss(closure))
                    g = self._flat_grad()
                    self._set_params(x0)
                    return value, g

                loss, flat_grad, h.t, ls_evals = strong_wolfe(evaluate, h.t, h.d, loss, flat_grad, gtd)
                self._add_to_params(h.t, h.d)
                optimal = abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_to_params(h.t, h.d)
                optimal = False
                if n_iter != max_iter:  # the last iteration's loss is the next step's first evaluation
                    loss = float(self._closure_loss(closure))
                    flat_grad = self._flat_grad()
                    optimal = abs(flat_grad).max() <= tolerance_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals

            if n_iter == max_iter or evals >= max_eval or optimal:
                break
            if abs(h.d * h.t).max() <= tolerance_change or abs(loss - h.prev_loss) < tolerance_change:
                break  # no progress
        h.store(state, self._params[0]._device)
        return orig_loss

    def _load_param_state(self, p, index, value):
        """As the base, and the lists of history vectors moved onto the parameter's device and dtype too."""
        lists = {k: v for k, v in value.items() if isinstance(v, list)}
        out = super()._load_param_state(p, index, {k: v for k, v in value.items() if k not in lists})
        for key, items in lists.items():
            out[key] = [super(LBFGS, self)._load_param_state(p, index, {key: v})[key] for v in items]
        return out


class _History:
    """The quasi-Newton memory between iterations and steps: the direction d, step length t, the last gradient and
    loss, and up to history_size curvature pairs (old_dirs = gradient changes y, old_stps = steps s, ro = 1/(y.s))
    with the initial Hessian scale H_diag."""

    def __init__(self):
        self.d = self.t = self.H_diag = self.prev_flat_grad = self.prev_loss = None
        self.old_dirs, self.old_stps, self.ro = [], [], []

    @classmethod
    def load(cls, state):
        h = cls()
        for key in _VECTORS:
            h.__dict__[key] = state[key]._data if key in state else None
        for key in _HISTORIES:
            h.__dict__[key] = [v._data for v in state.get(key, [])]
        h.ro = list(state.get("ro", []))
        for key in _SCALARS:
            h.__dict__[key] = state.get(key)
        return h

    def store(self, state, device):
        """Into state: vectors as tensors, scalars as Python floats (a float32 value converts back exactly, so the
        next step computes as if it had kept the float32 scalar)."""
        for key in _VECTORS:
            state[key] = Tensor._make(self.__dict__[key], device)
        for key in _HISTORIES:
            state[key] = [Tensor._make(v, device) for v in self.__dict__[key]]
        state["ro"] = [float(r) for r in self.ro]
        for key in _SCALARS:
            state[key] = float(self.__dict__[key])

    def update(self, flat_grad, history_size):
        """Add the last iteration's curvature pair, when it is positive (else the pair would break the update)."""
        y = flat_grad - self.prev_flat_grad
        s = self.d * self.t
        ys = y.dot(s)
        if ys > 1e-10:
            if len(self.old_dirs) == history_size:
                del self.old_dirs[0], self.old_stps[0], self.ro[0]
            self.old_dirs.append(y)
            self.old_stps.append(s)
            self.ro.append(1.0 / ys)
            self.H_diag = ys / y.dot(y)

    def direction(self, flat_grad):
        """-H g by the two-loop recursion over the stored pairs."""
        q = -flat_grad
        al = [None] * len(self.old_dirs)
        for i in range(len(self.old_dirs) - 1, -1, -1):
            al[i] = self.old_stps[i].dot(q) * self.ro[i]
            q -= al[i] * self.old_dirs[i]
        r = q * self.H_diag
        for i in range(len(self.old_dirs)):
            be_i = self.old_dirs[i].dot(r) * self.ro[i]
            r += (al[i] - be_i) * self.old_stps[i]
        return r
