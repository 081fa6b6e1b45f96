"""eagerlab.load's decoder: the header's JSON tree back to objects, tensors and arrays."""
import numpy as np

from .._tensor import Tensor
from ..backend import CPU, Device, array_to_device
from ..backend.dtypes import ALL
from ..errors import DeviceError
from . import _storages
from ._format import MAX_DEPTH, TENSOR_DTYPES, VERSION, _SPECIAL_FLOATS, _TAGS, _V3_TAGS, _Attr, _short, _where
from ._objects import object_type


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
