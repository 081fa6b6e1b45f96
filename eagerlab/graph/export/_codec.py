"""The tagged JSON encoding of the Python values a graph holds: op attributes, constant operands of ops and the
leaves of the output template.

Every value is a JSON object with exactly one key, its tag, so nothing is guessed from JSON's own types (1 and
1.0 and true stay an int, a float and a bool; a tuple stays a tuple):

    {"none": null}  {"bool": true}  {"int": 3}  {"float": 0.5 | "inf" | "-inf" | "nan"}  {"str": "ij->ji"}
    {"tuple": [V, ...]}  {"list": [V, ...]}  {"dict": [[K, V], ...]} (K a tagged str or int)
    {"named": ["values_indices" | "Size", [V, ...]]}   eagerlab's own tuple types (sort's and max's results, shapes);
                                   other namedtuples are written as tuples (a file names no class of its own)
    {"slice": [V, V, V]}  {"ellipsis": null}  {"dtype": "float32"}  {"device": "cpu"}
    {"default_generator": "cpu"}   the default random generator of that device, as it is when the graph runs
    {"value": 7}                   an SSA value of the graph (operands and outputs only, never inside attrs)

Decoding checks every tag and payload and rebuilds only these types: nothing in the file names a Python object.
"""
import math

from ...backend import Device, default_generator
from ...backend.dtypes import ALL, dtype as _dtype
from ...backend.generator import Generator
from ..._tensor import Size
from ...errors import DeviceError, SerializationError, UnsupportedError
from ...ops._return_types import values_indices
from ..ir import Value

MAX_DEPTH = 32  # attributes nest a few levels (padding pairs, index templates); deeper is a hostile file
DTYPES = {d.name: d for d in ALL}
_FLOATS = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
_SUPPORTED = "None, bool, int, float, str, tuple, list, dict, slice, Ellipsis, eagerlab dtype, Device"
NAMED_TUPLES = {"values_indices": values_indices, "Size": Size}  # by name in the file: nothing else is rebuilt
_TUPLE_NAMES = {t: name for name, t in NAMED_TUPLES.items()}


def encode(x, where, depth=0):
    """x as a tagged JSON value; `where` names the node and attribute in errors."""
    if depth > MAX_DEPTH:
        raise UnsupportedError(f"{where}: values nest deeper than {MAX_DEPTH} levels")
    if isinstance(x, Value):
        return {"value": x.id}
    if x is None or x is Ellipsis:
        return {"none" if x is None else "ellipsis": None}
    if isinstance(x, bool):
        return {"bool": x}
    if isinstance(x, int):
        return {"int": int(x)}
    if isinstance(x, float):
        return {"float": float(x) if math.isfinite(x) else repr(float(x))}
    if isinstance(x, str):
        return {"str": str(x)}
    if type(x) in _TUPLE_NAMES:
        return {"named": [_TUPLE_NAMES[type(x)], [encode(v, where, depth + 1) for v in x]]}
    if isinstance(x, (tuple, list)):
        return {"list" if isinstance(x, list) else "tuple": [encode(v, where, depth + 1) for v in x]}
    if isinstance(x, dict):
        for k in x:
            if isinstance(k, bool) or not isinstance(k, (str, int)):
                raise UnsupportedError(f"{where}: dict key {k!r} is not a str or int")
        return {"dict": [[encode(k, where), encode(v, where, depth + 1)] for k, v in x.items()]}
    if isinstance(x, slice):
        return {"slice": [encode(v, where, depth + 1) for v in (x.start, x.stop, x.step)]}
    if type(x) is _dtype:
        return {"dtype": x.name}
    if isinstance(x, Device):
        return {"device": str(x)}
    if isinstance(x, Generator):
        if x is not default_generator(x.device):
            raise UnsupportedError(f"{where}: draws from a user-made eagerlab.Generator, whose state an exported "
                                   "file cannot carry; draw from the default generator (no generator=) to export")
        return {"default_generator": str(x.device)}
    raise UnsupportedError(f"{where}: cannot export a value of type {type(x).__name__} ({_short(x)}); supported: "
                           f"{_SUPPORTED}")


def decode(obj, where, values=None, depth=0):
    """The Python value of a tagged JSON value. `values` (id -> Value) resolves {"value": id}; None refuses it."""
    if depth > MAX_DEPTH:
        raise bad(where, f"values nest deeper than {MAX_DEPTH} levels")
    if type(obj) is not dict or len(obj) != 1:
        raise bad(where, f"expected a tagged value (an object with one key), got {_short(obj)}")
    ((tag, x),) = obj.items()
    rule = _DECODERS.get(tag)
    if rule is None or (tag == "value" and values is None):
        raise bad(where, f"unknown tag {tag!r}" if rule is None else "a graph value cannot appear here")
    return rule(x, where, values, depth + 1)


def _scalar(kind):
    def rule(x, where, values, depth):
        if type(x) is not kind:
            raise bad(where, f"expected a JSON {kind.__name__} in {{{kind.__name__!r}: ...}}, got {_short(x)}")
        return x

    return rule


def _none(x, where, values, depth):
    if x is not None:
        raise bad(where, f"expected null, got {_short(x)}")
    return None


def _ellipsis(x, where, values, depth):
    _none(x, where, values, depth)
    return Ellipsis


def _float(x, where, values, depth):
    if type(x) in (int, float) and math.isfinite(x):
        return float(x)
    if type(x) is str and x in _FLOATS:
        return _FLOATS[x]
    raise bad(where, f"bad float {_short(x)}")


def _items(x, where, values, depth):
    if type(x) is not list:
        raise bad(where, f"expected a list, got {_short(x)}")
    return [decode(v, where, values, depth) for v in x]


def _dict(x, where, values, depth):
    out = {}
    for pair in _pairs(x, where):
        k = decode(pair[0], where, None, depth)
        if isinstance(k, bool) or not isinstance(k, (str, int)) or k in out:
            raise bad(where, f"bad or repeated dict key {_short(k)}")
        out[k] = decode(pair[1], where, values, depth)
    return out


def _pairs(x, where):
    if type(x) is not list or any(type(p) is not list or len(p) != 2 for p in x):
        raise bad(where, f"expected a list of [key, value] pairs, got {_short(x)}")
    return x


def _named_tuple(x, where, values, depth):
    if type(x) is not list or len(x) != 2 or type(x[0]) is not str or x[0] not in NAMED_TUPLES:
        raise bad(where, f"expected [one of {sorted(NAMED_TUPLES)}, [items]], got {_short(x)}")
    kind, items = NAMED_TUPLES[x[0]], _items(x[1], where, values, depth)
    fields = getattr(kind, "_fields", None)
    if fields is not None and len(items) != len(fields):
        raise bad(where, f"{x[0]} has {len(fields)} items {fields}, got {len(items)}")
    return kind(*items) if fields is not None else kind(items)


def _slice(x, where, values, depth):
    parts = _items(x, where, None, depth)
    if len(parts) != 3 or any(p is not None and (isinstance(p, bool) or type(p) is not int) for p in parts):
        raise bad(where, f"a slice needs [start, stop, step], each an int or None, got {_short(x)}")
    return slice(*parts)


def _named(table, what):
    def rule(x, where, values, depth):
        if type(x) is not str or x not in table:
            raise bad(where, f"unknown {what} {_short(x)}")
        return table[x]

    return rule


def decode_device(x, where, values=None, depth=0):
    """A Device from its name (whether this machine has it is checked where the graph's devices are)."""
    try:
        if type(x) is str:
            return Device(x)
    except DeviceError:
        pass
    raise bad(where, f"bad device {_short(x)}")



def _generator(x, where, values, depth):
    return default_generator(decode_device(x, where))


def _value(x, where, values, depth):
    if type(x) is not int or x not in values:
        raise bad(where, f"refers to value {_short(x)}, which is not defined before it in this scope")
    return values[x]


_DECODERS = {
    "none": _none, "ellipsis": _ellipsis, "bool": _scalar(bool),
    "int": _scalar(int), "float": _float, "str": _scalar(str), "dict": _dict, "slice": _slice,
    "tuple": lambda *a: tuple(_items(*a)), "list": _items, "dtype": _named(DTYPES, "dtype"),
    "device": decode_device, "default_generator": _generator, "value": _value, "named": _named_tuple,
}


def bad(where, msg):
    return SerializationError(f"load_exported: {where}: {msg}")


def _short(x):
    r = repr(x)
    return r if len(r) <= 60 else r[:57] + "..."
