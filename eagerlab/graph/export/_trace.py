"""Tracing a model or function for export (to an eagerlab file or to ONNX): one inference trace, no side effects."""
import inspect

from ..._tensor import Tensor
from ...autograd import no_grad
from ...errors import AutogradError, UnsupportedError
from ..effects import WriteArgument
from ..protocols import TracedModule


class Traced:
    """What export needs from a trace: the optimized graph, input names and a name for every captured tensor."""

    __slots__ = ("graph", "input_names", "weight_names")

    def __init__(self, graph, input_names, weight_names):
        self.graph, self.input_names, self.weight_names = graph, input_names, weight_names


def trace_for_export(fn_or_module, example_inputs, what, nested=False):
    """Trace a Module's forward (or an eagerlab.function, or a plain callable) under no_grad for `example_inputs`
    (a tuple of tensors) and check that the graph is a pure function of its inputs and weights.

    nested: the arguments may also be tuples/lists of tensors, to any depth, and Python constants (None, bool,
    int, float, str: fixed in the trace, as torch.onnx.export does); the graph's inputs are the tensors in order."""
    from ..function import Function, function

    if isinstance(example_inputs, Tensor):
        example_inputs = (example_inputs,)
    _check_example_inputs(example_inputs, what, nested)
    if not callable(fn_or_module):
        raise TypeError(f"{what}: expected a Module, an eagerlab.function or a callable, got "
                        f"{type(fn_or_module).__name__}")
    compiled = fn_or_module if isinstance(fn_or_module, Function) else function(fn_or_module)
    try:
        with no_grad():
            graph = compiled.get_concrete_function(*example_inputs).graph
    except AutogradError as e:
        raise UnsupportedError(f"{what}: the function needs gradients ({e}); export traces an inference "
                               "function under no_grad, so a training step (backward, optimizer.step) cannot be "
                               "exported: export the model instead") from e
    for node in graph.nodes():
        if node.kind == "effect" and not isinstance(node.op, WriteArgument):  # (a write into an argument is the
            # caller's business, as eagerly: the exported graph writes into the tensor it is called with)
            line = f" at {node.where[0]}:{node.where[1]}" if node.where else ""
            raise UnsupportedError(
                f"{what}: the traced function has a side effect ({node.op.name} {node.op.describe()}{line}), so it "
                "is not a pure function of its inputs: a training step, an in-place write into a parameter or "
                "buffer, or a module in training mode (BatchNorm updates its running statistics: call "
                "model.eval() first). Export the inference function instead.")
    module = fn_or_module if isinstance(fn_or_module, TracedModule) else compiled.modules
    target = module.forward if module is not None else compiled.python_function
    return Traced(graph, _input_names(target, example_inputs), _weight_names(graph, module))


_CONSTANTS = (type(None), bool, int, float, str)


def _check_example_inputs(example_inputs, what, nested):
    if not isinstance(example_inputs, (tuple, list)):
        raise TypeError(f"{what}: example_inputs must be a tuple of tensors, got {type(example_inputs).__name__}")
    if not nested:
        if not all(isinstance(x, Tensor) for x in example_inputs):
            raise TypeError(f"{what}: example_inputs must be a tuple of tensors, got "
                            f"{type(example_inputs).__name__} holding {[type(x).__name__ for x in example_inputs]}")
        return
    for path, leaf in _leaves(example_inputs, "example_inputs"):
        if not isinstance(leaf, (Tensor, *_CONSTANTS)):
            hint = (": pass the tensors positionally, in the order of the function's parameters"
                    if isinstance(leaf, dict) else "")
            raise TypeError(f"{what}: {path} is a {type(leaf).__name__}; example_inputs may hold tensors, "
                            f"tuples/lists of them and Python constants (None, bool, int, float, str){hint}")


def _leaves(obj, path):
    """(path, leaf) for the non-container leaves of nested tuples/lists, depth first, e.g. ("hidden[1]", t)."""
    if isinstance(obj, (tuple, list)):
        for i, item in enumerate(obj):
            yield from _leaves(item, f"{path}[{i}]")
    else:
        yield path, obj


def _input_names(target, example_inputs):
    """A name per tensor input: the parameter's name, with the position inside it for a nested argument
    (hidden.0, hidden.1); input<i> past the named parameters."""
    try:
        params = [p.name for p in inspect.signature(target).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names = []
    for i, arg in enumerate(example_inputs):
        base = params[i] if i < len(params) else f"input{i}"
        for path, leaf in _leaves(arg, base):
            if isinstance(leaf, Tensor):
                names.append(path.replace("[", ".").replace("]", ""))
    return names


def _weight_names(graph, module):
    """id(captured tensor) -> name: a Module's parameters and buffers by their state_dict names, other captured
    tensors (a closure's) as capture.<i>."""
    by_array = {}  # modules may capture a detached alias of a buffer (batch_norm does): match the array too
    if module is not None:
        for name, t in list(module.named_parameters()) + list(module.named_buffers()):
            by_array.setdefault(id(t), name)
            by_array.setdefault(id(t._data), name)
    names, taken = {}, set()
    for i, node in enumerate(graph.captures):
        name = by_array.get(id(node.op), by_array.get(id(node.op._data)))
        if name is None or name in taken:
            name = f"capture.{i}"
            while name in taken or name in by_array.values():
                name = "_" + name
        names[id(node.op)] = name
        taken.add(name)
    return names
