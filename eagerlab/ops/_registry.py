"""The op registry: Primitive records, `bind` (the one entry point every op goes through), and the public-op
table (OpInfo) that the generic tests walk.

A Primitive is the unit of the IR: `impl(xp, *arrays, **attrs)` computes on raw backend arrays, `infer(*avals,
**attrs)` gives output shapes/dtypes without computing (the tracer and error messages use it), `vjp(ctx, *grads)`
is the backward written in eagerlab ops (so higher-order gradients and traced backward come free), and
`save_inputs`/`save_outputs` say exactly what the backward keeps, and `save_when` drops what the gradients asked for
cannot use: {position in ctx.saved: the inputs whose gradients read it}; a value none of those inputs needs is
saved as None (so `a * 2` keeps nothing, and a later in-place change of `a` breaks no backward). A vjp may return
a gradient of an input's broadcast shape: `reduce_grad` sums it back to the input's shape (the backward engine asks
the op's record, so autograd itself imports no op). An optional `impl_inplace(xp, target, *arrays, **attrs)` lets
the eager interpreter write an in-place op straight into its target when nothing is recorded.

`bind` (eagerlab.autograd.interpreter, re-exported here for op files) hands a primitive to the thread's current
interpreter: eager (run impl, record a tape Node when a gradient is needed) or, while a function is being traced,
the graph tracer.
"""
from .._tensor import Tensor
from ..autograd.interpreter import apply_inplace, bind, policy_point
from ..autograd.operands import Aval
from . import autocast_policy

PRIMITIVES = {}
OPS = {}
EXPORTS = {}  # public names that are not ops with samples (aliases, creation and random helpers)

__all__ = ["Aval", "Primitive", "apply_inplace", "bind", "export", "method", "op", "primitive"]


class Primitive:
    """One op of the IR. See the module docstring for the fields."""

    __slots__ = ("name", "impl", "infer", "vjp", "save_inputs", "save_outputs", "save_when", "_save_plans", "n_out",
                 "view", "nondiff_outputs", "dynamic_shape", "backward_name", "impl_inplace")

    def __init__(self, name, impl, infer, *, save_inputs=(), save_outputs=(), save_when=None, n_out=1, view=False,
                 nondiff_outputs=(), dynamic_shape=False, impl_inplace=None):
        # n_out=None: impl returns a tuple whose length depends on the operands (unbind)
        if name in PRIMITIVES:
            raise ValueError(f"primitive {name!r} registered twice")
        self.name, self.impl, self.infer, self.vjp = name, impl, infer, None
        self.save_inputs, self.save_outputs = tuple(save_inputs), tuple(save_outputs)
        self.save_when, self._save_plans = save_when, {}
        self.n_out, self.view, self.nondiff_outputs = n_out, view, tuple(nondiff_outputs)
        self.dynamic_shape, self.impl_inplace = dynamic_shape, impl_inplace
        self.backward_name = "".join(p.title() for p in name.split("_")) + "Backward0"
        PRIMITIVES[name] = self

    def defvjp(self, fn):
        """Decorator: `fn(ctx, *grads) -> tuple of grads, one per positional input` (None where not needed).
        ctx.saved (declared inputs then outputs), ctx.attrs, ctx.needs (per input), ctx.shapes (input shapes)."""
        self.vjp = fn
        return fn

    def save_plan(self, needs):
        """(input indices, output indices) to save when `needs` (per input) says which inputs need a gradient; -1
        where `save_when` drops the value. Worked out once per pattern of needs."""
        plan = self._save_plans.get(needs)
        if plan is None:
            n_in = len(self.save_inputs)
            keep = [not (pos in self.save_when and not any(needs[i] for i in self.save_when[pos] if i < len(needs)))
                    for pos in range(n_in + len(self.save_outputs))]
            plan = (tuple(i if k else -1 for i, k in zip(self.save_inputs, keep)),
                    tuple(i if k else -1 for i, k in zip(self.save_outputs, keep[n_in:])))
            self._save_plans[needs] = plan
        return plan

    @staticmethod
    def reduce_grad(grad, shape):
        """The gradient of an input of `shape` from one of the broadcast shape (sums over the broadcast dims)."""
        from .reduce import sum_to

        return sum_to(grad, shape)

    def __call__(self, *args, **attrs):
        return bind(self, *args, **attrs)

    def __repr__(self):
        return f"<primitive {self.name}>"


def primitive(name, infer, **options):
    """Decorator turning `impl(xp, *arrays, **attrs)` into a registered Primitive."""

    def make(impl):
        return Primitive(name, impl, infer, **options)

    return make


# ---- public ops (the OpInfo table) -------------------------------------------------------------------------
class OpInfo:
    """A public op and how to test it: samples(rng) -> [Sample], a numpy reference, the PyTorch equivalent."""

    __slots__ = ("name", "fn", "samples", "ref", "torch", "grad", "gradgrad", "atol", "rtol")

    def __init__(self, name, fn, samples, ref, torch, grad, gradgrad, atol, rtol):
        self.name, self.fn, self.samples, self.ref, self.torch = name, fn, samples, ref, torch
        self.grad, self.gradgrad, self.atol, self.rtol = grad, gradgrad, atol, rtol


class Sample:
    """Arguments for one test call: numpy arrays become tensors (float ones differentiable), the rest as is."""

    __slots__ = ("args", "kwargs", "grad", "note")

    def __init__(self, *args, grad=True, note="", **kwargs):
        self.args, self.kwargs, self.grad, self.note = args, kwargs, grad, note

    def __repr__(self):
        shapes = [getattr(a, "shape", a) for a in self.args]
        return f"Sample({shapes}, {self.kwargs}{', ' + self.note if self.note else ''})"


def op(name=None, *, methods=(), aliases=(), samples=None, ref=None, torch=None, grad=True, gradgrad=True,
       atol=1e-6, rtol=1e-5, register=True):
    """Register a public function as an op: exported as `eagerlab.<name>`, attached as Tensor `methods`, and
    tested by the generic harness with `samples` (gradcheck unless grad=False; double backward unless
    gradgrad=False; forward against `ref` and against `torch` - a name under `torch.` or a callable)."""

    def make(fn):
        opname = name or fn.__name__
        if opname in autocast_policy.PUBLIC:
            fn = policy_point(opname, fn)
        if register:
            if opname in OPS:
                raise ValueError(f"op {opname!r} registered twice")
            OPS[opname] = OpInfo(opname, fn, samples, ref, torch, grad, gradgrad, atol, rtol)
        for a in aliases:
            EXPORTS[a] = fn
        for m in methods:
            setattr(Tensor, m, fn)
        return fn

    return make


def export(*names):
    """Decorator: publish a function as `eagerlab.<name>` (for each name) without an OpInfo; for helpers
    that are not math ops (creation, random draws) or aliases of ops that have one."""

    def make(fn):
        for n in names or (fn.__name__,):
            EXPORTS[n] = fn
        return fn

    return make


def method(*names):
    """Attach a function as Tensor methods without registering a public op (in-place and dunder variants)."""

    def make(fn):
        for m in names:
            setattr(Tensor, m, fn)
        return fn

    return make
