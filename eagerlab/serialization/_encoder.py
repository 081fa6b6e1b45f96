"""eagerlab.save's encoder: an object tree to the header's JSON tree and the arrays it holds."""
import math

import numpy as np

from .._tensor import Tensor
from ..backend import Device
from ..backend.dtypes import dtype as Dtype
from ..errors import SerializationError
from . import _storages
from ._checksum import fletcher64
from ._format import (ALIGN, ARRAY_DTYPES, MAX_DEPTH, PLAIN_VERSION, TENSOR_DTYPES, VERSION, _FUNCTIONS, _SUPPORTED,
                      _Attr, _short, _where)
from ._io import MAX_ENTRIES
from ._objects import name_for_saving, object_type


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
