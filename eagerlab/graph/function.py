"""@eagerlab.function: trace a Python function once per call signature into a Graph, optimize it, generate code,
and run that code on later calls with the same signature.

Function orchestrates: the cache key and input_signature (signature.py), tracing a call (trace_call.py) and the
guards a trace is reused under (guards.py), one trace for many shapes (shape_poly.py), building and running what a
trace compiles to (concrete.py), and the retrace history (retracing.py).
"""
import functools
import threading

from .._tensor import Tensor
from ..autograd.grad_mode import is_grad_enabled
from ..errors import TracingError
from . import shape_poly
from .concrete import ConcreteFunction
from .protocols import TracedModule
from .pytree import flatten_call
from .retracing import RetraceHistory
from .signature import PolyDims, cache_key, check_signature, match_signature, relaxed_key
from .trace import active_tracer
from .trace_call import trace_call

_EAGER = [False]


def run_functions_eagerly(run_eagerly):
    """Make every eagerlab.function call its Python function directly (for debugging), or stop doing so."""
    _EAGER[0] = bool(run_eagerly)


def functions_run_eagerly():
    return _EAGER[0]


class Function:
    """A Python function compiled on first call for each new signature. See the module docstring.

    Thread safety: a Function may be called from several threads at once. Its calls run one at a time (a lock per
    Function, held from the cache lookup and any trace to the end of the run), since a compiled graph writes its
    intermediates into buffers it keeps across calls; a backward graph has a lock of its own. Each call's results
    are its own arrays. Calls of different Functions do not wait for each other.
    """

    def __init__(self, python_function, input_signature=None, reduce_retracing=False, eager=False, name=None):
        if not callable(python_function):
            raise TypeError(f"eagerlab.function: expected a callable, got {type(python_function).__name__}")
        self.python_function = python_function
        self.input_signature = None if input_signature is None else check_signature(input_signature)
        self.reduce_retracing = bool(reduce_retracing)
        self.eager = bool(eager)
        self.__name__ = name or getattr(python_function, "__name__", type(python_function).__name__)
        functools.update_wrapper(self, python_function, updated=())
        self._cache = {}  # cache key -> ConcreteFunction
        self._last = None
        self._retraces = RetraceHistory(self.__name__)
        self._converted = None
        self._poly = {}  # relaxed key -> shape_poly.PolyTrace (traces serving every size of some dims)
        self._poly_dims = PolyDims(self.input_signature, self.reduce_retracing)
        self.modules = None  # the Module whose forward this compiles (module.compile(), eagerlab.function(module))
        # reentrant: the function may call itself while it is traced
        self._lock = threading.RLock()

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
        if active_tracer() is not None:  # called from a function this thread traces: becomes part of that graph
            return self._autograph()(*args, **kwargs)
        leaves, treedef = flatten_call(args, kwargs)
        with self._lock:  # from the cache lookup (and any trace) to the end of the run: see the class docstring
            entry = self._concrete(leaves, treedef)
            if entry.differentiable and is_grad_enabled():
                if entry.backward is not None:  # gradients flow back through a compiled backward graph
                    return entry.run(leaves, entry.signature, record=True)
                # no backward graph (see autodiff.trace_backward): run the converted function eagerly, so autograd
                # records it; the graph serves calls without grad
                return self._autograph()(*args, **kwargs)
            return entry.run(leaves, entry.signature)

    def _autograph(self):
        """The function AutoGraph makes of python_function (user code converted, library code as is)."""
        if self._converted is None:
            from .autograph.call import converted_call

            fn = self.python_function
            self._converted = lambda *args, **kwargs: converted_call(fn, args, kwargs)
        return self._converted

    def _concrete(self, leaves, treedef):
        """The ConcreteFunction for this call: the cached one if its guards hold, else a specialization of a
        shape-polymorphic trace when some dimensions may take any size, else a new trace."""
        key = cache_key(leaves, treedef)
        entry = self._cache.get(key)
        if entry is not None and entry.guards.hold():
            return entry
        if self.input_signature is not None:
            match_signature(self.__name__, self.input_signature, leaves)
        poly_dims = self._poly_dims(leaves, treedef)
        trace = None
        if poly_dims:
            shapes = [tuple(x.shape) if isinstance(x, Tensor) else None for x in leaves]
            relaxed = relaxed_key(key, poly_dims)
            poly = self._poly.get(relaxed)
            if poly is None or not poly.base.guards.hold():
                poly = shape_poly.trace_polymorphic(lambda s, counted: self._trace(leaves, treedef, s, counted),
                                                    shapes, poly_dims)
                if poly.why_not is not None:
                    self._retraces.explain_last(f"one trace per shape, as {poly.why_not}")
                self._poly[relaxed] = poly
            trace = poly.trace_for(shapes)
        entry = ConcreteFunction(trace or self._trace(leaves, treedef), leaves)
        self._cache[key] = self._last = entry
        return entry

    def _trace(self, leaves, treedef, shapes=None, counted=True):
        trace = trace_call(self._autograph(), self.__name__, leaves, treedef, shapes, self.modules)
        if counted:  # once it succeeded: a trace that raised is not a trace
            self._retraces.note(self.python_function, leaves)
        return trace

    # ---- inspection ---------------------------------------------------------------------------------------------
    @property
    def trace_count(self):
        return len(self._retraces)

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
        with self._lock:
            return self._concrete(*flatten_call(args, kwargs))

    def retrace_report(self):
        """Each trace's signature, and what differed from the one before."""
        return self._retraces.report()

    def __repr__(self):
        return f"<eagerlab.function {self.__name__}, {self.trace_count} trace(s)>"


def function(fn=None, *, input_signature=None, reduce_retracing=False, eager=False):
    """Compile `fn` into a graph on first call (per signature). Use as `@eagerlab.function`,
    `@eagerlab.function(input_signature=[...])` or `eagerlab.function(module)` (a Module's forward).

    The result may be called from several threads at once: its calls then run one at a time (see Function)."""
    if fn is None:
        return lambda f: function(f, input_signature=input_signature, reduce_retracing=reduce_retracing,
                                  eager=eager)
    if isinstance(fn, TracedModule):
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
