"""Reductions: sum, mean, var/std, prod, max/min, amax/amin, argmax/argmin, logsumexp, norm, cumsum, ..."""
import numpy as np

from ..backend import as_dtype
from ..backend.dtypes import BOOL, INT, bool_, int64
from ..backend.low_precision import in_float32
from ..errors import DTypeError, ShapeError, fmt_shape
from . import _shape_rules as shape_rules
from ._registry import Aval, Sample, bind, method, op, primitive


def _reduced_shape(shape, dims, keepdim):
    if keepdim:
        return tuple(1 if i in dims else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in dims)


def _sum_infer(x, dims, keepdim):
    return Aval(_reduced_shape(x.shape, dims, keepdim), x.dtype, x.device)


sum_p = primitive("sum", _sum_infer)(in_float32(lambda xp, x, dims, keepdim: xp.sum(x, axis=dims, keepdims=keepdim,
                                                                                    dtype=x.dtype)))


@sum_p.defvjp
def _(ctx, g):
    from .shape import expand, reshape

    shape = ctx.shapes[0]
    dims = ctx.attrs["dims"]
    if not ctx.attrs["keepdim"] and dims != tuple(range(len(dims))):  # leading dims come back by broadcasting
        g = reshape(g, _reduced_shape(shape, dims, True))
    return expand(g, shape),


def sum_to(x, shape):
    """Sum `x` down to `shape` (the reverse of broadcasting); used by the backward of broadcasting ops."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and x.shape[i + lead] != 1)
    out = bind(sum_p, x, dims=dims, keepdim=True)
    if lead:
        from .shape import reshape

        out = reshape(out, shape)
    return out


@method("sum_to_size")
def sum_to_size(self, *size):
    """Sum this tensor down to `size`, which must broadcast to its shape (PyTorch's Tensor.sum_to_size)."""
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)
    lead = self.ndim - len(shape)
    if lead < 0 or any(s not in (1, d) for s, d in zip(shape, self.shape[lead:])):
        raise ShapeError(f"sum_to_size: size {fmt_shape(shape)} is not expandable to the tensor's shape "
                         f"{fmt_shape(self.shape)}")
    return sum_to(self, shape)


def _accum_dtype(x, dtype):
    """sum/prod of bool and integer tensors accumulate in int64, as in PyTorch."""
    if dtype is not None:
        return x.to(as_dtype(dtype))
    if x.dtype.category in (BOOL, INT) and x.dtype is not int64:
        return x.to(int64)
    return x


def _reduce_samples(rng):
    return [Sample(rng.standard_normal((3, 4))), Sample(rng.standard_normal((3, 4)), dim=1),
            Sample(rng.standard_normal((2, 3, 4)), dim=(0, 2), keepdim=True),
            Sample(rng.standard_normal((2, 3, 4)), dim=-1), Sample(rng.standard_normal(())),
            Sample(rng.standard_normal((0, 3)), dim=0, note="empty"),
            Sample(rng.standard_normal((4, 3)).T, dim=0, note="non-contiguous")]


def _np_axis(dim):
    return tuple(dim) if isinstance(dim, (list, tuple)) else dim


@op(methods=("sum",), samples=_reduce_samples, torch="sum",
    ref=lambda x, dim=None, keepdim=False: np.sum(x, axis=_np_axis(dim), keepdims=keepdim))
def sum(input, dim=None, keepdim=False, *, dtype=None, axis=None, out=None):
    """Sum over `dim` (all dims when None); `axis=` is accepted for numpy interop."""
    if axis is not None:
        dim = axis
    x = _accum_dtype(input, dtype)
    result = bind(sum_p, x, dims=shape_rules.norm_dims("sum", dim, x.ndim), keepdim=bool(keepdim))
    return _maybe_out(result, out)


def _maybe_out(result, out):
    """Support numpy's `out=` protocol (np.sum(t, axis=1) passes out=None)."""
    if out is None:
        return result
    out.copy_(result)
    return out


@op(methods=("mean",), samples=_reduce_samples, torch="mean",
    ref=lambda x, dim=None, keepdim=False: np.mean(x, axis=_np_axis(dim), keepdims=keepdim))
def mean(input, dim=None, keepdim=False, *, dtype=None, axis=None, out=None):
    """Mean over `dim` (all dims when None). Integer tensors need dtype=, as in PyTorch."""
    if axis is not None:
        dim = axis
    x = input.to(as_dtype(dtype)) if dtype is not None else input
    if not x.dtype.is_floating_point:
        from ..errors import DTypeError

        raise DTypeError(f"mean: could not infer output dtype. Input dtype must be floating point, got {x.dtype.name}"
                         "; pass dtype= or convert with .float()")
    dims = shape_rules.norm_dims("mean", dim, x.ndim)
    count = 1
    for d in dims:
        count *= x.shape[d]
    total = bind(sum_p, x, dims=dims, keepdim=bool(keepdim))
    return _maybe_out(total / count if count else total * float("nan"), out)


def _argmax_infer(x, dim, keepdim):
    if dim is None:
        return Aval((1,) * len(x.shape) if keepdim else (), int64, x.device)
    return Aval(_reduced_shape(x.shape, (dim,), keepdim), int64, x.device)


def _arg_impl(name):
    def impl(xp, x, dim, keepdim):
        fn = getattr(xp, name)
        if dim is None:
            out = fn(x.reshape(-1)).astype(xp.int64)
            return out.reshape((1,) * x.ndim) if keepdim else out
        return fn(x, axis=dim, keepdims=keepdim).astype(xp.int64)

    return impl


argmax_p = primitive("argmax", _argmax_infer)(_arg_impl("argmax"))
argmin_p = primitive("argmin", _argmax_infer)(_arg_impl("argmin"))


def _argmax_samples(rng):
    return [Sample(rng.standard_normal((3, 4)), grad=False), Sample(rng.standard_normal((3, 4)), dim=1, grad=False),
            Sample(rng.standard_normal((2, 3, 4)), dim=0, keepdim=True, grad=False)]


@op(methods=("argmax",), samples=_argmax_samples, torch="argmax", grad=False,
    ref=lambda x, dim=None, keepdim=False: np.argmax(x, axis=dim, keepdims=keepdim))
def argmax(input, dim=None, keepdim=False):
    """Index of the largest value (over the flattened tensor when dim is None)."""
    return _arg("argmax", argmax_p, input, dim, keepdim)


@op(methods=("argmin",), samples=_argmax_samples, torch="argmin", grad=False,
    ref=lambda x, dim=None, keepdim=False: np.argmin(x, axis=dim, keepdims=keepdim))
def argmin(input, dim=None, keepdim=False):
    """Index of the smallest value (over the flattened tensor when dim is None)."""
    return _arg("argmin", argmin_p, input, dim, keepdim)


def _arg(name, prim, input, dim, keepdim):
    if input.dtype is bool_:
        raise DTypeError(f"{name}: does not support bool input (shape {fmt_shape(input.shape)}); convert it first, "
                         f"e.g. x.long().{name}()")
    dim = None if dim is None else shape_rules.norm_dim(name, dim, input.ndim)
    if input.numel() == 0 and (dim is None or input.shape[dim] == 0):
        # an empty result along a non-empty dim is fine (a (0, 3) tensor's argmax(1) has shape (0,)), as in PyTorch
        raise ShapeError(f"{name}: expected a reduction dim of non-zero size, got shape {fmt_shape(input.shape)} "
                         f"and dim={dim}" + ("; specify the dim" if dim is None else ""))
    return bind(prim, input, dim=dim, keepdim=bool(keepdim))
