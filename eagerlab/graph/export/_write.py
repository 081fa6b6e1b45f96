"""Graph -> the JSON description of an exported file and its named arrays (weights, constants).

    {"name": "MLP",
     "inputs":   [AVAL + {"name": "x"}, ...]                  the function's tensor arguments, in order
     "captures": [AVAL + {"weight": "fc1.weight"}, ...]       tensors read by reference: the file's weights
     "body":     BLOCK,
     "outputs":  TAGGED}                                      the output template, {"value": id} at tensors
    BLOCK = {"nodes": [NODE, ...], "outputs": [TAGGED, ...]}  (a branch's results, a loop's next variables)
    NODE  = {"kind": "prim", "op": "linear", "inputs": [TAGGED, ...], "attrs": {name: TAGGED}, "outputs": [AVAL]}
          | {"kind": "const", "array": "const.0", "outputs": [AVAL]}
          | {"kind": "cond" | "while", "inputs": [...], "attrs": {...}, "blocks": [BLOCK, BLOCK], "outputs": [...]}
          | {"kind": "write_argument", "argument": 0, "inputs": [TAGGED, TAGGED], "outputs": []}
                                   an in-place write into argument 0 (inputs: that argument's value, the new value)
    AVAL  = {"id": 7, "shape": [64, 10], "dtype": "float32", "device": "cpu"}

TAGGED values are the encoding of _codec.py. Effects (a training step's writes, .grad stores, optimizer calls) have
no place here: export refuses them before writing (but writes into the function's own arguments).
"""
from ...backend import CPU, array_to_device, from_numpy_dtype
from ...errors import UnsupportedError
from ..effects import WriteArgument
from . import _codec


def describe_graph(graph, input_names, weight_names):
    """(header dict, {weight name: array}, {constant name: array}); weight_names: id(tensor) -> name."""
    writer = _Writer()
    captures = []
    for node in graph.captures:
        name = weight_names[id(node.op)]
        writer.weights[name] = node.op._host()
        captures.append({**aval(node.outputs[0]), "weight": name})
    header = {
        "name": graph.name,
        "inputs": [{**aval(v), "name": n} for v, n in zip(graph.inputs, input_names)],
        "captures": captures,
        "body": writer.block(graph.body),
        "outputs": _codec.encode(graph.output_template, "the output"),
    }
    return header, writer.weights, writer.constants


def aval(v):
    return {"id": v.id, "shape": list(v.shape), "dtype": from_numpy_dtype(v.dtype).name, "device": str(v.device)}


class _Writer:
    def __init__(self):
        self.weights, self.constants = {}, {}

    def block(self, block):
        return {"nodes": [self.node(n) for n in block.nodes],
                "outputs": [_codec.encode(v, "a block's output") for v in block.outputs]}

    def node(self, node):
        where = f"export: op {node.name}" + (f" (from {node.where[0]}:{node.where[1]})" if node.where else "")
        out = {"kind": node.kind, "outputs": [aval(v) for v in node.outputs]}
        if node.kind == "const":
            out["array"] = name = f"const.{len(self.constants)}"
            self.constants[name] = array_to_device(node.op, CPU)
            return out
        if node.kind == "effect" and isinstance(node.op, WriteArgument):
            out.update(kind="write_argument", argument=node.op.index,
                       inputs=[_codec.encode(x, f"{where}, input {i}") for i, x in enumerate(node.inputs)])
            return out
        if node.kind not in ("prim", "cond", "while"):
            raise UnsupportedError(f"export: {where} is a {node.kind} node, which an exported graph cannot hold")
        if node.kind == "prim":
            out["op"] = node.op.name
        out["inputs"] = [_codec.encode(x, f"{where}, input {i}") for i, x in enumerate(node.inputs)]
        out["attrs"] = {k: _codec.encode(v, f"{where}, attribute {k!r}") for k, v in node.attrs.items()}
        if node.blocks:
            out["blocks"] = [self.block(b) for b in node.blocks]
        return out
