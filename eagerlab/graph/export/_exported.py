"""ExportedFunction: a loaded exported graph, compiled once, called with tensors like the function it came from."""
import threading

from ..._tensor import Tensor
from ...autograd import no_grad
from ...backend import CPU, from_numpy_dtype
from ... import errors
from ...autograd.operands import typed_error
from ...errors import DeviceError, DTypeError, ResourceLimitError, ShapeError, fmt_shape
from ..codegen import CompiledGraph, LoopLimit
from ..effects import WriteArgument
from ..ir import Value
from ..passes import lower
from ..pytree import flatten, unflatten
from ..spec import TensorSpec
from ._limits import loop_limit_error


class ExportedFunction:
    """Calls the exported graph. `.graph`, `.code` (the generated source), `.input_specs` (TensorSpecs named
    after the original arguments), `.state_dict()` (the weights it holds, by their original names).

    Thread safety: it may be called from several threads at once; its graph runs one call at a time (it writes
    intermediates into buffers it keeps across calls), and each call's results are its own arrays."""

    def __init__(self, graph, input_names, weights, max_loop_iterations=None):
        self.graph = graph
        self.input_specs = tuple(TensorSpec(v.shape, from_numpy_dtype(v.dtype), name, v.device)
                                 for v, name in zip(graph.inputs, input_names))
        self._weights = dict(weights)
        devices = [v.device for v in graph.inputs] + [n.op._device for n in graph.captures]
        xp = (devices[0] if devices else CPU).xp
        limit = None if max_loop_iterations is None else LoopLimit(max_loop_iterations, loop_limit_error(graph.name))
        self._compiled = CompiledGraph(*lower(graph, xp), xp, limit)
        self._lock = threading.Lock()
        self._written = sorted({n.op.index for n in graph.nodes() if isinstance(n.op, WriteArgument)})
        self._leaves, self._tree = flatten(graph.output_template)

    @property
    def code(self):
        return self._compiled.source

    def state_dict(self):
        """The weights (name -> Tensor), shared with the graph: changing one in place changes what it computes."""
        return dict(self._weights)

    def __call__(self, *args):
        if len(args) != len(self.input_specs):
            raise TypeError(f"{self.graph.name}: the exported function takes {len(self.input_specs)} tensor "
                            f"argument(s) ({', '.join(s.name for s in self.input_specs)}), got {len(args)}")
        for i, (spec, x) in enumerate(zip(self.input_specs, args)):
            _check_argument(self.graph.name, i, spec, x)
        # the lock first: grad mode is process-wide for now, and calls that entered no_grad one after another must
        # leave it in the reverse order, or the last one out would leave grad disabled
        with self._lock, no_grad():
            try:
                outs = iter(self._compiled.run([x._data for x in args]))
            except Exception as exc:  # a typed error naming the node, whatever the file's graph tripped over
                raise _typed(self._compiled, exc) from exc
            finally:
                for k in self._written:  # arguments written in place: their versions move on, as eagerly
                    args[k]._bump()
        leaves = [Tensor._make(next(outs), leaf.device) if isinstance(leaf, Value) else leaf
                  for leaf in self._leaves]
        return unflatten(self._tree, leaves)

    def __repr__(self):
        return f"<ExportedFunction {self.graph.name}({', '.join(map(repr, self.input_specs))})>"


def _check_argument(fn_name, i, spec, x):
    what = f"{fn_name}: argument {i} ({spec.name!r})"
    if not isinstance(x, Tensor):
        raise TypeError(f"{what} must be a Tensor matching {spec!r}, got {type(x).__name__}")
    if tuple(x.shape) != spec.shape:
        raise ShapeError(f"{what} has shape {fmt_shape(tuple(x.shape))}, but the function was exported for "
                         f"{fmt_shape(spec.shape)}; export again with example inputs of this shape")
    if x.dtype is not spec.dtype:
        raise DTypeError(f"{what} has dtype {x.dtype.name}, expected {spec.dtype.name}; convert it with "
                         f".to(eagerlab.{spec.dtype.name})")
    if x._device is not spec.device:
        raise DeviceError(f"{what} is on {x.device}, expected {spec.device}; move it with .to({str(spec.device)!r})")


def _typed(compiled, exc):
    """`exc` from a run of the graph as an eagerlab typed error naming the node it came from: a graph that passed
    every check at load but fails on some data (an index out of range) says where, never with a raw IndexError or
    KeyError (eagerlab's own errors keep their type; running out of memory stays a MemoryError)."""
    if isinstance(exc, (ResourceLimitError, MemoryError)):
        return exc
    node = compiled.node_at(exc.__traceback__)
    where = "" if node is None else (" [while running the loaded graph: op " + node.name + "(" + ", ".join(
        f"{x.dtype}{fmt_shape(x.shape)}" if isinstance(x, Value) else repr(x) for x in node.inputs) + ")]")
    msg = f"{compiled.graph.name}: {exc}{where}"
    if type(exc).__module__ == errors.__name__:
        try:
            return type(exc)(msg)
        except Exception:
            return exc
    return typed_error(exc, msg)
