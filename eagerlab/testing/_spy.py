"""InferSpy: an interpreter that runs every primitive eagerly and checks its infer() rule against the real output."""
from .. import autograd
from .._tensor import Tensor
from ..ops import OPS
from ..ops.creation import ones_like
from ..autograd.interpreter import Interpreter, installed
from ..ops._registry import Aval
from ._opinfo import flat_tensors, samples, to_tensors


class InferSpy(Interpreter):
    """An eager interpreter (install it with eagerlab.autograd.interpreter.installed, or run_samples) that checks
    infer() against every real output and records which primitives ran (forward or backward). Subclass and extend
    `bind` to watch more."""

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


def run_samples(spy, ops=None):
    """Run every sample of `ops` (OpInfos or names; default every registered op) under `spy`: forward, and backward
    where the op and sample are differentiable. Returns the spy."""
    with installed(spy):
        for name in sorted(OPS) if ops is None else ops:
            info = OPS[name] if isinstance(name, str) else name
            for s in samples(info):
                args, kwargs = to_tensors(s, requires_grad=info.grad and s.grad)
                outs = [o for o in flat_tensors(info.fn(*args, **kwargs)) if o.requires_grad]
                if outs:
                    autograd.backward(outs, [ones_like(o) for o in outs])
    return spy


def check_infer(ops=None):
    """Every primitive that `ops`' samples run (default: every registered op's) has an infer() rule that agrees
    with its eager output. Returns the names of the primitives that ran."""
    spy = run_samples(InferSpy(), ops)
    assert not spy.mismatches, f"infer disagrees with eager output: {spy.mismatches[:10]}"
    return spy.seen
