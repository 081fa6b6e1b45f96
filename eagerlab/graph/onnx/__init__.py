"""`eagerlab.onnx.export`: a traced inference function as an ONNX model, one converter per primitive (_ops.py,
_recurrent.py).

Needs the optional `onnx` package (`pip install eagerlab[onnx]`, which also brings onnxruntime to run the result).
Weights become initializers named as in the model's state_dict. Tensor-dependent control flow (cond/while) and ops
without a converter raise UnsupportedError naming the op.
"""
import warnings

import numpy as np

from ...backend import CPU, array_to_device
from ...errors import UnsupportedError
from ..export._trace import trace_for_export
from ..ir import Value
from ..pytree import flatten
from . import _options
from ._ops import CONVERTERS as _BASIC
from ._options import TrainingMode
from ._recurrent import CONVERTERS as _RECURRENT

CONVERTERS = {**_BASIC, **_RECURRENT}  # op name -> convert(builder, node)


def export(model_or_fn, example_inputs, path, opset=None, input_names=None, output_names=None, dynamic_batch=True, *,
           opset_version=None, dynamic_axes=None, export_params=True, do_constant_folding=True, verbose=None,
           training=TrainingMode.EVAL, keep_initializers_as_inputs=False, dynamo=None):
    """Trace `model_or_fn` for `example_inputs` under no_grad and write an ONNX model to `path` (a file name or a
    binary file object such as io.BytesIO; None: write nothing); returns the ModelProto.

    example_inputs: the positional arguments, a tuple of tensors, nested tuples/lists of them (an LSTM's
    (h_0, c_0)) and Python constants (fixed in the trace). The model's inputs are the tensors flattened in order,
    named after the parameters (x, hidden.0, hidden.1) unless `input_names` gives a name to each; its outputs are
    the returned tensors flattened likewise (output0, output1, ... unless `output_names`). dynamic_batch: the
    inputs' first dimension is symbolic ("batch"), so other batch sizes run too (reshapes keep the batch dim as 0
    or -1); for a sequence-first recurrent model that dimension is the sequence length. The outputs' dims are what
    ONNX shape inference derives from the inputs' (unknown where it cannot).

    PyTorch's keywords (torch.onnx.export), see docs/onnx.md:
    opset_version: the same as opset (default 17). dynamic_axes: {input or output name: {axis: dim name} or
    [axes]}; when given, exactly those dims are symbolic (it replaces dynamic_batch). export_params: True only (the
    weights are always initializers). do_constant_folding: accepted, True or False alike: the traced graph is
    always folded (an op whose operands are all constants is computed at trace time); ops on weights stay in the
    graph, for the runtime to fold. verbose: True prints the graph. training: TrainingMode.EVAL (the default) or
    False export a Module in eval mode (restored afterwards); PRESERVE keeps its mode; TRAINING is not supported.
    keep_initializers_as_inputs: False only. dynamo: accepted and ignored: eagerlab has one exporter, its own
    trace, and returns the ModelProto where PyTorch's dynamo exporter returns an ONNXProgram."""
    try:
        import onnx
    except ImportError:
        raise ImportError("eagerlab.onnx.export needs the onnx package: pip install onnx onnxruntime "
                          "(or pip install eagerlab[onnx])") from None
    del do_constant_folding, dynamo  # (accepted for PyTorch scripts; their meaning in eagerlab is above)
    opset = _options.opset(opset, opset_version)
    _options.check_unsupported(export_params, keep_initializers_as_inputs)
    with _options.training_mode(model_or_fn, training):
        traced = trace_for_export(model_or_fn, example_inputs, "onnx.export", nested=True)
    for node in traced.graph.nodes():  # (trace_for_export lets only writes into the function's arguments through)
        if node.kind == "effect":
            raise UnsupportedError(f"onnx.export: the function writes in place {node.op.describe()}; an ONNX graph "
                                   "cannot write into its inputs: return the new value instead")
    model = _Builder(onnx, traced, opset).model(input_names, output_names, dynamic_batch, dynamic_axes)
    onnx.checker.check_model(model, full_check=True)
    if verbose:
        print(_printable(onnx, model.graph))
    if path is not None:
        onnx.save(model, path)  # (a path or a file object with write())
    return model


class _Builder:
    """Accumulates ONNX nodes and initializers; converters call name/operand/const/emit/outs."""

    def __init__(self, onnx, traced, opset):
        self.onnx, self.helper, self.traced, self.opset = onnx, onnx.helper, traced, opset
        self.nodes, self.initializers, self.names, self.counter = [], [], {}, 0
        self.uses = {}
        for node in traced.graph.nodes():
            for x in node.inputs:
                if isinstance(x, Value):
                    self.uses[x] = self.uses.get(x, 0) + 1
        for v in traced.graph.outputs:
            self.uses[v] = self.uses.get(v, 0) + 1

    # ---- for converters --------------------------------------------------------------------------------------
    def name(self, v):
        return self.names[v]

    def used(self, v):
        return self.uses.get(v, 0) > 0

    def outs(self, node):
        return [self.names.setdefault(v, f"v{v.id}") for v in node.outputs]

    def fresh(self, hint):
        self.counter += 1
        return f"{hint}_{self.counter}"

    def const(self, array, hint):
        name = self.fresh(hint)
        # (not ascontiguousarray: it makes a 0-d array 1-d, and a scalar index must stay a scalar)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array, order="C"), name))
        return name

    def operand(self, x, dtype):
        return self.name(x) if isinstance(x, Value) else self.const(np.asarray(x, dtype), "scalar")

    def elem_type(self, np_dtype):
        return self.helper.np_dtype_to_tensor_dtype(np.dtype(np_dtype))

    def emit(self, op_type, inputs, outputs=None, **attrs):
        """Append a node; returns its (first) output name, a fresh one unless `outputs` are given."""
        outputs = outputs or [self.fresh(op_type.lower())]
        self.nodes.append(self.helper.make_node(op_type, inputs, outputs, name=self.fresh(op_type), **attrs))
        return outputs[0]

    # ---- the model -----------------------------------------------------------------------------------------------
    def model(self, input_names, output_names, dynamic_batch, dynamic_axes):
        graph, traced = self.traced.graph, self.traced
        outs = list(graph.outputs)
        if len(outs) != len(flatten(graph.output_template)[0]):
            raise UnsupportedError("onnx.export: an ONNX model returns only tensors; the function also returns "
                                   "Python values")
        in_names = _names(input_names, traced.input_names, "input_names")
        out_names = _names(output_names, [f"output{i}" for i in range(len(outs))], "output_names")
        in_axes, out_axes = _options.dynamic_dims(dynamic_axes, dynamic_batch, in_names, [v.ndim for v in graph.inputs],
                                                  out_names, [v.ndim for v in outs])
        inputs = []
        for v, name, axes in zip(graph.inputs, in_names, in_axes):
            self.names[v] = name
            inputs.append(self.info(name, v, [axes.get(d, n) for d, n in enumerate(v.shape)]))
        for node in graph.captures:
            self.names[node.outputs[0]] = name = traced.weight_names[id(node.op)]
            self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(node.op._host()), name))
        for node in graph.body.nodes:
            self.node(node)
        for v, name in zip(outs, out_names):
            self.emit("Identity", [self.name(v)], [name])  # the requested name, even for an input or a weight
        out_dims = self._inferred_dims(inputs, outs, out_names) if any(in_axes) else [list(v.shape) for v in outs]
        outputs = [self.info(name, v, [axes.get(d, dim) for d, dim in enumerate(dims)])
                   for v, name, axes, dims in zip(outs, out_names, out_axes, out_dims)]
        return self._make(inputs, outputs, self.initializers)

    def _inferred_dims(self, inputs, outs, out_names):
        """Each output's dims (a size, symbol or None) as ONNX shape inference derives them from the symbolic
        inputs. The weights go in as inputs of their shape, without their values, which inference would copy."""
        weights = set(self.traced.weight_names.values())
        shaped = [self.helper.make_tensor_value_info(i.name, i.data_type, i.dims) for i in self.initializers
                  if i.name in weights]
        model = self._make(inputs + shaped, [self.info(name, v, None) for v, name in zip(outs, out_names)],
                           [i for i in self.initializers if i.name not in weights])
        found = self.onnx.shape_inference.infer_shapes(model).graph.output
        return [_dims(info, v.ndim) for v, info in zip(outs, found)]

    def _make(self, inputs, outputs, initializers):
        onnx_graph = self.helper.make_graph(self.nodes, self.traced.graph.name, inputs, outputs, initializers)
        return self.helper.make_model(onnx_graph, opset_imports=[self.helper.make_opsetid("", self.opset)],
                                      producer_name="eagerlab")

    def info(self, name, v, shape):
        """A value info; shape: a dim size, symbol or None (unknown) per dim; None for no shape at all."""
        return self.helper.make_tensor_value_info(name, self.elem_type(v.dtype), shape)

    def node(self, node):
        where = f" (from {node.where[0]}:{node.where[1]})" if node.where else ""
        if node.kind == "const":
            self.names[node.outputs[0]] = self.const(array_to_device(node.op, CPU), "const")
            return
        convert = CONVERTERS.get(node.name) if node.kind == "prim" else None
        if convert is None:
            raise UnsupportedError(f"onnx.export: op {node.name}{where} has no ONNX converter (supported: "
                                   f"{', '.join(sorted(CONVERTERS))}); tensor-dependent if/while cannot be exported")
        convert(self, node)


def _printable(onnx, graph):
    """The graph as text, weights by name and shape (onnx.printer.to_text would print every weight's values)."""
    if not hasattr(onnx.helper, "printable_graph"):  # (deprecated since onnx 1.19)
        return onnx.printer.to_text(graph)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return onnx.helper.printable_graph(graph)


def _dims(value_info, ndim):
    """The dims shape inference found for an output: a size, a symbol or None (unknown) for each."""
    tensor_type = value_info.type.tensor_type
    if not tensor_type.HasField("shape") or len(tensor_type.shape.dim) != ndim:
        return [None] * ndim
    return [d.dim_value if d.HasField("dim_value") else d.dim_param or None for d in tensor_type.shape.dim]


def _names(given, default, what):
    if given is None:
        return list(default)
    if len(given) != len(default) or not all(isinstance(n, str) for n in given):
        raise ValueError(f"onnx.export: {what} must be {len(default)} strings, got {given!r}")
    return list(given)


__all__ = ["export", "TrainingMode"]
