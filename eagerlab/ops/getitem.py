"""Tensor indexing: `x[...]` (basic indexing returns a view; integer-array and boolean-mask indexing copy) and
`x[...] = v`, all differentiable. Index tensors are op inputs (data), the rest of the index is a static attr."""
import numpy as np

from .._tensor import Tensor
from ..errors import DTypeError
from . import _infer as I
from ._registry import Aval, Sample, apply_inplace, bind, op, primitive

_SLOT = "tensor"  # marks where an index tensor goes in the static template
_INDEX_INPUTS = tuple(range(1, 33))  # positional inputs after x are index arrays; save all that are present


def _split_index(index):
    """(template, index tensors): python ints/slices/None/Ellipsis stay in the template; arrays become inputs."""
    if not isinstance(index, tuple):
        index = (index,)
    template, tensors = [], []
    for item in index:
        if isinstance(item, Tensor) or isinstance(item, (list, np.ndarray)):
            t = item if isinstance(item, Tensor) else Tensor._make(np.asarray(item), None)  # device set by caller
            if t._data.dtype.kind not in "iub":
                raise DTypeError(f"index: tensors used as indices must be long, int, byte or bool tensors, got "
                                 f"{t._data.dtype} (shape {tuple(t._data.shape)})")
            tensors.append(t)
            template.append(_SLOT)
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            template.append(int(item))
        elif item is None or item is Ellipsis or isinstance(item, slice):
            template.append(item)
        else:
            raise DTypeError(f"index: unsupported index element of type {type(item).__name__}: {item!r}")
    return tuple(template), tensors


def _fill(template, arrays):
    it = iter(arrays)
    return tuple(next(it) if t is _SLOT or (isinstance(t, str) and t == _SLOT) else t for t in template)


# ---- basic indexing: a view ---------------------------------------------------------------------------------
def _basic_impl(xp, x, index):
    # an index ending in Ellipsis makes numpy return a 0-d view rather than a scalar copy for x[0] on 1-D
    return x[index] if Ellipsis in index else x[index + (Ellipsis,)]


getitem_p = primitive("getitem", None, view=True)(_basic_impl)
getitem_p.infer = I.by_eval(getitem_p)


def _scatter_impl(xp, g, shape, index):
    out = xp.zeros(shape, dtype=g.dtype)
    out[index] = g
    return out


getitem_grad_p = primitive("getitem_grad", None)(_scatter_impl)
getitem_grad_p.infer = lambda g, shape, index: Aval(shape, g.dtype, g.device)
getitem_p.defvjp(lambda ctx, g: (bind(getitem_grad_p, g, shape=ctx.shapes[0], index=ctx.attrs["index"]),))
getitem_grad_p.defvjp(lambda ctx, g: (bind(getitem_p, g, index=ctx.attrs["index"]),))


# ---- advanced indexing: a copy --------------------------------------------------------------------------------
def _index_impl(xp, x, *arrays, template):
    return x[_fill(template, arrays)]


def _index_grad_impl(xp, g, *arrays, shape, template):
    out = xp.zeros(shape, dtype=g.dtype)
    xp.add.at(out, _fill(template, arrays), g)  # repeated indices accumulate
    return out


index_p = primitive("index", None, save_inputs=_INDEX_INPUTS, dynamic_shape=True)(_index_impl)
index_grad_p = primitive("index_grad", None, save_inputs=_INDEX_INPUTS)(_index_grad_impl)
index_grad_p.infer = lambda g, *idx, shape, template: Aval(shape, g.dtype, g.device)


@index_p.defvjp
def _(ctx, g):
    return (bind(index_grad_p, g, *ctx.saved, shape=ctx.shapes[0], template=ctx.attrs["template"]),) + \
        (None,) * len(ctx.saved)


@index_grad_p.defvjp
def _(ctx, g):
    return (bind(index_p, g, *ctx.saved, template=ctx.attrs["template"]),) + (None,) * len(ctx.saved)


def _on_device(tensors, device):
    return [t if t._device is device else Tensor._make(t._data, device) if t._device is None else t.to(device)
            for t in tensors]


def getitem(input, index):
    """input[index] with numpy/PyTorch semantics."""
    template, tensors = _split_index(index)
    if not tensors:
        return bind(getitem_p, input, index=template)
    return bind(index_p, input, *_on_device(tensors, input._device), template=template)


def _getitem_samples(rng):
    x = rng.standard_normal((4, 5))
    return [Sample(x, (1, slice(None, None, 2))), Sample(x, (Ellipsis, None, slice(3, 0, -1))),
            Sample(rng.standard_normal((5, 4)).T, (slice(1, 3),), note="non-contiguous"),
            Sample(x, (np.array([0, 2, 2]),), note="repeated rows accumulate"),
            Sample(x, (slice(None), np.array([[1, 0], [4, 4]])), note="int array on dim 1"),
            Sample(x, (x > 0,), note="boolean mask")]


@op(samples=_getitem_samples, ref=lambda x, index: x[index])  # torch has no negative-step slices: no oracle
def index_tensor(input, index):
    """`input[index]` as a function (what Tensor.__getitem__ calls)."""
    return getitem(input, index)


Tensor.__getitem__ = getitem


# ---- assignment ---------------------------------------------------------------------------------------------
def _setitem_impl(xp, x, value, *arrays, template):
    out = x.copy()
    out[_fill(template, arrays)] = value
    return out


setitem_p = primitive("setitem", I.same)(_setitem_impl)
setitem_p.infer = lambda x, value, *idx, template: Aval(x.shape, x.dtype, x.device)


@setitem_p.defvjp
def _(ctx, g):
    template = ctx.attrs["template"]
    arrays = ctx.saved
    gx = bind(setitem_p, g, 0, *arrays, template=template) if ctx.needs[0] else None
    gv = None
    if ctx.needs[1]:
        gv = bind(index_p, g, *arrays, template=template) if arrays else bind(getitem_p, g, index=template)
    return (gx, gv) + (None,) * len(arrays)


setitem_p.save_inputs = tuple(range(2, 34))


def setitem(self, index, value):
    """self[index] = value (value broadcast and cast to self's dtype), recorded for autograd."""
    template, tensors = _split_index(index)
    if isinstance(value, Tensor):
        if value.dtype is not self.dtype:
            value = value.to(self.dtype)
    elif not isinstance(value, (int, float, bool)):
        from .creation import tensor

        value = tensor(value, dtype=self.dtype, device=self.device)
    apply_inplace(setitem_p, self, value, *_on_device(tensors, self._device), template=template)


Tensor.__setitem__ = setitem


def _index_put_samples(rng):
    x = rng.standard_normal((3, 4))
    return [Sample(x, (1,), rng.standard_normal((4,))), Sample(x, (slice(None), 0), 2.5, note="scalar value"),
            Sample(x, (np.array([0, 2]),), rng.standard_normal((1, 4)), note="int array, broadcast value"),
            Sample(x, (Ellipsis,), rng.standard_normal((4,)), note="copy_ into all, broadcast")]


def _np_index_put(x, index, value):
    out = x.copy()
    out[index] = value
    return out


@op(samples=_index_put_samples, ref=_np_index_put)
def index_put(input, index, values):
    """A copy of input with input[index] = values (the out-of-place form of __setitem__)."""
    out = input.clone()
    out[index] = values
    return out
