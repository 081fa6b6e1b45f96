"""The JSON description of an exported file -> a Graph, checked field by field before anything runs.

Every value reference must name a value defined earlier in a visible scope; every op must be a registered
primitive whose `infer` rule, given the recorded operands and attributes, yields exactly the recorded output shapes
and dtypes (so attributes that the op would reject, or that disagree with the recorded shapes, are caught here);
weights and constants must have the recorded shape and dtype. Errors are SerializationErrors naming the file, the
node and what is wrong. Nothing from the file is executed: it names primitives, never Python objects.
"""
from collections import ChainMap

from ..._tensor import Tensor
from ...backend import array_to_device, from_numpy_dtype
from ...errors import DeviceError
from ...ops import PRIMITIVES
from ...autograd.operands import Aval
from ..effects import WriteArgument
from ..ir import Block, Graph, Operation, Value
from ._codec import DTYPES, bad, decode, decode_device

MAX_NDIM, MAX_NESTING = 64, 64
_AVAL = {"id", "shape", "dtype", "device"}
_NODE_KEYS = {"prim": {"kind", "op", "inputs", "attrs", "outputs"}, "const": {"kind", "array", "outputs"},
              "cond": {"kind", "inputs", "attrs", "blocks", "outputs"},
              "while": {"kind", "inputs", "attrs", "blocks", "outputs"},
              "write_argument": {"kind", "argument", "inputs", "outputs"}}


def read_graph(header, weights, constants, name):
    """The Graph described by `header`; weights/constants: {name: host array}; `name` names the file in errors."""
    return _Reader(weights, constants, name).graph(header)


class _Reader:
    def __init__(self, weights, constants, name):
        self.inputs = []
        self.arrays = {"weight": weights, "constant": constants}
        self.used = set()
        self.name, self.scopes, self.ids = name, [{}], set()

    # ---- the whole graph ----------------------------------------------------------------------------------
    def graph(self, header):
        where = f"{self.name}: the graph"
        _keys(header, {"name", "inputs", "captures", "body", "outputs"}, where)
        graph = Graph(_str(header["name"], where))
        for i, spec in enumerate(_list(header["inputs"], where)):
            node = Operation("input", None)
            node.outputs = (self.define(spec, node, 0, f"{where}, input {i}", {"name"}),)
            graph.inputs.append(node.outputs[0])
            self.inputs.append(node.outputs[0])
            _str(spec["name"], f"{where}, input {i}")
        for i, spec in enumerate(_list(header["captures"], where)):
            at = f"{where}, capture {i}"
            node = Operation("capture", None)
            node.outputs = (v,) = (self.define(spec, node, 0, at, {"weight"}),)
            node.op = Tensor._make(self.array("weight", spec["weight"], v, at), v.device)
            graph.captures.append(node)
        graph.body = self.block(header["body"], f"{self.name}: body", 0, own_scope=False)  # outputs see it
        graph.output_template = decode(header["outputs"], f"{where}, outputs", self.visible())
        for kind, table in self.arrays.items():
            unused = [n for n in table if (kind, n) not in self.used]
            if unused:
                raise bad(where, f"{kind}s {unused[:5]} are in the file but not used by the graph")
        graph._counter = max(self.ids, default=-1) + 1
        return graph

    def visible(self):
        return ChainMap(*reversed(self.scopes))

    # ---- values ---------------------------------------------------------------------------------------------
    def aval(self, spec, where, extra=()):
        """(shape, eagerlab dtype, Device) of an AVAL object (with `extra` keys), checked."""
        _keys(spec, _AVAL | set(extra), where)
        shape, dtype = spec["shape"], DTYPES.get(spec["dtype"]) if type(spec["dtype"]) is str else None
        if type(shape) is not list or len(shape) > MAX_NDIM or any(type(s) is not int or s < 0 for s in shape):
            raise bad(where, f"shape must be a list of at most {MAX_NDIM} non-negative ints, got {shape!r}")
        if dtype is None:
            raise bad(where, f"unknown dtype {spec['dtype']!r} (known: {', '.join(DTYPES)})")
        dev = decode_device(spec["device"], where)
        try:
            dev.xp
        except DeviceError as e:
            raise DeviceError(f"load_exported: {where}: the graph runs on {dev}, which is not usable here: {e}") \
                from None
        return tuple(shape), dtype, dev

    def define(self, spec, node, index, where, extra=()):
        shape, dtype, dev = self.aval(spec, where, extra)
        vid = spec["id"]
        if type(vid) is not int or vid < 0 or vid in self.ids:
            raise bad(where, f"value id {vid!r} is not a new non-negative int")
        self.ids.add(vid)
        v = self.scopes[-1][vid] = Value(shape, dtype.np, dev, node, index, vid)
        return v

    def array(self, kind, key, v, where):
        arr = self.arrays[kind].get(key) if type(key) is str else None
        if arr is None:
            raise bad(where, f"names {kind} {key!r}, which the file does not hold")
        if arr.shape != v.shape or arr.dtype != v.dtype:
            raise bad(where, f"{kind} {key!r} is {arr.dtype}{list(arr.shape)} but the graph expects "
                             f"{v.dtype}{list(v.shape)}")
        self.used.add((kind, key))
        return array_to_device(arr, v.device)

    # ---- blocks and nodes -------------------------------------------------------------------------------------
    def block(self, obj, where, depth, own_scope=True):
        if depth > MAX_NESTING:
            raise bad(where, f"blocks nest deeper than {MAX_NESTING} levels")
        _keys(obj, {"nodes", "outputs"}, where)
        if own_scope:
            self.scopes.append({})
        nodes = [self.node(n, f"{where}, node {i}", depth) for i, n in enumerate(_list(obj["nodes"], where))]
        outputs = [self.value_ref(x, f"{where}, output {i}") for i, x in enumerate(_list(obj["outputs"], where))]
        if own_scope:
            self.scopes.pop()
        return Block(nodes, outputs)

    def value_ref(self, obj, where):
        v = decode(obj, where, self.visible())
        if not isinstance(v, Value):
            raise bad(where, f"expected a graph value, got {v!r}")
        return v

    def node(self, obj, where, depth):
        kind = obj.get("kind") if type(obj) is dict else None
        if kind not in _NODE_KEYS:
            raise bad(where, f"unknown node kind {kind!r} (known: {', '.join(_NODE_KEYS)})")
        _keys(obj, _NODE_KEYS[kind], where)
        outs = _list(obj["outputs"], where)
        if kind == "const":
            node = Operation("const", None)
            node.outputs = (v,) = self.define_outputs(node, outs, where, expect=1)
            node.op = self.array("constant", obj["array"], v, where)
            return node
        if kind == "prim":
            return self.prim(obj, outs, where)
        if kind == "write_argument":
            return self.write_argument(obj, outs, where)
        inputs = [self.value_ref(x, f"{where}, input {i}") for i, x in enumerate(_list(obj["inputs"], where))]
        node = Operation(kind, None, inputs, self.control_attrs(kind, obj["attrs"], where))
        blocks = _list(obj["blocks"], where)
        if len(blocks) != 2:
            raise bad(where, f"a {kind} node has 2 blocks, got {len(blocks)}")
        if kind == "while":  # the loop variables are visible inside both blocks
            node.outputs = self.define_outputs(node, outs, where)
            _same_avals(where, "loop variables", inputs, node.outputs)
        node.blocks = tuple(self.block(b, f"{where}, block {i}", depth + 1) for i, b in enumerate(blocks))
        if kind == "cond":
            node.outputs = self.define_outputs(node, outs, where)
            _check_predicate(where, inputs[0] if len(inputs) == 1 else None)
            for b in node.blocks:
                _same_avals(where, "branch results", b.outputs, node.outputs)
        else:
            _check_predicate(where, node.blocks[0].outputs[0] if len(node.blocks[0].outputs) == 1 else None)
            _same_avals(where, "next loop variables", node.blocks[1].outputs, node.outputs)
        return node

    def prim(self, obj, outs, where):
        prim = PRIMITIVES.get(obj["op"]) if type(obj["op"]) is str else None
        if prim is None or prim.dynamic_shape:
            raise bad(where, f"unknown primitive {obj['op']!r}" if prim is None else
                      f"primitive {prim.name!r} has a data-dependent shape and cannot be in a graph")
        where = f"{where} ({prim.name})"
        inputs = [decode(x, f"{where}, input {i}", self.visible()) for i, x in enumerate(_list(obj["inputs"], where))]
        attrs = obj["attrs"]
        if type(attrs) is not dict:
            raise bad(where, f"attrs must be an object, got {attrs!r}")
        attrs = {k: decode(v, f"{where}, attribute {k!r}") for k, v in attrs.items()}
        operands = [Aval(x.shape, from_numpy_dtype(x.dtype), x.device) if isinstance(x, Value) else x for x in inputs]
        try:
            expected = prim.infer(*operands, **attrs)
        except Exception as e:  # whatever the rule raises for operands or attributes it does not accept
            raise bad(where, f"the op rejects its recorded operands or attributes: {type(e).__name__}: {e}") from None
        expected = list(expected) if isinstance(expected, (tuple, list)) else [expected]
        node = Operation("prim", prim, inputs, attrs)
        node.outputs = self.define_outputs(node, outs, where, expect=len(expected))
        for i, (v, e) in enumerate(zip(node.outputs, expected)):
            if (v.shape, v.dtype, v.device) != (tuple(e.shape), e.dtype.np, e.device):
                raise bad(where, f"output {i} is recorded as {v.dtype}{list(v.shape)} on {v.device}, but the op "
                                 f"gives {e.dtype.name}{list(e.shape)} on {e.device}")
        return node

    def write_argument(self, obj, outs, where):
        k = obj["argument"]
        if type(k) is not int or not 0 <= k < len(self.inputs) or outs:
            raise bad(where, f"a write_argument node names one of the {len(self.inputs)} arguments and has no "
                             f"outputs, got argument {k!r} and {len(outs)} outputs")
        inputs = [self.value_ref(x, f"{where}, input {i}") for i, x in enumerate(_list(obj["inputs"], where))]
        if len(inputs) != 2 or inputs[0] is not self.inputs[k]:
            raise bad(where, f"a write into argument {k} takes that argument and the value written")
        _same_avals(where, "the value written", inputs[1:], inputs[:1])
        return Operation("effect", WriteArgument(k), inputs)

    def define_outputs(self, node, outs, where, expect=None):
        if expect is not None and len(outs) != expect:
            raise bad(where, f"has {len(outs)} outputs, expected {expect}")
        return tuple(self.define(spec, node, i, f"{where}, output {i}") for i, spec in enumerate(outs))

    def control_attrs(self, kind, attrs, where):
        allowed = {"maximum_iterations"} if kind == "while" else set()
        if type(attrs) is not dict or set(attrs) - allowed:
            raise bad(where, f"a {kind} node takes attributes {sorted(allowed)}, got {attrs!r}")
        out = {k: decode(v, f"{where}, attribute {k!r}") for k, v in attrs.items()}
        limit = out.get("maximum_iterations")
        if limit is not None and (type(limit) is not int or limit < 0):
            raise bad(where, f"maximum_iterations must be a non-negative int or None, got {limit!r}")
        return out


def _check_predicate(where, v):
    if v is None or v.size != 1:
        raise bad(where, "the condition must be one single-element value")


def _same_avals(where, what, got, want):
    if [(v.shape, v.dtype, v.device) for v in got] != [(v.shape, v.dtype, v.device) for v in want]:
        raise bad(where, f"{what} {[f'{v.dtype}{list(v.shape)}' for v in got]} do not match the node's "
                         f"outputs {[f'{v.dtype}{list(v.shape)}' for v in want]}")


def _keys(obj, keys, where):
    if type(obj) is not dict or obj.keys() != keys:
        got = sorted(obj) if type(obj) is dict else type(obj).__name__
        raise bad(where, f"expected an object with keys {sorted(keys)}, got {got}")


def _list(x, where):
    if type(x) is not list:
        raise bad(where, f"expected a list, got {type(x).__name__}")
    return x


def _str(x, where):
    if type(x) is not str:
        raise bad(where, f"expected a string, got {type(x).__name__}")
    return x
