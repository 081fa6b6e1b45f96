"""Tensor indexing: `x[...]` and `x[...] = v`, all differentiable.

Basic indexing (ints, slices, None, Ellipsis) returns a view; integer-array indexing and boolean masks copy. Index
tensors are op inputs (data, so a traced graph sees them); the rest of the index is a static attr, the template,
where "tensor" marks the place of each index tensor.
"""
import numpy as np

from .._tensor import Tensor
from ..backend import array_to_device
from ..errors import DTypeError, IndexOutOfRange, UnsupportedError, fmt_shape
from . import _shape_rules as shape_rules
from ._registry import Aval, Sample, apply_inplace, bind, method, op, primitive

_SLOT = "tensor"
_FULL = slice(None)
_MASK = (_SLOT,)
_INDEX_INPUTS = tuple(range(1, 33))  # positional inputs after x are index arrays; save all that are present


def _as_index(op_name, item, x):
    """An index tensor on x's device from a Tensor, list or numpy array; float indices are a DTypeError."""
    if isinstance(item, Tensor):
        t = item if item._device is x._device else item.to(x._device)
    else:
        arr = np.asarray(item)
        if arr.size == 0 and arr.dtype.kind == "f":  # x[[]] selects nothing, as in numpy and PyTorch
            arr = arr.astype(np.int64)
        t = Tensor._make(array_to_device(arr, x._device), x._device)
    if t._data.dtype.kind not in "iub":
        raise DTypeError(f"{op_name}: tensors used as indices must be long, int, byte or bool tensors, got "
                         f"{t._data.dtype} (index shape {fmt_shape(t.shape)}, tensor shape {fmt_shape(x.shape)})")
    if t._data.dtype.kind == "b" and t._data.ndim == 0:
        raise UnsupportedError(f"{op_name}: not supported yet: a 0-d boolean index (True/False)")
    return t


def _parse(op_name, x, index, keep_masks=False):
    """(template, index tensors, is_mask) for x[index]. Ints are checked against their dim and kept as written (a
    negative one stays relative to the end, which a graph exported with a symbolic dim needs). A boolean
    mask that is the whole index gives ((_SLOT,), [mask], True) (see masked_index_p); other masks become their
    nonzero() index tensors, as numpy defines them, unless keep_masks (assignment takes masks natively)."""
    if type(index) is not tuple:
        index = (index,)
    items, used, ellipsis = [], 0, False
    for item in index:
        if isinstance(item, range):  # as PyTorch: the range's ints, an integer index tensor
            item = list(item)
        if isinstance(item, (Tensor, list, tuple, np.ndarray)):
            item = _as_index(op_name, item, x)
            used += item._data.ndim if item._data.dtype.kind == "b" else 1
        elif isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_)):
            item = int(item)
            used += 1
        elif isinstance(item, slice):
            used += 1
        elif item is Ellipsis:
            if ellipsis:
                raise IndexOutOfRange(f"{op_name}: an index can only have a single ellipsis ('...')")
            ellipsis = True
        elif item is not None:
            if isinstance(item, (bool, np.bool_)):
                raise UnsupportedError(f"{op_name}: not supported yet: a 0-d boolean index (True/False)")
            raise DTypeError(f"{op_name}: unsupported index element of type {type(item).__name__}: {item!r}")
        items.append(item)
    shape = x._data.shape
    if used > len(shape):
        raise IndexOutOfRange(f"{op_name}: too many indices for tensor of dimension {len(shape)} (shape "
                              f"{fmt_shape(shape)}, index uses {used} dims)")
    if len(items) and isinstance(items[0], Tensor) and items[0]._data.dtype.kind == "b" and all(
            t is Ellipsis or type(t) is slice and t == _FULL for t in items[1:]):
        _check_mask(op_name, items[0], shape, 0)
        return _MASK, [items[0]], True
    template, tensors, d = [], [], 0
    for item in items:
        if type(item) is int:
            n = shape[d]
            if not -n <= item < n:
                raise IndexOutOfRange(f"{op_name}: index {item} is out of bounds for dimension {d} with size {n}")
            template.append(item)
            d += 1
        elif isinstance(item, Tensor):
            if item._data.dtype.kind == "b":
                _check_mask(op_name, item, shape, d)
                d += item._data.ndim
                if not keep_masks:
                    from .sorting import nonzero

                    cols = nonzero(item, as_tuple=True)
                    template.extend([_SLOT] * len(cols))
                    tensors.extend(cols)
                    continue
            else:
                d += 1
            template.append(_SLOT)
            tensors.append(item)
        else:
            if item is Ellipsis:
                d += len(shape) - used
            elif item is not None:
                d += 1
            template.append(item)
    return tuple(template), tensors, False


def _check_mask(op_name, mask, shape, d):
    k = mask._data.ndim
    if mask._data.shape != shape[d:d + k]:
        raise IndexOutOfRange(f"{op_name}: the shape of the mask {fmt_shape(mask.shape)} at index {d} does not "
                              f"match the shape of the indexed tensor {fmt_shape(shape)} (dims {d}..{d + k - 1})")


def _fill(template, arrays):
    it = iter(arrays)
    return tuple(next(it) if isinstance(t, str) else t for t in template)


def _take_axis(template, arrays, ndim):
    """d when the index is one integer array on dim d with only full slices (and one Ellipsis) around it, the
    case that xp.take and a flat 1-D add.at do faster than n-d fancy indexing and np.add.at; else None."""
    if len(arrays) != 1 or arrays[0].dtype.kind not in "iu":
        return None
    pos, ellipsis = None, None
    for k, t in enumerate(template):
        if isinstance(t, str):
            pos = k
        elif t is Ellipsis:
            ellipsis = k
        elif not (type(t) is slice and t == _FULL):
            return None
    return pos if ellipsis is None or ellipsis > pos else ndim - len(template) + pos


# ---- basic indexing: a view ---------------------------------------------------------------------------------
def _basic_impl(xp, x, index):
    # an index ending in Ellipsis makes numpy return a 0-d view rather than a scalar copy for x[0] on 1-D
    return x[index] if Ellipsis in index else x[index + (Ellipsis,)]


getitem_p = primitive("getitem", None, view=True)(_basic_impl)
getitem_p.infer = shape_rules.by_eval(getitem_p)


def _getitem_grad_impl(xp, g, shape, index):
    out = xp.zeros(shape, dtype=g.dtype)
    out[index] = g  # a basic index selects each element at most once: plain assignment
    return out


getitem_grad_p = primitive("getitem_grad", lambda g, shape, index: Aval(shape, g.dtype, g.device))(
    _getitem_grad_impl)
getitem_p.defvjp(lambda ctx, g: (bind(getitem_grad_p, g, shape=ctx.shapes[0], index=ctx.attrs["index"]),))
getitem_grad_p.defvjp(lambda ctx, g: (bind(getitem_p, g, index=ctx.attrs["index"]),))


# ---- integer-array indexing: a copy ---------------------------------------------------------------------------
def _index_impl(xp, x, *arrays, template):
    d = _take_axis(template, arrays, x.ndim)
    return xp.take(x, arrays[0], axis=d) if d is not None else x[_fill(template, arrays)]


def _accumulate(xp, out, template, arrays, values):
    """out[index] += values, repeated indices accumulating."""
    d = _take_axis(template, arrays, out.ndim)
    if d is None or not out.flags.c_contiguous:
        xp.add.at(out, _fill(template, arrays), values)
        return
    idx, n = arrays[0].reshape(-1), out.shape[d]
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < -n or hi >= n:
            raise IndexError(f"index {lo if lo < -n else hi} is out of bounds for dimension {d} with size {n}")
        if lo < 0:
            idx = xp.where(idx < 0, idx + n, idx)
        outer, inner = int(np.prod(out.shape[:d])), int(np.prod(out.shape[d + 1:]))
        pos = (xp.arange(outer)[:, None, None] * n + idx[None, :, None]) * inner + xp.arange(inner)[None, None, :]
        _flat_add(xp, out, pos, xp.broadcast_to(values, out.shape[:d] + arrays[0].shape + out.shape[d + 1:]))


def _flat_add(xp, out, pos, vals):
    """out.reshape(-1)[pos] += vals, repeated positions summing; out is C-contiguous, pos has vals' size.
    np.add.at on 1-D operands takes numpy's fast path: 4-5x faster than on an n-d index tuple."""
    xp.add.at(out.reshape(-1), pos.reshape(-1), vals.reshape(-1))


def _index_grad_impl(xp, g, *arrays, shape, template):
    out = xp.zeros(shape, dtype=g.dtype)
    _accumulate(xp, out, template, arrays, g)
    return out


index_p = primitive("index", None, save_inputs=_INDEX_INPUTS)(_index_impl)
index_p.infer = shape_rules.by_eval(index_p)
index_grad_p = primitive("index_grad", lambda g, *idx, shape, template: Aval(shape, g.dtype, g.device),
                         save_inputs=_INDEX_INPUTS)(_index_grad_impl)


@index_p.defvjp
def _(ctx, g):
    return (bind(index_grad_p, g, *ctx.saved, shape=ctx.shapes[0], template=ctx.attrs["template"]),) + \
        (None,) * len(ctx.saved)


@index_grad_p.defvjp
def _(ctx, g):
    return (bind(index_p, g, *ctx.saved, template=ctx.attrs["template"]),) + (None,) * len(ctx.saved)


# ---- a boolean mask as the whole index: a copy of the selected elements (rows) ------------------------------
def _masked_index_impl(xp, x, mask):
    # flat positions and a take on the merged masked dims beat numpy's own x[mask] several times on n-d masks
    return xp.take(x.reshape((-1,) + x.shape[mask.ndim:]), xp.flatnonzero(mask), axis=0)


def _masked_index_grad_impl(xp, g, mask, shape):
    out = xp.zeros(shape, dtype=g.dtype)
    out.reshape((-1,) + shape[mask.ndim:])[xp.flatnonzero(mask)] = g
    return out


masked_index_p = primitive("masked_index", lambda x, m: Aval((None,) + x.shape[m.ndim:], x.dtype, x.device),
                           save_inputs=(1,), dynamic_shape=True)(_masked_index_impl)
masked_index_grad_p = primitive("masked_index_grad", lambda g, m, shape: Aval(shape, g.dtype, g.device),
                                save_inputs=(1,))(_masked_index_grad_impl)
masked_index_p.defvjp(lambda ctx, g: (bind(masked_index_grad_p, g, ctx.saved[0], shape=ctx.shapes[0]), None))
masked_index_grad_p.defvjp(lambda ctx, g: (bind(masked_index_p, g, ctx.saved[0]), None))


def getitem(input, index):
    """input[index] with numpy/PyTorch semantics."""
    if type(index) is int:  # x[i] and x[a:b], the commonest indices: checked inline
        shape = input._data.shape
        if shape and -shape[0] <= index < shape[0]:
            return bind(getitem_p, input, index=(index,))
    elif type(index) is slice and input._data.ndim:
        return bind(getitem_p, input, index=(index,))
    template, tensors, is_mask = _parse("getitem", input, index)
    if is_mask:
        return bind(masked_index_p, input, tensors[0])
    if not tensors:
        return bind(getitem_p, input, index=template)
    return bind(index_p, input, *tensors, template=template)


Tensor.__getitem__ = getitem


def _getitem_samples(rng):
    x = rng.standard_normal((4, 5))
    return [Sample(x, (1, slice(None, None, 2))), Sample(x, (Ellipsis, None, slice(3, 0, -1))),
            Sample(x, (-1,), note="negative int"), Sample(rng.standard_normal(()), (None, Ellipsis), note="0-d"),
            Sample(x, (slice(2, 2),), note="empty"),
            Sample(rng.standard_normal((5, 4)).T, (slice(1, 3),), note="non-contiguous"),
            Sample(x, (np.array([0, 2, 2]),), note="repeated rows accumulate"),
            Sample(x, (slice(None), np.array([[1, -1], [4, 4]])), note="int array on dim 1"),
            Sample(rng.standard_normal((3, 2, 4)), (np.array([2, 0]), slice(None), np.array([1, 3])),
                   note="separated arrays"),
            Sample(x, (np.array([], np.int64),), note="empty index"),
            Sample(x, (x > 0,), note="boolean mask"), Sample(x, (slice(None), x[0] > 0), note="mask on dim 1")]


@op(samples=_getitem_samples, ref=lambda x, index: x[index])  # torch has no negative-step slices: no oracle
def index_tensor(input, index):
    """`input[index]` as a function (what Tensor.__getitem__ calls)."""
    return getitem(input, index)


# ---- assignment ---------------------------------------------------------------------------------------------
def _assign(xp, out, template, arrays, value, accumulate):
    """out[index] = value in place (+= with repeated indices summing when accumulate)."""
    if template == _MASK and arrays[0].dtype.kind == "b" and out.flags.c_contiguous:
        # a whole-index mask as flat row positions: several times faster than numpy's own mask assignment
        rows = out.reshape((-1,) + out.shape[arrays[0].ndim:])
        pos = xp.flatnonzero(arrays[0])
        if accumulate:
            rows[pos] += value  # a mask selects each row once
        else:
            rows[pos] = value
    elif accumulate:
        _accumulate(xp, out, template, arrays, value)
    else:
        out[_fill(template, arrays)] = value


def _setitem_impl(xp, x, value, *arrays, template, accumulate):
    out = x.copy()
    _assign(xp, out, template, arrays, value, accumulate)
    return out


def _setitem_inplace(xp, x, value, *arrays, template, accumulate):
    _assign(xp, x, template, arrays, value, accumulate)


# the out-of-place record behind x[index] = value and index_put: x with x[index] = value (+= when accumulate);
# eagerly, with nothing to record, x[index] = value writes into x directly (the record would copy x twice)
setitem_p = primitive("setitem", lambda x, v, *idx, template, accumulate: Aval(x.shape, x.dtype, x.device),
                      save_inputs=tuple(range(2, 34)), impl_inplace=_setitem_inplace)(_setitem_impl)


@setitem_p.defvjp
def _(ctx, g):
    template, accumulate = ctx.attrs["template"], ctx.attrs["accumulate"]
    arrays = ctx.saved
    gx = gv = None
    if ctx.needs[0]:
        gx = g if accumulate else bind(setitem_p, g, 0, *arrays, template=template, accumulate=False)
    if ctx.needs[1]:
        gv = getitem(g, _fill(template, arrays))
        lead = len(ctx.shapes[1]) - gv.ndim  # numpy lets a value with extra leading 1-dims be assigned
        if lead > 0:
            gv = gv.reshape((1,) * lead + tuple(gv.shape))
    return (gx, gv) + (None,) * len(arrays)


def _value(self, value):
    if isinstance(value, Tensor):
        return value if value._data.dtype == self._data.dtype else value.to(self.dtype)
    if isinstance(value, (int, float, bool)):
        return value
    from .creation import tensor

    return tensor(value, dtype=self.dtype, device=self.device)


def _put(self, index, value, accumulate, op_name):
    template, tensors, _ = _parse(op_name, self, index, keep_masks=not accumulate)
    value = _value(self, value)
    return apply_inplace(setitem_p, self, value, *tensors, template=template, accumulate=accumulate)


def setitem(self, index, value):
    """self[index] = value (value broadcast and cast to self's dtype), recorded for autograd."""
    _put(self, index, value, False, "setitem")


Tensor.__setitem__ = setitem


def _indices(indices):
    return tuple(indices) if isinstance(indices, list) and all(isinstance(i, Tensor) for i in indices) else indices


def _index_put_samples(rng):
    x = rng.standard_normal((3, 4))
    return [Sample(x, (np.array([2, 0]),), rng.standard_normal((1, 4)), note="broadcast value"),
            Sample(x, (np.array([0, 2, 2]), np.array([1, 1, 3])), rng.standard_normal((3,)), True,
                   note="accumulate"),
            Sample(x, (np.array([1, 1, 0]),), rng.standard_normal((3, 4)), accumulate=True,
                   note="accumulate repeated rows"),
            Sample(x, (x > 0,), rng.standard_normal(()), note="mask, 0-d value"),
            Sample(rng.standard_normal((4, 3)).T, (np.array([0, -1]),), rng.standard_normal((4,)),
                   note="non-contiguous"),
            Sample(x, (1, slice(None, None, 2)), rng.standard_normal((2,)), note="basic index"),
            Sample(x, (Ellipsis,), 2.5, note="python scalar into all")]


def _np_index_put(x, indices, values, accumulate=False):
    out = x.copy()
    if accumulate:
        np.add.at(out, indices, values)
    else:
        out[indices] = values
    return out


def _torch_index_put(torch, x, indices, values, accumulate=False):
    indices = tuple(torch.from_numpy(i) if isinstance(i, np.ndarray) else i for i in indices)
    values = values if isinstance(values, torch.Tensor) else torch.tensor(values, dtype=x.dtype)
    if all(isinstance(i, torch.Tensor) for i in indices):
        return torch.index_put(x, indices, values, accumulate)
    out = x.clone()  # torch.index_put takes index tensors only
    out[indices] = values
    return out


@op(methods=("index_put",), samples=_index_put_samples, ref=_np_index_put, torch=_torch_index_put)
def index_put(input, indices, values, accumulate=False):
    """A copy of input with input[indices] = values (+= with repeated indices summing when accumulate)."""
    template, tensors, _ = _parse("index_put", input, _indices(indices), keep_masks=not accumulate)
    return bind(setitem_p, input, _value(input, values), *tensors, template=template, accumulate=bool(accumulate))


@method("index_put_")
def index_put_(self, indices, values, accumulate=False):
    """In place: self[indices] = values (+= with repeated indices summing when accumulate)."""
    return _put(self, _indices(indices), values, bool(accumulate), "index_put")
