"""The functional API: `keras.Model(inputs, outputs)` over the layer calls recorded on KerasTensors. The model
runs those calls in order on real tensors; its config lists each layer with the calls feeding it, so load_model
rebuilds the same graph from registered classes."""
from ..layers.input_layer import InputLayer
from ..layers.symbolic import KerasTensor
from ..saving import get_registered, get_registered_name, register_builtin
from .model import Model


def _flat(structure):
    if isinstance(structure, dict):
        return list(structure.values())
    return list(structure) if isinstance(structure, (list, tuple)) else [structure]


def _nodes_between(inputs, outputs):
    """The layer calls that make `outputs` from `inputs`, each after the calls it needs (a depth-first order)."""
    order, seen, sources = [], set(), {id(x) for x in inputs}

    def visit(tensor, path):
        if not isinstance(tensor, KerasTensor):
            raise TypeError(f"keras.Model: inputs and outputs must be KerasTensors (from keras.Input and layer "
                            f"calls), got {type(tensor).__name__}")
        if id(tensor) in sources:
            return
        node = tensor.node
        if isinstance(node.layer, InputLayer):
            raise ValueError(f"Graph disconnected: the output depends on the input {node.layer.name!r} "
                             f"(shape {tensor.shape}), which is not among the model's inputs "
                             f"(at layer {path!r})")
        if id(node) in seen:
            return
        for x in node.input_tensors():
            visit(x, node.layer.name)
        seen.add(id(node))
        order.append(node)

    for out in outputs:
        visit(out, out.node.layer.name)
    return order


@register_builtin
class Functional(Model):
    """What keras.Model(inputs, outputs) makes."""

    def __init__(self, inputs, outputs, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self._input_struct, self._output_struct = inputs, outputs
        self._inputs, self._outputs = _flat(inputs), _flat(outputs)
        self._nodes = _nodes_between(self._inputs, self._outputs)
        layers = [x.node.layer for x in self._inputs] + [n.layer for n in self._nodes]
        for layer in dict.fromkeys(layers):
            if layer.name in self._modules and self._modules[layer.name] is not layer:
                raise ValueError(f"keras.Model: two layers are named {layer.name!r}; layer names must be unique")
            self.add_module(layer.name, layer)
        self._build_input_shape = self._inputs[0].shape if len(self._inputs) == 1 else None
        self.built = True

    def _output_names(self):
        if not isinstance(self._output_struct, (list, tuple, dict)) or len(self._outputs) == 1:
            return None
        return [x.node.layer.name for x in self._outputs]

    @property
    def layers(self):
        return list(self._modules.values())

    @property
    def inputs(self):
        return list(self._inputs)

    @property
    def outputs(self):
        return list(self._outputs)

    def call(self, inputs, training=None):
        given = _flat(inputs) if len(self._inputs) > 1 else [inputs]
        if len(given) != len(self._inputs):
            raise ValueError(f"{self.name}: expects {len(self._inputs)} inputs, got {len(given)}")
        values = {id(k): v for k, v in zip(self._inputs, given)}
        for node in self._nodes:
            args = node.inputs
            args = [values[id(x)] for x in args] if isinstance(args, (list, tuple)) else values[id(args)]
            result = node.layer(args, **node.kwargs)
            for k, r in zip(node.outputs, result if len(node.outputs) > 1 else [result]):
                values[id(k)] = r
        outs = [values[id(x)] for x in self._outputs]
        if isinstance(self._output_struct, dict):
            return dict(zip(self._output_struct, outs))
        return outs if isinstance(self._output_struct, (list, tuple)) else outs[0]

    def _layer_output_shapes(self):
        shapes = {x.node.layer.name: x.shape for x in self._inputs}
        for node in self._nodes:
            outs = [o.shape for o in node.outputs]
            shapes.setdefault(node.layer.name, outs if len(outs) > 1 else outs[0])
        return [(layer, shapes.get(layer.name)) for layer in self.layers]

    def compute_output_shape(self, input_shape):
        shapes = [x.shape for x in self._outputs]
        return shapes if isinstance(self._output_struct, (list, tuple)) else shapes[0]

    # ---- config: each layer with the calls feeding it, as [layer name, call index, output index] ------------------
    def get_config(self):
        def ref(tensor):
            return [tensor.node.layer.name, tensor.node.layer._inbound_nodes.index(tensor.node), tensor.index]

        calls = {}
        for node in self._nodes:
            calls.setdefault(node.layer.name, []).append(
                {"inputs": [ref(x) for x in node.input_tensors()], "list": isinstance(node.inputs, (list, tuple)),
                 "kwargs": node.kwargs})
        layers = [{"class_name": get_registered_name(type(layer)), "config": layer.get_config(), "name": layer.name,
                   "calls": calls.get(layer.name, [])} for layer in self.layers]
        return {"name": self.name, "trainable": self.trainable, "layers": layers,
                "input_layers": [ref(x) for x in self._inputs], "output_layers": [ref(x) for x in self._outputs],
                "outputs_are_a_list": isinstance(self._output_struct, (list, tuple))}

    @classmethod
    def from_config(cls, config):
        layers = {spec["name"]: get_registered(spec["class_name"]).from_config(spec["config"])
                  for spec in config["layers"]}
        made = {}  # (layer name, call index) -> that call's outputs

        def tensor(ref):
            name, call, index = ref
            if isinstance(layers[name], InputLayer):
                return layers[name].output
            return made[(name, call)][index]

        pending = [(spec["name"], i, c) for spec in config["layers"] for i, c in enumerate(spec["calls"])]
        while pending:  # replay each call once the calls it reads from are made
            ready = [p for p in pending if all(isinstance(layers[r[0]], InputLayer) or (r[0], r[1]) in made
                                               for r in p[2]["inputs"])]
            if not ready:
                raise ValueError(f"keras.Model config: the calls of {[p[0] for p in pending]} read from calls that "
                                 "are never made")
            for name, i, call in ready:
                args = [tensor(r) for r in call["inputs"]]
                out = layers[name](args if call["list"] else args[0], **call["kwargs"])
                made[(name, i)] = out if isinstance(out, list) else [out]
                pending.remove((name, i, call))
        outputs = [tensor(r) for r in config["output_layers"]]
        inputs = [tensor(r) for r in config["input_layers"]]
        return cls(inputs if len(inputs) > 1 else inputs[0],
                   outputs if config.get("outputs_are_a_list") else outputs[0],
                   name=config.get("name"), trainable=config.get("trainable", True))
