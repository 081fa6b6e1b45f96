"""@eagerlab.function: trace a Python function once per call signature into a Graph, optimize it, generate code,
and run that code on later calls with the same signature.

The signature cache key holds, per tensor argument, (shape, dtype, device, requires_grad); Python scalars and
strings by value; other objects by identity; plus grad mode. A trace is also guarded by the training flags of
the modules it ran and by the requires_grad of the tensors it captured, so `model.eval()` or freezing a layer
retraces instead of running a stale graph.
"""
import functools
import warnings

from .._tensor import Tensor
from ..autograd.grad_mode import GradMode, Interpreter
from ..errors import TracingError
from . import autodiff, shape_poly
from .codegen import CompiledGraph
from .concrete import Backward, ConcreteFunction, PolyTrace, output_plan
from .passes import dead_code, lower, optimize
from .pytree import flatten, flatten_call, unflatten
from .signature import check_signature, describe, match_signature, relaxed_key, what_changed
from .trace import Tracer

RETRACE_WARNING_AFTER = 5  # traces of one function before the one warning about retracing
_EAGER = [False]


def run_functions_eagerly(run_eagerly):
    """Make every eagerlab.function call its Python function directly (for debugging), or stop doing so."""
    _EAGER[0] = bool(run_eagerly)


def functions_run_eagerly():
    return _EAGER[0]


class Function:
    """A Python function compiled on first call for each new signature. See the module docstring."""

    def __init__(self, python_function, input_signature=None, reduce_retracing=False, eager=False, name=None):
        if not callable(python_function):
            raise TypeError(f"eagerlab.function: expected a callable, got {type(python_function).__name__}")
        self.python_function = python_function
        self.input_signature = None if input_signature is None else check_signature(input_signature)
        self.reduce_retracing = bool(reduce_retracing)
        self.eager = bool(eager)
        self.__name__ = name or getattr(python_function, "__name__", type(python_function).__name__)
        functools.update_wrapper(self, python_function, updated=())
        self._cache = {}
        self._last = None
        self._history = []  # per trace: (argument descriptions, what changed), for retrace_report
        self._warned = False
        self._converted = None
        self._poly = {}  # relaxed key -> PolyTrace (traces serving every size of some dims)
        self._seen_shapes = {}  # reduce_retracing: argument structure -> [first shapes, dims seen to vary]
        self.modules = None  # the Module whose forward this compiles (module.compile(), eagerlab.function(module))

    # ---- methods: one Function per instance ---------------------------------------------------------------
    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        # kept in the instance's own __dict__, so it lives and dies with the instance (a copy of the instance,
        # whose __dict__ holds the original's binding, gets its own)
        slot = f"_eagerlab_function_{self.__name__}_{id(self):x}"
        attrs = getattr(instance, "__dict__", None)
        bound = attrs.get(slot) if attrs is not None else None
        if bound is None or bound.python_function.__self__ is not instance:
            bound = Function(self.python_function.__get__(instance, owner), self.input_signature,
                             self.reduce_retracing, self.eager, self.__name__)
            if attrs is not None:
                attrs[slot] = bound
        return bound

    def __deepcopy__(self, memo):
        """A copy (of a module holding compiled functions, say) starts untraced: the graphs capture the
        original's tensors."""
        import copy

        new = Function(copy.deepcopy(self.python_function, memo), self.input_signature, self.reduce_retracing,
                       self.eager, self.__name__)
        new.modules = copy.deepcopy(self.modules, memo)
        return new

    # ---- calling ----------------------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if self.eager or _EAGER[0]:
            return self.python_function(*args, **kwargs)
        if Interpreter.tracer is not None:  # called from a function being traced: becomes part of that graph
            return self._autograph()(*args, **kwargs)
        leaves, treedef = flatten_call(args, kwargs)
        key = self._key(leaves, treedef)
        entry = self._cache.get(key)
        if entry is None or not entry.guards_hold():
            entry = self._concrete(leaves, treedef, key)
        if entry.differentiable and GradMode.enabled:
            if entry.backward is not None:  # gradients flow back through a compiled backward graph
                return entry.run(leaves, entry.signature, record=True)
            # no backward graph (see autodiff.trace_backward): run the converted function eagerly, so autograd
            # records it; the graph serves calls without grad
            return self._autograph()(*args, **kwargs)
        return entry.run(leaves, entry.signature)

    def _key(self, leaves, treedef):
        parts = [treedef, GradMode.enabled]
        for x in leaves:
            if isinstance(x, Tensor):
                d = x._data
                parts.append((d.shape, d.dtype, x._device, x.requires_grad))
            else:
                parts.append(_key_part(x))
        return tuple(parts)

    def _autograph(self):
        """The function AutoGraph makes of python_function (user code converted, library code as is)."""
        if self._converted is None:
            from .autograph.call import converted_call

            fn = self.python_function
            self._converted = lambda *args, **kwargs: converted_call(fn, args, kwargs)
        return self._converted

    def _concrete(self, leaves, treedef, key):
        """The ConcreteFunction for this call: a specialization of a shape-polymorphic trace when the signature
        has None dimensions, else a new trace."""
        if self.input_signature is not None:
            match_signature(self.__name__, self.input_signature, leaves)
        poly_dims = self._poly_dims(leaves, treedef)
        if poly_dims:
            shapes = [tuple(x.shape) if isinstance(x, Tensor) else None for x in leaves]
            relaxed = relaxed_key(key, poly_dims)
            poly = self._poly.get(relaxed)
            if poly is None or not poly.guards_hold():
                poly = self._trace_polymorphic(leaves, treedef, key, shapes, poly_dims)
                self._poly[relaxed] = poly
            if poly.graph is not None:
                graph, extra = poly.graph.specialize([shapes[i][d] for i, d in poly.first_dims])
                return self._remember(key, self._entry(graph, poly.guards, poly.differentiable, leaves,
                                                       autodiff.remapped(poly.joint, extra)))
            if poly.base is not None:  # not polymorphic: the trace just made serves this shape only
                base, poly.base = poly.base, None
                return self._remember(key, self._entry(base, poly.guards, poly.differentiable, leaves, poly.joint))
        return self._trace(leaves, treedef, key)

    def _poly_dims(self, leaves, treedef):
        """(tensor leaf index, dim) pairs that may take any size: input_signature's None dims, or under
        reduce_retracing the dims whose size differed between calls of the same structure."""
        if self.input_signature is not None:
            specs = iter(flatten(self.input_signature)[0])
            return [(i, d) for i, x in enumerate(leaves) if isinstance(x, Tensor)
                    for spec in (next(specs),) if spec.shape is not None
                    for d, s in enumerate(spec.shape) if s is None]
        if not self.reduce_retracing:
            return []
        structure = (treedef,) + tuple((x.ndim, x.dtype, x._device) if isinstance(x, Tensor) else ("py", x)
                                       for x in leaves)
        shapes = [tuple(x.shape) if isinstance(x, Tensor) else None for x in leaves]
        seen = self._seen_shapes.setdefault(structure, [shapes, set()])
        seen[1].update((i, d) for i, (a, b) in enumerate(zip(seen[0], shapes)) if a is not None
                       for d in range(len(a)) if a[d] != b[d])
        return sorted(seen[1])

    def _trace_polymorphic(self, leaves, treedef, key, shapes, poly_dims):
        """One (counted) trace for all sizes of poly_dims: the function runs at this call's sizes, once per
        distinct size moved, and once to check (see shape_poly)."""
        poly = PolyTrace()
        sizes, which = shape_poly.symbols(shapes, poly_dims)
        poly.first_dims = [poly_dims[which.index(j)] for j in range(len(sizes))]
        base, tracer, poly.differentiable, poly.joint = self._trace_graph(leaves, treedef, key, shapes, True)
        poly.guards = _guards(tracer, base, self.modules)

        def probe(moves):  # (graph, the values outside it that a specialization must map too)
            graph, _, _, joint = self._trace_graph(leaves, treedef, None,
                                                   shape_poly.probe_shapes(shapes, poly_dims, which, moves), True)
            return graph, autodiff.values_of(joint)

        try:
            probes = [probe([shape_poly.PROBES[0] if k == j else 0 for k in range(len(sizes))])
                      for j in range(len(sizes))]
            check_moves = [shape_poly.PROBES[1] + k for k in range(len(sizes))]
            poly.graph = shape_poly.PolyGraph((base, autodiff.values_of(poly.joint)), sizes, probes,
                                              probe(check_moves), [s + m for s, m in zip(sizes, check_moves)])
            poly.base = None
        except Exception as exc:  # (a probe size the function refuses is as conclusive as a different structure)
            poly.graph, poly.base = None, base
            desc, change = self._history[-1]
            self._history[-1] = (desc, f"{change}; one trace per shape, as {exc}".lstrip("; "))
        return poly

    def _trace(self, leaves, treedef, key):
        graph, tracer, differentiable, joint = self._trace_graph(leaves, treedef, key, with_backward=True)
        return self._remember(key, self._entry(graph, _guards(tracer, graph, self.modules), differentiable, leaves,
                                               joint))

    def _trace_graph(self, leaves, treedef, key, shapes=None, with_backward=False):
        """Run the (converted) function on abstract tensors; (graph, tracer, whether results need gradients,
        the autodiff.Joint when the backward was traced too (its gradients join the output template)).
        key None: a probe trace, not counted."""
        tracer = Tracer(self.__name__)
        abstract = []
        with tracer:
            for i, x in enumerate(leaves):
                if isinstance(x, Tensor):
                    node = tracer.emit_input(x, shapes[i] if shapes else None)
                    abstract.append(Tensor._make(node.outputs[0], x._device, x.requires_grad))
                else:
                    abstract.append(x)
            args, kwargs = unflatten(treedef, abstract)
            result = self._autograph()(*args, **kwargs)
            # a result is differentiated through (rather than the function being a step that does its own
            # backward and update) when it needs grad and the only effects are writes into buffers (BatchNorm)
            differentiable = tracer.effect_kinds <= {"assign"} and any(
                isinstance(t, Tensor) and t.requires_grad for t in flatten(result)[0])
            traced = None
            if differentiable and with_backward and GradMode.enabled:
                traced = autodiff.trace_backward(tracer, result, [(i, t) for i, t in enumerate(abstract)
                                                                  if isinstance(t, Tensor)])
            graph = tracer.finish(result)
            if traced is not None:
                graph.output_template = (graph.output_template, traced[1])
        if key is not None:  # counted once it succeeded: a trace that raised is not a trace
            self._note_retrace(leaves, key)
        return graph, tracer, differentiable, traced and traced[0]

    def _entry(self, graph, guards, differentiable, leaves, joint=None):
        optimize(graph)
        entry = ConcreteFunction()
        entry.guards, entry.differentiable, entry.backward = guards, differentiable, None
        entry.signature = [i for i, x in enumerate(leaves) if isinstance(x, Tensor)]
        # the objects the cache key names by id: kept alive, so a new object can never reuse the id of a dead one
        entry.pinned = [x for x in leaves if not isinstance(x, Tensor) and _key_part(x)[0] == "object"]
        xp = _xp_of(graph, leaves)
        user = graph.output_template
        if joint is not None:
            graph, backward, n_saved = autodiff.split(graph, joint)
            dead_code(graph)
            user = graph.output_template[0]
            entry.backward = Backward(joint, backward, n_saved, xp, user)
        entry.graph = graph
        lowered, entry.memory = lower(graph, xp)
        entry.compiled = CompiledGraph(lowered, entry.memory, xp)
        entry.outputs = output_plan(user)
        return entry

    def _remember(self, key, entry):
        self._cache[key] = entry
        self._last = entry
        return entry

    # ---- inspection ---------------------------------------------------------------------------------------------
    @property
    def trace_count(self):
        return len(self._history)

    @property
    def graph(self):
        return self._require_trace("graph").graph

    @property
    def code(self):
        return self._require_trace("code").compiled.source

    def _require_trace(self, what):
        if self._last is None:
            raise TracingError(f"{self.__name__}.{what}: the function has not been traced yet; call it once (or use "
                               "get_concrete_function(*example_args))")
        return self._last

    def get_concrete_function(self, *args, **kwargs):
        """Trace for these example arguments (if not traced yet) and return that trace."""
        leaves, treedef = flatten_call(args, kwargs)
        key = self._key(leaves, treedef)
        entry = self._cache.get(key)
        return entry if entry is not None and entry.guards_hold() else self._concrete(leaves, treedef, key)

    def retrace_report(self):
        """Each trace's signature, and what differed from the one before."""
        lines = [f"{self.__name__}: {self.trace_count} trace(s)"]
        for i, (desc, change) in enumerate(self._history):
            lines.append(f"  #{i + 1}: {', '.join(desc)}" + (f"  <- {change}" if change else ""))
        return "\n".join(lines)

    def _note_retrace(self, leaves, key):
        desc = describe(self.python_function, leaves)
        change = what_changed(self._history[-1][0], desc) if self._history else ""
        if not change and self._history:
            change = "a module's training flag, a captured tensor's requires_grad or grad mode"
        self._history.append((desc, change))
        if len(self._history) > RETRACE_WARNING_AFTER and not self._warned:
            self._warned = True
            warnings.warn(
                f"eagerlab.function {self.__name__!r} has been traced {len(self._history)} times; the last retrace "
                f"came from {change}. Retracing is slow: pass tensors of a fixed shape, give "
                "input_signature=[eagerlab.TensorSpec([None, ...])] / reduce_retracing=True, and pass Python "
                f"numbers that change as tensors. See {self.__name__}.retrace_report().", UserWarning, stacklevel=3)

    def __repr__(self):
        return f"<eagerlab.function {self.__name__}, {self.trace_count} trace(s)>"


def function(fn=None, *, input_signature=None, reduce_retracing=False, eager=False):
    """Compile `fn` into a graph on first call (per signature). Use as `@eagerlab.function`,
    `@eagerlab.function(input_signature=[...])` or `eagerlab.function(module)` (a Module's forward)."""
    if fn is None:
        return lambda f: function(f, input_signature=input_signature, reduce_retracing=reduce_retracing,
                                  eager=eager)
    from ..nn.modules.module import Module

    if isinstance(fn, Module):
        return _module_function(fn, input_signature, reduce_retracing, eager)
    return Function(fn, input_signature, reduce_retracing, eager)


def compiled_forward(module, options):
    """What module.compile() installs as the module's forward: its class's forward, compiled."""
    compiled = Function(type(module).forward.__get__(module), name=f"{type(module).__name__}.forward", **options)
    compiled.modules = module
    return compiled


def _module_function(module, input_signature, reduce_retracing, eager):
    compiled = Function(module, input_signature, reduce_retracing, eager, name=type(module).__name__)
    compiled.modules = module
    return compiled


# ---- helpers ------------------------------------------------------------------------------------------------------
def _xp_of(graph, leaves):
    for v in graph.inputs:
        return v.device.xp
    for n in graph.captures:
        return n.op._device.xp
    return next((x._device.xp for x in leaves if isinstance(x, Tensor)), None) or _cpu_xp()


def _cpu_xp():
    from ..backend import CPU

    return CPU.xp


def _key_part(x):
    """The cache key's entry for a non-tensor argument: Python scalars and strings by value, others by identity."""
    if x is None or isinstance(x, (bool, int, float, complex, str, bytes)):
        return (type(x), x)
    return ("object", id(x))


def _guards(tracer, graph, root):
    modules = dict(tracer.modules)
    if root is not None:  # a compiled Module: its own flags count even where forward is not a submodule call
        modules.update((id(m), (m, m.training)) for m in root.modules())
    guards = [(m, "training", training) for m, training in modules.values()]
    guards += [(n.op, "requires_grad", tracer.saved_state[id(n.op)][4]) for n in graph.captures]
    arrays = [(n.op, n.outputs[0].shape, n.outputs[0].dtype) for n in graph.captures]
    slots = [(table, tuple(table.values())) for m, _ in modules.values() for table in (m._parameters, m._buffers)
             if table]
    return tuple(guards), tuple(arrays), tuple(slots)
