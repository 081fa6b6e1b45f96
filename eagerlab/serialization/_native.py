"""eagerlab.save / eagerlab.load: nested containers of tensors, arrays and scalars in the pickle-free format
documented in eagerlab/serialization/__init__.py."""
import json
import math
import struct

import numpy as np

from .._tensor import Tensor
from ..backend import CPU, Device, array_to_device
from ..backend.dtypes import ALL, LittleEndianTable
from ..errors import DeviceError, SerializationError
from ._io import Source, check_extent, check_layout, check_shape, write_arrays, write_to

MAGIC = b"EAGERLAB"
VERSION = 1
PREFIX = struct.Struct("<8sIQ")  # magic, format version, header length
ALIGN = 64  # header end and every array start at a multiple of 64 bytes (cache lines, SIMD, future mmap)
MAX_DEPTH = 64  # containers nested deeper are refused on save and on load (a deeper one is likely a cycle)

# The allow-list: header dtype names -> little-endian numpy dtypes. Tensors take eagerlab's dtypes; numpy arrays
# may also be unsigned wider ints or complex. Names are looked up here, never handed to np.dtype().
TENSOR_DTYPES = LittleEndianTable({d.name: d for d in ALL})
ARRAY_DTYPES = LittleEndianTable({**{d.name: d for d in ALL},
                                  **{n: n for n in ("uint16", "uint32", "uint64", "complex64", "complex128")}})
_TAGS = {"list": {"list"}, "tuple": {"tuple"}, "dict": {"dict"}, "tensor": {"tensor", "device"},
         "ndarray": {"ndarray"}, "npscalar": {"npscalar"}, "float": {"float"}}
_SPECIAL_FLOATS = ("inf", "-inf", "nan")
_SUPPORTED = "dict, list, tuple, Tensor, numpy array or scalar, bool, int, float, str, None"


def _where(path):
    return "obj" + "".join(f"[{k!r}]" for k in path)


def _short(value):
    r = repr(value)
    return r if len(r) <= 80 else r[:77] + "..."


class _Encoder:
    """Turns obj into the header's JSON tree while laying out the arrays it holds."""

    def __init__(self):
        self.entries, self.items, self.end = [], [], 0
        self._memo = {}  # id(object) -> array index: the same tensor object twice is stored once, loaded as one

    def array(self, key, data, path, allowed):
        idx = self._memo.get(id(key))
        if idx is not None:
            return idx
        name = data.dtype.name
        if name not in allowed:
            raise SerializationError(f"save: cannot save an array of dtype {data.dtype} at {_where(path)}; "
                                     f"supported dtypes: {', '.join(allowed)}")
        offset = -(-self.end // ALIGN) * ALIGN
        nbytes = math.prod(data.shape) * data.dtype.itemsize
        self.entries.append({"dtype": name, "shape": list(data.shape), "offset": offset, "nbytes": nbytes})
        self.items.append((offset, data))
        self.end = offset + nbytes
        self._memo[id(key)] = idx = len(self.entries) - 1
        return idx

    def node(self, obj, path):
        if len(path) > MAX_DEPTH:
            raise SerializationError(f"save: containers nest deeper than {MAX_DEPTH} levels at {_where(path)} "
                                     "(is there a reference cycle?)")
        if obj is None or obj is True or obj is False:
            return obj
        if isinstance(obj, Tensor):
            return {"tensor": self.array(obj, obj, path, TENSOR_DTYPES), "device": str(obj._device)}
        if isinstance(obj, np.ndarray):
            return {"ndarray": self.array(obj, obj, path, ARRAY_DTYPES)}
        if isinstance(obj, np.generic):  # before int/float: np.float64 subclasses float but should come back as is
            return {"npscalar": self.array(obj, np.asarray(obj), path, ARRAY_DTYPES)}
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return float(obj) if math.isfinite(obj) else {"float": repr(float(obj))}
        if isinstance(obj, str):
            return str(obj)
        if isinstance(obj, dict):
            return {"dict": [[_key(k, path), self.node(v, path + (k,))] for k, v in obj.items()]}
        if isinstance(obj, (list, tuple)):
            items = [self.node(v, path + (i,)) for i, v in enumerate(obj)]
            return {"list": items} if isinstance(obj, list) else {"tuple": items}
        raise SerializationError(f"save: cannot save object of type {type(obj).__name__!r} at {_where(path)} "
                                 f"(supported: {_SUPPORTED}; save a Module's state_dict(), not the Module)")


def _key(k, path):
    if isinstance(k, str):
        return str(k)
    if isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)):
        return int(k)
    raise SerializationError(f"save: cannot save dict key {_short(k)} of type {type(k).__name__!r} at "
                             f"{_where(path)}; keys must be str or int")


def save(obj, f):
    """Save obj to a path (atomically: temp file, fsync, rename) or a writable binary file object. No pickle:
    obj may nest dict (str/int keys), list, tuple, Tensor, numpy arrays/scalars, bool, int, float, str, None."""
    enc = _Encoder()
    root = enc.node(obj, ())
    try:
        header = json.dumps({"root": root, "arrays": enc.entries, "data_nbytes": enc.end},
                            separators=(",", ":"), allow_nan=False).encode()
    except ValueError as e:  # e.g. an int with more digits than Python will print
        raise SerializationError(f"save: cannot encode obj: {e}") from None
    header += b" " * (-(PREFIX.size + len(header)) % ALIGN)
    prefix = PREFIX.pack(MAGIC, VERSION, len(header))

    def write(out):
        out.write(prefix)
        out.write(header)
        write_arrays(out, enc.items)

    write_to(f, "save", write)


def load(f, map_location=None, *, weights_only=True):
    """Load what save() wrote: the same structure, with tensors of the exact dtype and shape (requires_grad False).

    map_location: None (the saved device; an unavailable one raises DeviceError), a device for every tensor,
    or a dict {saved device: target device}. weights_only is accepted for PyTorch compatibility: loading never
    runs code from the file, whatever its value."""
    place = _placement(map_location)
    with Source(f, "load") as src:
        arrays, root, data_start, data_nbytes = _read_header(src)
        out = _Decoder(src, arrays, data_start, place).node(root, ())
        src.seek_end_of_record(data_start + data_nbytes)  # several records can follow each other in one stream
    return out


def _placement(map_location):
    """map_location -> a function from the saved Device to the Device to load onto."""
    if map_location is None:
        return lambda saved: saved
    if isinstance(map_location, (str, Device)):
        target = _map_device(map_location)
        return lambda saved: target
    if isinstance(map_location, dict):
        table = {_map_device(k): _map_device(v) for k, v in map_location.items()}
        return lambda saved: table.get(saved, saved)
    raise TypeError(f"load: map_location must be None, a device ('cpu', 'cuda:0', eagerlab.device) or a dict "
                    f"like {{'cuda:0': 'cpu'}}, got {type(map_location).__name__}")


def _map_device(d):
    try:
        return Device(d)
    except DeviceError as e:
        raise DeviceError(f"load: map_location: {e}") from None


def _read_header(src):
    """Check the prefix and header; returns the array table [(dtype name, np dtype, shape, offset)], the root."""
    head = src.read(0, min(src.size, PREFIX.size), "the prefix")
    if head[:len(MAGIC)] != MAGIC:
        raise src.error(_not_ours(head))
    src.check_range(0, PREFIX.size, "the prefix")
    _, version, hlen = PREFIX.unpack(head)
    if version != VERSION:
        raise src.error(f"format version {version}, but this eagerlab reads version {VERSION} "
                        "(was it written by a newer eagerlab?)")
    header = src.header_json(PREFIX.size, hlen)
    if type(header) is not dict or header.keys() != {"root", "arrays", "data_nbytes"}:
        raise src.error(f"header must be an object with keys root, arrays, data_nbytes; got {_short(header)}")
    data_start, data_nbytes, table = PREFIX.size + hlen, header["data_nbytes"], header["arrays"]
    if type(data_nbytes) is not int or data_nbytes < 0:
        raise src.error(f"bad data_nbytes {data_nbytes!r}")
    src.check_range(data_start, data_nbytes, "the data section")
    if type(table) is not list:
        raise src.error(f"arrays must be a list, got {_short(table)}")
    arrays, extents = [], []
    for i, e in enumerate(table):
        what = f"array {i}"
        if type(e) is not dict or e.keys() != {"dtype", "shape", "offset", "nbytes"}:
            raise src.error(f"{what}: expected an object with keys dtype, shape, offset, nbytes; got {_short(e)}")
        dtype = ARRAY_DTYPES.get(e["dtype"]) if type(e["dtype"]) is str else None
        if dtype is None:
            raise src.error(f"{what}: dtype {e['dtype']!r} is not allowed (allowed: {', '.join(ARRAY_DTYPES)})")
        shape, offset, nbytes = check_shape(src, what, e["shape"]), e["offset"], e["nbytes"]
        if type(offset) is not int or type(nbytes) is not int:
            raise src.error(f"{what}: offset and nbytes must be ints, got {offset!r} and {nbytes!r}")
        check_extent(src, what, offset, offset + nbytes, dtype, shape)
        arrays.append((e["dtype"], dtype, shape, offset))
        extents.append((what, offset, offset + nbytes))
    check_layout(src, extents, data_nbytes, contiguous=False)
    return arrays, header["root"], data_start, data_nbytes


def _not_ours(head):
    if head.startswith(b"PK\x03\x04"):
        hint = ("it is a zip archive, perhaps a torch.save checkpoint. eagerlab never unpickles (that runs code "
                "from the file); in PyTorch, save the state dict with safetensors.torch.save_file and load it with "
                "eagerlab.serialization.load_safetensors")
    elif head[:1] == b"\x80":
        hint = "it looks like a pickle, which eagerlab never loads (unpickling runs code from the file)"
    elif head[8:9] == b"{":
        hint = "it looks like a safetensors file: use eagerlab.serialization.load_safetensors"
    else:
        hint = f"expected the magic bytes {MAGIC!r}, found {head[:len(MAGIC)]!r}"
    return "not an eagerlab file: " + hint


class _Decoder:
    """Validates the header's tree node by node while rebuilding the objects; arrays are read when first met."""

    def __init__(self, src, arrays, data_start, place):
        self.src, self.arrays, self.data_start, self.place = src, arrays, data_start, place
        self._cache = {}  # (kind, index, device) -> object, so a tensor stored once loads as one object

    def node(self, n, path):
        if len(path) > MAX_DEPTH:
            raise self.src.error(f"containers nest deeper than {MAX_DEPTH} levels at {_where(path)}")
        if n is None or type(n) in (bool, int, float, str):
            return n
        tag = next((t for t in _TAGS if t in n), None) if type(n) is dict else None
        if tag is None or n.keys() != _TAGS[tag]:
            raise self.src.error(f"unrecognised entry at {_where(path)}: {_short(n)}")
        val = n[tag]
        if tag in ("list", "tuple"):
            items = [self.node(v, path + (i,)) for i, v in enumerate(self._list(val, path))]
            return items if tag == "list" else tuple(items)
        if tag == "dict":
            return self._dict(val, path)
        if tag == "float":
            if type(val) is not str or val not in _SPECIAL_FLOATS:
                raise self.src.error(f"bad special float {_short(val)} at {_where(path)}")
            return float(val)
        if tag == "tensor":
            return self._tensor(val, n["device"], path)
        arr = self._array(val, path, ARRAY_DTYPES)
        if tag == "npscalar":
            if arr.ndim:
                raise self.src.error(f"numpy scalar at {_where(path)} has shape {list(arr.shape)}")
            return arr[()]
        return arr

    def _list(self, val, path):
        if type(val) is not list:
            raise self.src.error(f"expected a list at {_where(path)}, got {_short(val)}")
        return val

    def _dict(self, pairs, path):
        out = {}
        for pair in self._list(pairs, path):
            if type(pair) is not list or len(pair) != 2 or type(pair[0]) not in (str, int):
                raise self.src.error(f"bad dict entry at {_where(path)}: {_short(pair)} (expected [str or int "
                                     "key, value])")
            k = pair[0]
            if k in out:
                raise self.src.error(f"duplicate dict key {k!r} at {_where(path)}")
            out[k] = self.node(pair[1], path + (k,))
        return out

    def _array(self, idx, path, allowed):
        if type(idx) is not int or not 0 <= idx < len(self.arrays):
            raise self.src.error(f"array index {_short(idx)} at {_where(path)} is out of range "
                                 f"({len(self.arrays)} arrays)")
        name, dtype, shape, offset = self.arrays[idx]
        if name not in allowed:
            raise self.src.error(f"{_where(path)}: a tensor cannot have dtype {name}")
        key = ("array", idx)
        if key not in self._cache:
            self._cache[key] = self.src.read_array(self.data_start + offset, dtype, shape, f"array {idx}")
        return self._cache[key]

    def _tensor(self, idx, saved, path):
        try:
            saved = Device(saved)
        except DeviceError:
            raise self.src.error(f"bad device {_short(saved)} at {_where(path)}") from None
        dev = self.place(saved)
        key = ("tensor", idx, dev)
        if key in self._cache:
            return self._cache[key]
        if dev is not CPU:
            try:
                dev.xp
            except DeviceError as e:
                raise DeviceError(f"load: {self.src.name}: the tensor at {_where(path)} was saved on {saved}, "
                                  f"which is not usable here ({e}). Pass map_location='cpu' (or a dict such as "
                                  f"{{'{saved}': 'cpu'}}) to load it elsewhere.") from None
        arr = self._array(idx, path, TENSOR_DTYPES)
        self._cache[key] = t = Tensor._make(arr if dev is CPU else array_to_device(arr, dev), dev)
        return t
