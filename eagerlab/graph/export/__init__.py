"""`eagerlab.export` / `eagerlab.load_exported`: a traced inference function, graph and weights, in one file that
loads and runs without the Python code that defined it (the Keras/SavedModel promise), and without pickle.

The file is an eagerlab.save container (atomic write, checked array storage; see eagerlab/serialization) holding
    {"format": "eagerlab.exported", "version": 1,
     "graph": the graph as a JSON string (layout in _write.py, value encoding in _codec.py),
     "weights": {name: array}, "constants": {name: array}}
Weights keep their state_dict names when a Module is exported.
"""
import json

import numpy as np

from ...errors import SerializationError
from ...serialization import load, save
from ...serialization._io import describe, strict_json
from ._exported import ExportedFunction
from ._limits import DEFAULT_MAX_LOOP_ITERATIONS, check_memory, checked_limit, default_max_bytes
from ._read import read_graph
from ._trace import trace_for_export
from ._write import describe_graph

FORMAT, VERSION = "eagerlab.exported", 1
DEFAULT = object()  # max_bytes not given: default_max_bytes() of this machine


def export(fn_or_module, example_inputs, path):
    """Trace `fn_or_module` (a Module's forward, an eagerlab.function or a plain function of tensors) for
    `example_inputs` (a tuple of tensors) under no_grad and write graph and weights to `path` in one file."""
    traced = trace_for_export(fn_or_module, example_inputs, "export")
    header, weights, constants = describe_graph(traced.graph, traced.input_names, traced.weight_names)
    graph = json.dumps(header, separators=(",", ":"), allow_nan=False)
    save({"format": FORMAT, "version": VERSION, "graph": graph, "weights": weights, "constants": constants}, path)


def load_exported(path, *, max_bytes=DEFAULT, max_loop_iterations=DEFAULT_MAX_LOOP_ITERATIONS):
    """The function `export` wrote to `path`, as an ExportedFunction. The file is checked completely (a
    SerializationError names what is wrong); nothing in it is executed. It must not risk the host when called
    (see _limits.py): a graph whose values or intermediates need more than `max_bytes` is refused here (default:
    16 GiB or half the physical memory, the smaller), and a call that runs more than `max_loop_iterations` loop
    iterations stops with a ResourceLimitError. Raise them (None: no limit) for files you trust."""
    max_bytes = default_max_bytes() if max_bytes is DEFAULT else checked_limit("max_bytes", max_bytes)
    max_loop_iterations = checked_limit("max_loop_iterations", max_loop_iterations)
    name = describe(path)
    obj = load(path)
    keys = {"format", "version", "graph", "weights", "constants"}
    if type(obj) is not dict or obj.keys() != keys or obj["format"] != FORMAT:
        raise SerializationError(f"load_exported: {name} is an eagerlab file but not an exported function "
                                 f"(expected keys {sorted(keys)} and format {FORMAT!r}); use eagerlab.load for it")
    if obj["version"] != VERSION:
        raise SerializationError(f"load_exported: {name}: export format version {obj['version']!r}, but this "
                                 f"eagerlab reads version {VERSION}")
    for table in ("weights", "constants"):
        if type(obj[table]) is not dict or not all(type(k) is str and type(v) is np.ndarray
                                                   for k, v in obj[table].items()):
            raise SerializationError(f"load_exported: {name}: {table} must map names to arrays")
    if type(obj["graph"]) is not str:
        raise SerializationError(f"load_exported: {name}: the graph must be a JSON string")
    try:
        header = strict_json(obj["graph"])
    except ValueError as e:
        raise SerializationError(f"load_exported: {name}: the graph is not valid JSON: {e}") from None
    graph = read_graph(header, obj["weights"], obj["constants"], name)
    check_memory(graph, max_bytes, name)  # before anything is compiled: codegen preallocates buffers
    names = [spec["name"] for spec in header["inputs"]]
    weights = {spec["weight"]: node.op for spec, node in zip(header["captures"], graph.captures)}
    return ExportedFunction(graph, names, weights, max_loop_iterations)


__all__ = ["export", "load_exported", "ExportedFunction"]
