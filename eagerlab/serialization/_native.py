"""eagerlab.save / eagerlab.load: nested containers of tensors, arrays and scalars in the pickle-free format
documented in eagerlab/serialization/__init__.py."""
import json
import math
import struct
import types

import numpy as np

from .._tensor import Tensor
from ..backend import CPU, Device, array_to_device
from ..backend.dtypes import ALL, LittleEndianTable, dtype as Dtype
from ..errors import DeviceError, SerializationError
from . import _storages
from ._checksum import fletcher64, header_crc
from ._files import write_to
from ._io import MAX_ENTRIES, MAX_HEADER_BYTES, Source, check_extent, check_layout, check_shape
from ._objects import Resolver, name_for_saving, object_type

MAGIC = b"EAGERLAB"
VERSION = 3  # written only by saves that use the version-3 entries (objects, names, sets, dtypes, devices)
PLAIN_VERSION = 2  # what every other save writes, so that older eagerlab versions still read it
PREFIX_V1 = struct.Struct("<8sIQ")  # magic, format version, header length
PREFIX = struct.Struct("<8sIQI")  # version 2 adds the CRC-32 of the version, length and header
ALIGN = 64  # header end and every array start at a multiple of 64 bytes (cache lines, SIMD, future mmap)
MAX_DEPTH = 64  # containers nested deeper are refused on save and on load (a deeper one is likely a cycle)

# The allow-list: header dtype names -> little-endian numpy dtypes. Tensors take eagerlab's dtypes; numpy arrays
# may also be unsigned wider ints or complex. Names are looked up here, never handed to np.dtype().
TENSOR_DTYPES = LittleEndianTable({d.name: d for d in ALL})
ARRAY_DTYPES = LittleEndianTable({**{d.name: d for d in ALL},
                                  **{n: n for n in ("uint16", "uint32", "uint64", "complex64", "complex128")}})
_TAGS = {"list": {"list"}, "tuple": {"tuple"}, "dict": {"dict"}, "tensor": {"tensor", "device"},
         "ndarray": {"ndarray"}, "npscalar": {"npscalar"}, "float": {"float"},
         # version 3 ("device" last: a tensor entry has that key too)
         "object": {"object", "id", "state"}, "ref": {"ref"}, "global": {"global"}, "set": {"set"},
         "frozenset": {"frozenset"}, "dtype": {"dtype"}, "device": {"device"}}
_V3_TAGS = frozenset(("object", "ref", "global", "set", "frozenset", "dtype", "device"))
_FUNCTIONS = (types.FunctionType, types.BuiltinFunctionType)
_SPECIAL_FLOATS = ("inf", "-inf", "nan")
_SUPPORTED = ("dict, list, tuple, set, Tensor, numpy array or scalar, bool, int, float, str, None, dtype, device, "
              "nn.Module, and classes and functions defined at the top level of a module (saved by name)")


class _Attr(str):
    """A path step into an object's attribute (shown as `.name`, where a container key shows as `['key']`)."""


def _where(path):
    return "obj" + "".join(f".{k}" if type(k) is _Attr else f"[{k!r}]" for k in path)


def _short(value):
    r = repr(value)
    return r if len(r) <= 80 else r[:77] + "..."


class _Encoder:
    """Turns obj into the header's JSON tree while collecting the arrays it holds."""

    def __init__(self):
        self.arrays, self.kinds, self.names = [], [], []
        self._memo = {}  # id(object) -> array index: the same tensor object twice is stored once, loaded as one
        self._objects = {}  # id(object) -> object id: a Module (or Parameter) met twice is saved once, loads as one
        self._unfinished = set()  # ids of the objects rebuilt from their state that are being saved
        self._alive = []  # the objects and states made while saving: ids in the memos must not be reused
        self._inside = 0  # how many objects enclose the value being saved
        self.version = PLAIN_VERSION

    def array(self, key, data, kind, path, allowed):
        idx = self._memo.get(id(key))
        if idx is not None:
            return idx
        if data.dtype.name not in allowed:
            raise SerializationError(f"save: cannot save an array of dtype {data.dtype} at {_where(path)}; "
                                     f"supported dtypes: {', '.join(allowed)}")
        self.arrays.append(data)
        self.kinds.append(kind)
        self.names.append(data.dtype.name)
        self._memo[id(key)] = idx = len(self.arrays) - 1
        return idx

    def node(self, obj, path):
        if len(path) > MAX_DEPTH:
            raise SerializationError(f"save: containers nest deeper than {MAX_DEPTH} levels at {_where(path)} "
                                     "(is there a reference cycle?)")
        if obj is None or obj is True or obj is False:
            return obj
        if isinstance(obj, Tensor):
            kind = self._inside and type(obj) is not Tensor and object_type(type(obj))
            if kind:  # a Parameter inside a Module
                return self.object(obj, kind, path)
            return {"tensor": self.array(obj, obj._data, "tensor", path, TENSOR_DTYPES), "device": str(obj._device)}
        if isinstance(obj, np.ndarray):
            return {"ndarray": self.array(obj, obj, "ndarray", path, ARRAY_DTYPES)}
        if isinstance(obj, np.generic):  # before int/float: np.float64 subclasses float but should come back as is
            return {"npscalar": self.array(obj, np.asarray(obj), "npscalar", path, ARRAY_DTYPES)}
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
        return self.v3_node(obj, path)

    def v3_node(self, obj, path):
        """The entries that only format version 3 has: sets, dtypes, devices, objects and names."""
        version, self.version = self.version, VERSION
        if isinstance(obj, (set, frozenset)):
            items = sorted(obj) if all(type(v) is str for v in obj) else obj  # the same file every run
            return {type(obj).__name__: [self.node(v, path + (i,)) for i, v in enumerate(items)]}
        if isinstance(obj, Dtype):
            return {"dtype": obj.name}
        if isinstance(obj, Device):
            return {"device": str(obj)}
        kind = object_type(type(obj))
        if kind is not None and (self._inside or not kind.nested_only):
            return self.object(obj, kind, path)
        if isinstance(obj, type) or isinstance(obj, _FUNCTIONS):
            what = "class" if isinstance(obj, type) else "function"
            return {"global": name_for_saving(obj, f"the {what}", _where(path))}
        self.version = version
        raise SerializationError(f"save: cannot save object of type {type(obj).__name__!r} at {_where(path)} "
                                 f"(supported: {_SUPPORTED})")

    def object(self, obj, kind, path):
        """An object saved by structure: its class by name, then each group of its state, attribute by
        attribute (an error names the attribute path, e.g. obj.encoder.hook)."""
        k = self._objects.get(id(obj))
        if k is not None:
            if k in self._unfinished:
                raise SerializationError(f"save: {_where(path)} refers back to the {type(obj).__name__} that holds "
                                         "it; such a cycle cannot be saved")
            return {"ref": k}
        name = name_for_saving(type(obj), f"the class of the {type(obj).__name__}", _where(path))
        self.version = VERSION
        k = self._objects[id(obj)] = len(self._objects)
        state = kind.state(obj)
        self._alive.append((obj, state))
        if kind.rebuild is not None:
            self._unfinished.add(k)
        self._inside += 1
        groups = []
        for group in kind.groups:
            entries = []
            for attr, value in state[group].items():
                if type(attr) is not str:
                    raise SerializationError(f"save: {_where(path)} has an attribute named {_short(attr)}; "
                                             "attribute names must be str")
                entries.append([attr, self.node(value, path + (_Attr(attr),))])
            groups.append([group, entries])
        self._inside -= 1
        self._unfinished.discard(k)
        return {"object": name, "id": k, "state": groups}

    def layout(self):
        """The storages and array entries of the header, and the (offset, storage) pairs to write."""
        storages, placed = _storages.plan(self.arrays, self.kinds)
        entries = [{"dtype": name, "shape": list(arr.shape), "storage": s, "offset": offset, "strides": strides}
                   for name, arr, (s, offset, strides) in zip(self.names, self.arrays, placed)]
        table, items, end = [], [], 0
        for storage in storages:
            offset = -(-end // ALIGN) * ALIGN
            data = storage.bytes(self.arrays)
            table.append({"offset": offset, "nbytes": storage.nbytes, "fletcher64": fletcher64(data)})
            items.append((offset, storage))
            end = offset + storage.nbytes
        if max(len(table), len(entries)) > MAX_ENTRIES:
            raise SerializationError(f"save: obj holds {len(entries)} arrays in {len(table)} storages, more than "
                                     f"the {MAX_ENTRIES} that load accepts; save fewer, larger arrays")
        return table, entries, items, end


def _key(k, path):
    if isinstance(k, str):
        return str(k)
    if isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)):
        return int(k)
    raise SerializationError(f"save: cannot save dict key {_short(k)} of type {type(k).__name__!r} at "
                             f"{_where(path)}; keys must be str or int")


def save(obj, f):
    """Save obj to a path (atomically: temp file, fsync, rename) or a writable binary file object. No pickle:
    obj may nest dict (str/int keys), list, tuple, set, Tensor, numpy arrays/scalars, bool, int, float, str, None,
    dtypes and devices, and whole nn.Modules: each saved as its class's name, its parameters, buffers, children
    and other attributes (any of the above, or classes and top-level functions, saved by name); a tied parameter
    is saved once and loads tied."""
    enc = _Encoder()
    root = enc.node(obj, ())
    storages, arrays, items, data_nbytes = enc.layout()
    try:
        header = json.dumps({"root": root, "storages": storages, "arrays": arrays, "data_nbytes": data_nbytes},
                            separators=(",", ":"), allow_nan=False).encode()
    except ValueError as e:  # e.g. an int with more digits than Python will print
        raise SerializationError(f"save: cannot encode obj: {e}") from None
    header += b" " * (-(PREFIX.size + len(header)) % ALIGN)
    if len(header) > MAX_HEADER_BYTES:
        raise SerializationError(f"save: the header would take {len(header)} bytes, more than the "
                                 f"{MAX_HEADER_BYTES} that load accepts; keep large data in arrays, not lists")
    fields = struct.pack("<IQ", enc.version, len(header))
    prefix = MAGIC + fields + struct.pack("<I", header_crc(fields, header))

    def write(out):
        out.write(prefix)
        out.write(header)
        pos = 0
        for offset, storage in items:
            out.write(bytes(offset - pos))
            out.write(storage.bytes(enc.arrays))
            pos = offset + storage.nbytes

    write_to(f, "save", write)


def load(f, map_location=None, *, weights_only=True):
    """Load what save() wrote: the same structure, with tensors of the exact dtype and shape (requires_grad False),
    and arrays that shared memory when saved sharing it again. Every checksum is verified.

    map_location: None (the saved device; an unavailable one raises DeviceError), a device for every tensor,
    or a dict {saved device: target device}.

    weights_only (True or None: the default, as in PyTorch >= 2.6) matters only for files that name classes or
    functions (a saved nn.Module): eagerlab's own load, others raise WeightsOnlyError unless allow-listed with
    eagerlab.serialization.add_safe_globals / safe_globals. weights_only=False imports the modules the file names
    to find them; the objects are still made with `cls.__new__` and filled from data, running no `__init__`, no
    pickle and no eval."""
    place = _placement(map_location)
    with Source(f, "load") as src:
        table = _read_header(src)
        resolver = Resolver(weights_only is not False, src.error, src.name, _where)
        out = _Decoder(src, table, place, resolver).node(table.root, ())
        src.verify()  # every checksum, before anything built from the data is returned
        src.seek_end_of_record(table.data_start + table.data_nbytes)  # records can follow each other in a stream
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


class _Table:
    """A checked header: storages [(offset from the file start, nbytes, digest or None)], arrays [(dtype name,
    numpy dtype, shape, storage index, byte offset of element 0, strides)], the root node."""

    __slots__ = ("storages", "arrays", "root", "data_start", "data_nbytes", "version")


def _read_header(src):
    head = src.read(0, min(src.size, PREFIX_V1.size), "the prefix")
    if head[:len(MAGIC)] != MAGIC:
        raise src.error(_not_ours(head))
    src.check_range(0, PREFIX_V1.size, "the prefix")
    _, version, hlen = PREFIX_V1.unpack(head)
    if version not in (1, PLAIN_VERSION, VERSION):
        raise src.error(f"format version {version}, but this eagerlab reads versions 1 to {VERSION} "
                        "(was it written by a newer eagerlab, or is the file corrupt?)")
    prefix_size = PREFIX_V1.size if version == 1 else PREFIX.size
    src.check_range(0, prefix_size, "the prefix")
    raw = src.header_bytes(prefix_size, hlen)
    if version != 1:
        (stored,) = struct.unpack("<I", src.read(PREFIX_V1.size, 4, "the header checksum"))
        computed = header_crc(head[len(MAGIC):], raw)
        if stored != computed:
            raise src.error(f"header checksum mismatch, the header or the prefix is corrupt (stored CRC-32 "
                            f"{stored:08x}, computed {computed:08x})")
    header = src.parse_header(raw, "dtype")
    keys = {"root", "arrays", "data_nbytes"} | ({"storages"} if version != 1 else set())
    if type(header) is not dict or header.keys() != keys:
        raise src.error(f"header must be an object with keys {', '.join(sorted(keys))}; got {_short(header)}")
    table = _Table()
    table.root, table.data_start, table.data_nbytes = header["root"], prefix_size + hlen, header["data_nbytes"]
    table.version = version
    if type(table.data_nbytes) is not int or table.data_nbytes < 0:
        raise src.error(f"bad data_nbytes {table.data_nbytes!r}")
    src.check_range(table.data_start, table.data_nbytes, "the data section")
    if version == 1:
        table.storages, table.arrays = _v1_arrays(src, _entries(src, header, "arrays"))
    else:
        table.storages = _v2_storages(src, _entries(src, header, "storages"))
        table.arrays = _v2_arrays(src, _entries(src, header, "arrays"), table.storages)
    check_layout(src, [(f"storage {i}", offset, offset + nbytes) for i, (offset, nbytes, _) in
                       enumerate(table.storages)], table.data_nbytes, contiguous=False)
    table.storages = [(table.data_start + offset, nbytes, digest) for offset, nbytes, digest in table.storages]
    return table


def _entries(src, header, key):
    entries = header[key]
    if type(entries) is not list:
        raise src.error(f"{key} must be a list, got {_short(entries)}")
    if len(entries) > MAX_ENTRIES:
        raise src.error(f"{key} lists {len(entries)} entries, more than the limit of {MAX_ENTRIES}")
    return entries


def _fields(src, what, e, keys):
    if type(e) is not dict or e.keys() != keys:
        raise src.error(f"{what}: expected an object with keys {', '.join(sorted(keys))}; got {_short(e)}")
    return e


def _dtype(src, what, name):
    dtype = ARRAY_DTYPES.get(name) if type(name) is str else None
    if dtype is None:
        raise src.error(f"{what}: dtype {name!r} is not allowed (allowed: {', '.join(ARRAY_DTYPES)})")
    return dtype


def _v1_arrays(src, table):
    """Version 1: each array has its own bytes, C order ({dtype, shape, offset, nbytes}), and no checksum."""
    storages, arrays = [], []
    for i, e in enumerate(table):
        what = f"array {i}"
        _fields(src, what, e, {"dtype", "shape", "offset", "nbytes"})
        dtype = _dtype(src, what, e["dtype"])
        shape, offset, nbytes = check_shape(src, what, e["shape"]), e["offset"], e["nbytes"]
        if type(offset) is not int or type(nbytes) is not int:
            raise src.error(f"{what}: offset and nbytes must be ints, got {offset!r} and {nbytes!r}")
        check_extent(src, what, offset, offset + nbytes, dtype, shape)
        storages.append((offset, nbytes, None))
        arrays.append((e["dtype"], dtype, shape, i, 0, tuple(_storages.c_strides(shape, dtype.itemsize))))
    return storages, arrays


def _v2_storages(src, table):
    storages = []
    for i, e in enumerate(table):
        what = f"storage {i}"
        _fields(src, what, e, {"offset", "nbytes", "fletcher64"})
        offset, nbytes, digest = e["offset"], e["nbytes"], e["fletcher64"]
        if type(offset) is not int or type(nbytes) is not int or offset < 0 or nbytes < 0:
            raise src.error(f"{what}: offset and nbytes must be non-negative ints, got {offset!r} and {nbytes!r}")
        if type(digest) is not str or len(digest) != 32 or digest.strip("0123456789abcdef"):
            raise src.error(f"{what}: fletcher64 must be 32 lowercase hex digits, got {_short(digest)}")
        storages.append((offset, nbytes, digest))
    return storages


def _v2_arrays(src, table, storages):
    """Version 2: {dtype, shape, storage, offset, strides}; every element must lie inside the storage, aligned to
    the item size, and no two elements of one array may share memory."""
    arrays = []
    for i, e in enumerate(table):
        what = f"array {i}"
        _fields(src, what, e, {"dtype", "shape", "storage", "offset", "strides"})
        dtype = _dtype(src, what, e["dtype"])
        shape, s, offset, strides = check_shape(src, what, e["shape"]), e["storage"], e["offset"], e["strides"]
        if type(s) is not int or not 0 <= s < len(storages):
            raise src.error(f"{what}: storage index {_short(s)} is out of range ({len(storages)} storages)")
        size, nbytes = dtype.itemsize, storages[s][1]
        if (type(strides) is not list or len(strides) != len(shape)
                or any(type(st) is not int or abs(st) >= 2 ** 63 or st % size for st in strides)):
            raise src.error(f"{what}: strides must be a list of {len(shape)} ints, multiples of the item size "
                            f"{size}, got {_short(strides)}")
        if type(offset) is not int or offset < 0 or offset % size:
            raise src.error(f"{what}: offset must be a non-negative multiple of the item size {size}, got "
                            f"{_short(offset)}")
        if math.prod(shape):
            lo, hi = _storages.extent(shape, strides, size)
            if offset + lo < 0 or offset + hi > nbytes:
                raise src.error(f"{what}: its elements span bytes [{offset + lo}, {offset + hi}) of storage {s}, "
                                f"which has {nbytes}")
            if _storages.overlaps_itself(shape, strides, size):
                raise src.error(f"{what}: shape {list(shape)} with strides {strides} makes elements share memory")
        arrays.append((e["dtype"], dtype, shape, s, offset, tuple(strides)))
    return arrays


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
    """Validates the header's tree node by node while rebuilding the objects; storages are read (and their checksums
    verified) when first met. Arrays of one storage are views of one buffer; tensors of one storage also share a
    version counter, so that autograd sees an in-place change made through any of them."""

    def __init__(self, src, table, place, resolver):
        self.src, self.table, self.place, self.resolver = src, table, place, resolver
        self._objects = []  # by object id: the objects rebuilt so far (_UNFINISHED while one is being rebuilt)
        self._cache = {}  # (kind, index, device) -> object, so a tensor stored once loads as one object
        self._host = {}  # storage index -> its verified bytes on the host
        self._moved = {}  # (storage index, device) -> (its bytes on that device, the version counter)
        self._users = {}  # storage index -> (kind, saved device, path) of the first object made from it

    def node(self, n, path):
        if len(path) > MAX_DEPTH:
            raise self.src.error(f"containers nest deeper than {MAX_DEPTH} levels at {_where(path)}")
        if n is None or type(n) in (bool, int, float, str):
            return n
        tag = next((t for t in _TAGS if t in n), None) if type(n) is dict else None
        if tag is None or n.keys() != _TAGS[tag]:
            raise self.src.error(f"unrecognised entry at {_where(path)}: {_short(n)}")
        if tag in _V3_TAGS:
            if self.table.version < VERSION:
                raise self.src.error(f"entry {tag!r} at {_where(path)} needs format version {VERSION}, but the file "
                                     f"is version {self.table.version}")
            return self._v3_node(tag, n, path)
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
        key = (tag, val)
        if key not in self._cache:
            _, dtype, shape, s, offset, strides = self._entry(val, path, tag, None)
            self._cache[key] = self._view(self._host_bytes(s, path), dtype, shape, offset, strides, np, path)
        arr = self._cache[key]
        if tag == "npscalar":
            if arr.ndim:
                raise self.src.error(f"numpy scalar at {_where(path)} has shape {list(arr.shape)}")
            return arr[()]
        return arr

    def _v3_node(self, tag, n, path):
        val = n[tag]
        if tag == "object":
            return self._object(n, path)
        if tag == "ref":
            if type(val) is not int or not 0 <= val < len(self._objects) or self._objects[val] is _UNFINISHED:
                raise self.src.error(f"bad object reference {_short(val)} at {_where(path)} "
                                     f"({len(self._objects)} objects loaded so far)")
            return self._objects[val]
        if tag == "global":
            return self.resolver.resolve(val, "global", path)
        if tag in ("set", "frozenset"):
            items = [self.node(v, path + (i,)) for i, v in enumerate(self._list(val, path))]
            try:
                return set(items) if tag == "set" else frozenset(items)
            except TypeError as e:
                raise self.src.error(f"the {tag} at {_where(path)} holds an item it cannot: {e}") from None
        if tag == "dtype":
            if type(val) is not str or val not in _DTYPE_OBJECTS:
                raise self.src.error(f"bad dtype {_short(val)} at {_where(path)}")
            return _DTYPE_OBJECTS[val]
        try:
            return Device(val)
        except DeviceError:
            raise self.src.error(f"bad device {_short(val)} at {_where(path)}") from None

    def _object(self, n, path):
        """An object saved by structure: resolve its class under the weights_only policy, make it (before its
        state, when it can exist empty, so that the state may refer back to it), then restore its state."""
        name, k = n["object"], n["id"]
        if type(k) is not int or k != len(self._objects):
            raise self.src.error(f"object id {_short(k)} at {_where(path)} is out of order (expected "
                                 f"{len(self._objects)})")
        cls = self.resolver.resolve(name, "class", path)
        kind = object_type(cls)
        try:
            obj = kind.new(cls) if kind.new is not None else _UNFINISHED
            self._objects.append(obj)
            state = self._state(n["state"], kind.groups, path)
            if kind.new is not None:
                kind.restore(obj, state)
            else:
                obj = self._objects[k] = kind.rebuild(cls, state)
        except (TypeError, ValueError) as e:
            raise self.src.error(f"cannot rebuild the {name} at {_where(path)}: {e}") from None
        return obj

    def _state(self, groups, expected, path):
        if (type(groups) is not list
                or [g[0] if type(g) is list and len(g) == 2 else None for g in groups] != list(expected)):
            raise self.src.error(f"the state at {_where(path)} must be the groups {list(expected)}, each "
                                 f"[name, [[attribute, value], ...]]; got {_short(groups)}")
        state = {}
        for group, entries in groups:
            out = state[group] = {}
            for entry in self._list(entries, path):
                if type(entry) is not list or len(entry) != 2 or type(entry[0]) is not str:
                    raise self.src.error(f"bad attribute entry in {group} at {_where(path)}: {_short(entry)}")
                attr = entry[0]
                if attr in out:
                    raise self.src.error(f"duplicate attribute {attr!r} in {group} at {_where(path)}")
                out[attr] = self.node(entry[1], path + (_Attr(attr),))
        return state

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

    def _entry(self, idx, path, kind, saved):
        """The array entry `idx`, after checking that its storage is shared only in the allowed way: by tensors
        saved on one device, or by numpy arrays; never by a tensor and an ndarray (writing to the array would
        change the tensor behind autograd's back)."""
        arrays = self.table.arrays
        if type(idx) is not int or not 0 <= idx < len(arrays):
            raise self.src.error(f"array index {_short(idx)} at {_where(path)} is out of range "
                                 f"({len(arrays)} arrays)")
        entry = arrays[idx]
        if kind == "tensor" and entry[0] not in TENSOR_DTYPES:
            raise self.src.error(f"{_where(path)}: a tensor cannot have dtype {entry[0]}")
        s = entry[3]
        first = self._users.setdefault(s, (kind, saved, path))
        if first[:2] != (kind, saved):
            raise self.src.error(f"{_where(path)} ({_kind(kind, saved)}) and {_where(first[2])} "
                                 f"({_kind(*first[:2])}) share storage {s}; only tensors saved on one device, or "
                                 "only numpy arrays, may share memory")
        return entry

    def _host_bytes(self, s, path):
        buf = self._host.get(s)
        if buf is None:
            offset, nbytes, digest = self.table.storages[s]
            buf = self._host[s] = self.src.read_storage(offset, nbytes, f"the data of {_where(path)} "
                                                        f"(storage {s})", digest)
        return buf

    def _view(self, buf, dtype, shape, offset, strides, xp, path):
        try:
            arr = _storages.view(buf, dtype, shape, offset, strides, xp)
        except ValueError as e:  # an empty shape like (0, 2**62) that numpy cannot represent
            raise self.src.error(f"{_where(path)}: cannot make an array of shape {list(shape)}: {e}") from None
        return arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))  # big-endian hosts: a copy

    def _tensor(self, idx, saved, path):
        try:
            saved = Device(saved)
        except DeviceError:
            raise self.src.error(f"bad device {_short(saved)} at {_where(path)}") from None
        dev = self.place(saved)
        key = ("tensor", idx, dev)
        if key in self._cache:
            return self._cache[key]
        _, dtype, shape, s, offset, strides = self._entry(idx, path, "tensor", str(saved))
        if dev is not CPU:
            try:
                dev.xp
            except DeviceError as e:
                raise DeviceError(f"load: {self.src.name}: the tensor at {_where(path)} was saved on {saved}, "
                                  f"which is not usable here ({e}). Pass map_location='cpu' (or a dict such as "
                                  f"{{'{saved}': 'cpu'}}) to load it elsewhere.") from None
        moved = self._moved.get((s, dev))
        if moved is None:
            host = self._host_bytes(s, path)
            if dev is not CPU:
                del self._host[s]  # every later user of this storage is a tensor bound for the same device
            moved = self._moved[s, dev] = (host if dev is CPU else array_to_device(host, dev), [0])
        buf, version = moved
        arr = self._view(buf, dtype, shape, offset, strides, dev.xp, path)
        self._cache[key] = t = Tensor._make(arr, dev)
        t._vc = version
        return t


_UNFINISHED = object()  # the place of an object whose state is being read
_DTYPE_OBJECTS = {d.name: d for d in ALL}


def _kind(kind, saved):
    return f"a tensor saved on {saved}" if kind == "tensor" else f"a numpy {'array' if kind == 'ndarray' else kind}"
