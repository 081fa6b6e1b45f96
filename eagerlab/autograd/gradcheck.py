"""Finite-difference checks of gradients (gradcheck) and of gradients of gradients (gradgradcheck)."""
import numpy as np

from ..errors import AutogradError


class GradcheckError(AutogradError):
    """Analytical and numerical gradients disagree."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _outputs(func, inputs):
    from .._tensor import Tensor

    return [o for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor) and o.is_floating_point()]


def _numerical_jacobian(func, inputs, i, eps):
    """d(all outputs, flattened)/d(inputs[i]) by central differences, as a (n_in, n_out) float64 matrix."""
    arr = inputs[i]._data  # perturbed in place, element by element in C order (non-contiguous inputs too)
    cols = []
    for idx in np.ndindex(arr.shape):
        orig = arr[idx].item()
        # grad mode stays on: gradgradcheck's function itself calls autograd.grad
        arr[idx] = orig + eps
        plus = [o.detach()._host().astype(np.float64).ravel() for o in _outputs(func, inputs)]
        arr[idx] = orig - eps
        minus = [o.detach()._host().astype(np.float64).ravel() for o in _outputs(func, inputs)]
        arr[idx] = orig
        cols.append(np.concatenate([(p - m) / (2 * eps) for p, m in zip(plus, minus)]) if plus else np.zeros(0))
    return np.stack(cols) if cols else np.zeros((0, 0))


def _analytical_jacobians(func, inputs, wrt):
    """One backward per output element: rows are inputs' elements, columns outputs' elements."""
    from . import grad
    from .interpreter import zeros

    outs = _outputs(func, inputs)
    sizes = [o.numel() for o in outs]
    jac = [np.zeros((inputs[i].numel(), sum(sizes))) for i in wrt]
    col = 0
    for j, o in enumerate(outs):
        if not o.requires_grad:
            col += sizes[j]
            continue
        for k in range(sizes[j]):
            seed = zeros(o.shape, o.dtype, o._device)
            seed._data.reshape(-1)[k] = 1
            gs = grad([o], [inputs[i] for i in wrt], [seed], retain_graph=True, allow_unused=True)
            for r, g in enumerate(gs):
                if g is not None:
                    if g.shape != inputs[wrt[r]].shape:
                        raise GradcheckError(f"gradcheck: gradient for input {wrt[r]} has shape {tuple(g.shape)}, "
                                             f"expected {tuple(inputs[wrt[r]].shape)}")
                    jac[r][:, col + k] = g._host().astype(np.float64).ravel()
        col += sizes[j]
    return jac


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Compare autograd's Jacobian of func at `inputs` with central differences (use float64 inputs)."""
    from .._tensor import Tensor

    inputs = _as_tuple(inputs)
    wrt = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    for i in wrt:
        if inputs[i].dtype.name != "float64":
            import warnings

            warnings.warn(f"gradcheck: input {i} is {inputs[i].dtype.name}, not float64; the check may be imprecise",
                          stacklevel=2)
    analytical = _analytical_jacobians(func, inputs, wrt)
    for r, i in enumerate(wrt):
        if inputs[i].numel() == 0:
            continue  # an empty input has an empty Jacobian: nothing to compare
        numerical = _numerical_jacobian(func, inputs, i, eps)
        if numerical.shape != analytical[r].shape or not np.allclose(analytical[r], numerical, atol=atol, rtol=rtol):
            if not raise_exception:
                return False
            worst = np.abs(analytical[r] - numerical).max() if numerical.shape == analytical[r].shape else "shape"
            raise GradcheckError(
                f"gradcheck: Jacobian mismatch for input {i} (max abs difference {worst})\n"
                f"numerical:\n{numerical}\nanalytical:\n{analytical[r]}"
            )
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
                  seed=0):
    """gradcheck of the function (inputs, grad_outputs) -> d(func)/d(inputs) . grad_outputs (double backward)."""
    from .._tensor import Tensor
    from . import grad

    inputs = _as_tuple(inputs)
    wrt = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    outs = _outputs(func, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        grad_outputs = tuple(
            Tensor._make(rng.standard_normal(o.shape).astype(o._data.dtype), o.device).requires_grad_()
            for o in outs if o.requires_grad
        )
    n = len(inputs)

    def first_grads(*args):
        xs, gos = args[:n], args[n:]
        ys = [o for o in _outputs(func, xs) if o.requires_grad]
        gs = grad(ys, [xs[i] for i in wrt], list(gos), create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grads, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
