"""The op registry: Primitive records, `bind` (the one entry point every op goes through), and the public-op
table (OpInfo) that the generic tests walk.

A Primitive is the unit of the IR: `impl(xp, *arrays, **attrs)` computes on raw backend arrays, `infer(*avals,
**attrs)` gives output shapes/dtypes without computing (the tracer and error messages use it), `vjp(ctx, *grads)`
is the backward written in eagerlab ops (so higher-order gradients and traced backward come free), and
`save_inputs`/`save_outputs` say exactly what the backward keeps.

`bind` hands a primitive to the current interpreter: eager (run impl, record a tape Node when a gradient is
needed) or, while a function is being traced, the tracer (issue: graph capture).
"""
from numpy import asarray as _np_asarray, generic as _np_scalar

from .._tensor import Tensor
from ..autograd.grad_mode import GradMode, Interpreter
from ..autograd.node import Node
from ..backend import CPU, Device
from ..errors import AutogradError, DeviceError, DTypeError, IndexOutOfRange, ShapeError, UnsupportedError, fmt_shape

PRIMITIVES = {}
OPS = {}
EXPORTS = {}  # public names that are not ops with samples (aliases, creation and random helpers)


class Aval:
    """An abstract value: what is known about a tensor without its data."""

    __slots__ = ("shape", "dtype", "device")

    def __init__(self, shape, dtype, device=CPU):
        self.shape, self.dtype, self.device = tuple(shape), dtype, device

    @staticmethod
    def of(t):
        return Aval(t._data.shape, t.dtype, t._device)

    @property
    def ndim(self):
        return len(self.shape)

    def __eq__(self, other):
        return isinstance(other, Aval) and (self.shape, self.dtype, self.device) == (other.shape, other.dtype,
                                                                                     other.device)

    def __repr__(self):
        return f"Aval({fmt_shape(self.shape)}, {self.dtype.name}, {self.device})"


class Primitive:
    """One op of the IR. See the module docstring for the fields."""

    __slots__ = ("name", "impl", "infer", "vjp", "save_inputs", "save_outputs", "n_out", "view",
                 "nondiff_outputs", "dynamic_shape", "backward_name")

    def __init__(self, name, impl, infer, *, save_inputs=(), save_outputs=(), n_out=1, view=False,
                 nondiff_outputs=(), dynamic_shape=False):
        # n_out=None: impl returns a tuple whose length depends on the operands (unbind)
        if name in PRIMITIVES:
            raise ValueError(f"primitive {name!r} registered twice")
        self.name, self.impl, self.infer, self.vjp = name, impl, infer, None
        self.save_inputs, self.save_outputs = tuple(save_inputs), tuple(save_outputs)
        self.n_out, self.view, self.nondiff_outputs = n_out, view, tuple(nondiff_outputs)
        self.dynamic_shape = dynamic_shape
        self.backward_name = "".join(p.title() for p in name.split("_")) + "Backward0"
        PRIMITIVES[name] = self

    def defvjp(self, fn):
        """Decorator: `fn(ctx, *grads) -> tuple of grads, one per positional input` (None where not needed).
        ctx.saved (declared inputs then outputs), ctx.attrs, ctx.needs (per input), ctx.shapes (input shapes)."""
        self.vjp = fn
        return fn

    def __call__(self, *args, **attrs):
        return bind(self, *args, **attrs)

    def __repr__(self):
        return f"<primitive {self.name}>"


def primitive(name, infer, **options):
    """Decorator turning `impl(xp, *arrays, **attrs)` into a registered Primitive."""

    def make(impl):
        return Primitive(name, impl, infer, **options)

    return make


def bind(prim, *args, **attrs):
    """Apply a primitive to Tensors (and plain Python values, taken as constants)."""
    if Interpreter.tracer is not None:
        return Interpreter.tracer.bind(prim, args, attrs)
    dev = None
    grad = False
    arrays = []
    for a in args:
        if isinstance(a, Tensor):
            if dev is None:
                dev = a._device
            elif a._device is not dev:
                raise _device_mismatch(prim, args)
            if a.requires_grad:
                grad = True
            arrays.append(a._data)
        else:
            arrays.append(a)
    if dev is None:
        dev = Device(attrs.get("device", CPU))
    try:
        out = prim.impl(dev._xp or dev.xp, *arrays, **attrs)
    except Exception as exc:  # turn a backend error into a typed one that names the op and operands
        raise _explain(prim, args, attrs, exc) from exc
    if prim.n_out == 1 and isinstance(out, _np_scalar):
        out = _np_asarray(out)  # numpy reductions return scalars; a tensor always holds an array (0-d here)
    return wrap_outputs(prim, args, attrs, out, dev, grad)


def wrap_outputs(prim, args, attrs, out, dev, grad):
    """Tensors for an op's output data (arrays eagerly, graph Values while tracing), with a tape Node when a
    gradient is needed."""
    if grad and GradMode.enabled and prim.vjp is not None:
        return _record(prim, args, attrs, out, dev)
    if prim.n_out == 1:
        t = Tensor._make(out, dev)
        if prim.view:
            _link_view(t, args[0])
        return t
    outs = tuple(Tensor._make(o, dev) for o in out)
    if prim.view:
        for t in outs:
            _link_view(t, args[0])
    return outs


def _record(prim, args, attrs, out, dev):
    edges = []
    shapes = []
    needs = []
    for a in args:
        if isinstance(a, Tensor):
            shapes.append(a._data.shape)
            if a.requires_grad:
                edges.append((a._node, a._out) if a._node is not None else (a, -1))
                needs.append(True)
                continue
        else:
            shapes.append(None)
        edges.append(None)
        needs.append(False)
    node = Node(prim, attrs, tuple(edges), tuple(shapes), prim.n_out or len(out), tuple(needs))
    if prim.n_out == 1:
        t = Tensor._make(out, dev, True)
        t._node = node
        if prim.view:
            _link_view(t, args[0])
        outs = (t,)
        result = t
    else:
        outs = []
        for i, o in enumerate(out):
            diff = i not in prim.nondiff_outputs
            t = Tensor._make(o, dev, diff)
            if diff:
                t._node, t._out = node, i
            if prim.view:
                _link_view(t, args[0])
            outs.append(t)
        result = tuple(outs)
    if prim.save_inputs or prim.save_outputs:
        n = len(args)  # ops with a variable number of inputs declare the largest range they may save
        node.save([args[i] for i in prim.save_inputs if i < n], [outs[i] for i in prim.save_outputs])
    return result


def _link_view(t, src):
    """Make `t` share `src`'s version counter when the backend returned a view of src's memory."""
    base = t._data.base
    if base is not None and (base is src._data or base is src._data.base):
        if src._vc is None:
            src._vc = [0]
        t._vc = src._vc
        t._base = src._base if src._base is not None else src


def apply_inplace(prim, target, *args, **attrs):
    """Run `prim(target, *args)` and write the result into target's memory (`x.add_(y)`, `x[i] = v`).

    With autograd on, target takes the op's node as its new grad_fn, as in PyTorch. The old value is
    snapshotted only when the op's backward needs it.
    """
    tensors = [a for a in args if isinstance(a, Tensor)]
    if GradMode.enabled and (target.requires_grad or any(a.requires_grad for a in tensors)):
        if target._node is None and target.requires_grad:
            raise AutogradError(
                f"{prim.name}_: a leaf Variable that requires grad (shape {fmt_shape(target.shape)}) is being used "
                "in an in-place operation. Wrap it in `with eagerlab.no_grad():` or use the out-of-place op."
            )
        if target._base is not None and (target._base.requires_grad or target.requires_grad or tensors):
            raise UnsupportedError(
                f"{prim.name}_: in-place ops that autograd must track are not supported yet on views (this tensor "
                f"of shape {fmt_shape(target.shape)} is a view of one of shape {fmt_shape(target._base.shape)}); "
                "apply the op to the base tensor, or use the out-of-place op."
            )
        source = target
        if 0 in prim.save_inputs:  # (a traced value is never overwritten: no copy needed)
            data = target._data if Interpreter.tracer is not None else target._data.copy()
            source = Tensor._make(data, target._device, target.requires_grad)
            source._node, source._out = target._node, target._out
        result = bind(prim, source, *args, **attrs)
        _write_into(prim, target, result._data)
        target._node, target._out, target.requires_grad = result._node, result._out, result.requires_grad
    else:
        prev = GradMode.enabled
        GradMode.enabled = False
        try:
            result = bind(prim, target, *args, **attrs)
        finally:
            GradMode.enabled = prev
        _write_into(prim, target, result._data)
    target._bump()
    return target


def _write_into(prim, target, data):
    if data.shape != target._data.shape:
        raise ShapeError(
            f"{prim.name}_: output with shape {fmt_shape(target.shape)} doesn't match the broadcast shape "
            f"{fmt_shape(data.shape)}"
        )
    if data.dtype != target._data.dtype:
        if data.dtype.kind == "f" and target._data.dtype.kind in "iub" or (data.dtype.kind in "iu" and
                                                                          target._data.dtype.kind == "b"):
            raise DTypeError(f"{prim.name}_: result type {data.dtype} can't be cast to the desired output type "
                             f"{target._data.dtype}")
    if Interpreter.tracer is not None:
        Interpreter.tracer.write_into(target, data)
    else:
        target._data[...] = data


# ---- errors ---------------------------------------------------------------------------------------------
def describe(x):
    if isinstance(x, Tensor):
        return f"Tensor{fmt_shape(x.shape)} {x.dtype.name} on {x.device}"
    return repr(x)


def _device_mismatch(prim, args):
    devs = [f"{describe(a)}" for a in args if isinstance(a, Tensor)]
    return DeviceError(f"{prim.name}: expected all tensors to be on the same device, but found tensors on "
                       f"different devices: {', '.join(devs)}")


def _explain(prim, args, attrs, exc):
    """A typed error for a failed impl: the infer rule's own message if it rejects the operands, else the
    backend's message prefixed with the op name and operand shapes/dtypes."""
    avals = [Aval.of(a) if isinstance(a, Tensor) else a for a in args]
    try:
        prim.infer(*avals, **attrs)
    except (ShapeError, DTypeError, IndexOutOfRange, DeviceError, UnsupportedError) as e:
        # shared infer rules (broadcasting, ...) do not know which op called them: name it here
        return e if str(e).startswith(prim.name) else type(e)(f"{prim.name}: {e}")
    except Exception:
        pass
    if isinstance(exc, (ShapeError, DTypeError, IndexOutOfRange, DeviceError, UnsupportedError)):
        return exc
    operands = ", ".join(describe(a) for a in args)
    msg = f"{prim.name}: {exc} (operands: {operands}" + (f"; {attrs}" if attrs else "") + ")"
    if isinstance(exc, IndexError):
        return IndexOutOfRange(msg)
    if isinstance(exc, TypeError):
        return DTypeError(msg)
    if isinstance(exc, ValueError):
        return ShapeError(msg)
    return UnsupportedError(msg)


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
