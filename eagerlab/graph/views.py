"""Views while tracing. Eagerly, a view (x[1:], x.t(), x.reshape(...), x.unbind(0)[k], x.detach()) shares memory
with the tensor it was taken from, so an in-place write into one is seen by the other. A traced value is SSA and
has no memory, so the tracer keeps, for every view made while tracing, the tensor it views (its base: a tensor
that is no view itself) and the view ops that lead from the base to it. Then a write into a view is scattered
into its base (the inverse of each view op, from the last), and the other live views of a base written read it
anew (the view ops again, on its new value): the graph computes what eager memory sharing gives.

A reshape that has to copy (of a transposed tensor) makes no view eagerly; which reshapes copy is found on a
stand-in array with the strides the data would have (an argument is taken as contiguous), which numpy reshapes
without reading memory."""
import weakref

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..autograd.interpreter import bind
from ..errors import ShapeError, UnsupportedError, fmt_shape


class Views:
    """The views made while tracing, by the tensors they are (held weakly: a view nobody holds is not read anew)."""

    def __init__(self):
        self.of = {}  # id(view) -> (weakref to the view, base tensor, steps: ((primitive, args, attrs, k), ...))
        self.children = {}  # id(base) -> [weakref to each view of it]
        self.replaying = False

    def note(self, prim, args, attrs, result):
        """The outputs of view primitive `prim` applied to args (args[0] a tensor) are views of args[0]'s base."""
        if self.replaying or any(isinstance(a, Tensor) for a in args[1:]):
            return
        src = args[0]
        entry = self._entry(src)
        base, steps = (entry[1], entry[2]) if entry is not None else (src, ())
        outs = result if isinstance(result, (tuple, list)) else (result,)
        for k, t in enumerate(outs):
            ref = weakref.ref(t)
            path = steps + ((prim, args[1:], attrs, k if prim.n_out != 1 else None),)
            self.of[id(t)] = (ref, base, path)
            self.children.setdefault(id(base), []).append(ref)
            if _shares_memory(base, path):  # as eagerly (link_view): one version counter for a view and its base,
                if base._vc is None:         # so a write through either is seen by what backward saved of the other
                    base._vc = [0]
                t._vc = base._vc

    def base_of(self, t):
        """(base, steps) when a write into `t` must land in another tensor's memory (t a view, or a detached alias),
        else None."""
        entry = self._entry(t)
        if entry is not None and _shares_memory(entry[1], entry[2]):
            return entry[1], entry[2]
        alias = t._base
        if alias is not None and alias._data is t._data:  # t = x.detach() (or x.data): the same value, same memory
            return alias, ()
        return None

    def scatter(self, base, steps, target, value):
        """base's new value after `target` (its view through `steps`) takes `value` (an array of target's dtype)."""
        with no_grad():
            self.replaying = True
            try:
                sources = [base]
                for step in steps[:-1]:
                    sources.append(_apply(sources[-1], step))
                new = Tensor._make(value, target._device)
                for source, step in zip(reversed(sources), reversed(steps)):
                    new = _inverse(source, step, new)
                return new
            finally:
                self.replaying = False

    def reread(self, base, skip=None):
        """(view, its new value) for each live view of `base` (but `skip`), after a write into base."""
        refs = self.children.get(id(base))
        if not refs:
            return []
        live = [(v, self.of[id(v)][2]) for v in (r() for r in refs)
                if v is not None and v is not skip and self._entry(v) is not None and self.of[id(v)][1] is base]
        self.children[id(base)] = [weakref.ref(v) for v, _ in live]
        out = []
        with no_grad():
            self.replaying = True
            try:
                for v, steps in live:
                    if not _shares_memory(base, steps):
                        continue
                    fresh = base
                    for step in steps:
                        fresh = _apply(fresh, step)
                    out.append((v, fresh._data))
            finally:
                self.replaying = False
        return out

    def _entry(self, t):
        entry = self.of.get(id(t))
        return entry if entry is not None and entry[0]() is t else None


def _apply(source, step):
    prim, args, attrs, k = step
    out = bind(prim, source, *args, **attrs)
    return out if k is None else out[k]


def _inverse(source, step, new):
    """source's new value after its view through `step` takes the value `new`."""
    from ..ops.getitem import setitem_p

    prim, args, attrs, k = step
    name = prim.name
    if name in ("reshape", "unsqueeze"):
        return new.reshape(tuple(source.shape))
    if name == "permute":
        return new.permute(tuple(int(d) for d in np.argsort(attrs["dims"])))
    if name == "getitem":
        return bind(setitem_p, source, new, template=tuple(attrs["index"]), accumulate=False)
    if name == "unbind":
        index = (slice(None),) * attrs["dim"] + (k,)
        return bind(setitem_p, source, new, template=index, accumulate=False)
    if name == "expand":
        raise ShapeError(f"in-place write into an expanded tensor of shape {fmt_shape(new.shape)} (from "
                         f"{fmt_shape(source.shape)}): its elements share memory, so it is read-only, as eagerly; "
                         "write into a .clone() of it")
    raise UnsupportedError(f"in-place write into a view made by {name} inside eagerlab.function: not supported yet; "
                           "write into the tensor it views, or into a .clone()")


def _shares_memory(base, steps):
    """Whether the view of `base` through `steps` shares its memory eagerly (every step but a copying reshape)."""
    if not any(step[0].name == "reshape" for step in steps):
        return True
    probe = np.lib.stride_tricks.as_strided(np.zeros(1, np.int8), shape=tuple(base.shape),
                                            strides=_contiguous_strides(tuple(base.shape)))
    for prim, args, attrs, k in steps:
        if prim.name == "reshape":
            try:
                probe = np.reshape(probe, attrs["shape"], copy=False)
            except TypeError:  # numpy < 2.1: setting the shape raises where reshape would copy
                probe = probe.view()
                try:
                    probe.shape = attrs["shape"]
                except AttributeError:
                    return False
            except ValueError:
                return False
        else:
            out = prim.impl(np, probe, *args, **attrs)
            probe = out if k is None else out[k]
    return True


def _contiguous_strides(shape):
    strides, acc = [], 1
    for s in reversed(shape):
        strides.append(acc)
        acc *= max(s, 1)
    return tuple(reversed(strides))
