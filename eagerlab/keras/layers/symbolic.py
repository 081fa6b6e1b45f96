"""Symbolic tensors for the functional API: `keras.Input(shape)` gives a KerasTensor; calling a layer on
KerasTensors builds the layer from their shapes and records the call (a Node) instead of computing, returning
KerasTensors of the output shapes. keras.Model(inputs, outputs) replays the recorded calls on real tensors."""
from ...autograd.interpreter import Interpreter, installed


class KerasTensor:
    """A tensor of the functional graph: its shape (None for the batch), dtype, and the call that makes it."""

    __slots__ = ("shape", "dtype", "node", "index")

    def __init__(self, shape, dtype="float32", node=None, index=0):
        self.shape, self.dtype, self.node, self.index = tuple(shape), dtype, node, index

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        layer = self.node.layer.name if self.node is not None else "?"
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, from layer {layer!r}>"


class Node:
    """One call of a layer in the graph: its inputs (KerasTensors, or a list of them) and outputs."""

    __slots__ = ("layer", "inputs", "kwargs", "outputs")

    def __init__(self, layer, inputs, kwargs):
        self.layer, self.inputs, self.kwargs, self.outputs = layer, inputs, kwargs, ()

    def input_tensors(self):
        return list(self.inputs) if isinstance(self.inputs, (list, tuple)) else [self.inputs]


def is_symbolic(inputs):
    if isinstance(inputs, (list, tuple)):
        return any(isinstance(x, KerasTensor) for x in inputs)
    return isinstance(inputs, KerasTensor)


def _shapes(inputs):
    return [x.shape for x in inputs] if isinstance(inputs, (list, tuple)) else inputs.shape


def call_symbolic(layer, inputs, kwargs):
    """layer(inputs) on KerasTensors: build from their shapes (weights get real values, outside any trace), record
    the call, and return KerasTensors of compute_output_shape's shapes."""
    if isinstance(inputs, (list, tuple)) and not all(isinstance(x, KerasTensor) for x in inputs):
        raise TypeError(f"{layer.name}: a functional-API call takes KerasTensors only (all outputs of keras.Input "
                        "or of other layers' calls); got a mix with real tensors")
    shapes = _shapes(inputs)
    if not layer.built:
        with installed(Interpreter()):
            layer.build(shapes)
        layer.built = True
    out_shape = layer.compute_output_shape(shapes)
    node = Node(layer, inputs, kwargs)
    layer._inbound_nodes.append(node)
    several = isinstance(out_shape, list)  # a layer with several outputs (an RNN with return_state)
    dtype = layer.compute_dtype
    node.outputs = tuple(KerasTensor(s, dtype, node, i) for i, s in enumerate(out_shape if several else [out_shape]))
    return list(node.outputs) if several else node.outputs[0]
