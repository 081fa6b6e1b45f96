"""The generic op harness: turns OpInfo samples into tensors and checks one op against its references.

Used by test_opinfo.py for every registered op; a family's own tests may call it too.
"""
import numpy as np

import eagerlab
from eagerlab._tensor import Tensor
from eagerlab.autograd.interpreter import Interpreter
from eagerlab.ops._registry import Aval


def to_tensors(sample, dtype=np.float64, requires_grad=False):
    """Sample args -> tensors: float arrays cast to `dtype` (and made differentiable), others kept."""

    def conv(a):
        if isinstance(a, np.generic):  # rng.standard_normal(()) gives a numpy scalar: a 0-d sample
            a = np.asarray(a)
        if isinstance(a, np.ndarray):
            if a.dtype.kind == "f":
                t = Tensor._make(np.array(a, dtype=dtype, copy=True) if a.flags.c_contiguous
                                 else np.array(a, dtype=dtype).T.copy().T if a.ndim == 2 else a.astype(dtype),
                                 eagerlab.backend.CPU)
                return t.requires_grad_() if requires_grad else t
            return Tensor._make(a.copy(), eagerlab.backend.CPU)
        if isinstance(a, (list, tuple)) and a and all(isinstance(x, np.ndarray) for x in a):
            return type(a)(conv(x) for x in a)
        return a

    return [conv(a) for a in sample.args], {k: conv(v) for k, v in sample.kwargs.items()}


def flat_outputs(out):
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [o for x in out for o in flat_outputs(x)]
    return []


def to_numpy(x):
    if isinstance(x, Tensor):
        return x.detach().numpy()
    if isinstance(x, (tuple, list)):
        return [to_numpy(v) for v in x]
    return np.asarray(x)


class InferSpy(Interpreter):
    """An eager interpreter (install it with eagerlab.autograd.interpreter.installed) that checks infer() against
    every real output and records which primitives ran (forward or backward)."""

    def __init__(self):
        self.seen = set()
        self.mismatches = []

    def bind(self, prim, args, attrs):
        self.seen.add(prim.name)
        out = super().bind(prim, args, attrs)
        if not prim.dynamic_shape:
            avals = [Aval.of(a) if isinstance(a, Tensor) else a for a in args]
            expect = prim.infer(*avals, **attrs)
            got = tuple(Aval.of(o) for o in out) if isinstance(out, tuple) else Aval.of(out)
            expect = tuple(expect) if isinstance(expect, (tuple, list)) else expect
            if expect != got:
                self.mismatches.append((prim.name, expect, got))
        return out

    def bind_into(self, prim, target, args, attrs):
        self._bind_functional_into(prim, target, args, attrs)  # through bind, so in-place writes are checked too


def torch_args(torch, sample):
    def conv(a):
        if isinstance(a, np.generic):
            a = np.asarray(a)
        if isinstance(a, np.ndarray):
            return torch.from_numpy(np.array(a, order="C", copy=True))  # ascontiguousarray makes 0-d 1-d
        if isinstance(a, (list, tuple)) and a and all(isinstance(x, np.ndarray) for x in a):
            return type(a)(conv(x) for x in a)
        return a

    return [conv(a) for a in sample.args], {k: conv(v) for k, v in sample.kwargs.items()}
