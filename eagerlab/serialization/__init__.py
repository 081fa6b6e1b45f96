"""Saving and loading without pickle: `eagerlab.save` / `eagerlab.load`, and safetensors interop.

Loading never runs code from the file: there is no pickle and no eval; the file holds JSON and raw array bytes,
and every field is checked before it is used. Whole nn.Modules are saved by structure (format version 3): the
class by name, then parameters, buffers, children and plain attributes; loading looks the names up under PyTorch's
weights_only policy (eagerlab's own classes, or those allow-listed with add_safe_globals / safe_globals; anything
else only with weights_only=False, which imports the module the file names, as pickle would) and fills an instance
made with `cls.__new__`, never calling `__init__`. A bad file raises
`eagerlab.errors.SerializationError` (a RuntimeError, as torch.load's corrupt-file errors are) naming the file
and what is wrong.

The eagerlab file format, version 3 (all integers little-endian; offsets are from the start of the record,
which is the start of the file, or the position of a file object when save/load was called)::

    offset  size  field
    0       8     magic b"EAGERLAB"
    8       4     format version, uint32: 3 when the root uses the version-3 entries below, else 2
    12      8     H, the header length in bytes, uint64 (at most 100 MiB)
    20      4     CRC-32 (zlib.crc32) of bytes 8..20 followed by the H header bytes, uint32
    24      H     header: UTF-8 JSON, padded with spaces so that the data section starts at a multiple of 64
    24 + H  ...   data section: the storages' raw bytes, each at a multiple of 64, zero padding between them

The header is a JSON object with exactly four keys::

    {"root": NODE,
     "storages": [{"offset": 0, "nbytes": 24, "fletcher64": "<32 hex digits>"}, ...],
     "arrays": [{"dtype": "float32", "shape": [2, 3], "storage": 0, "offset": 0, "strides": [12, 4]}, ...],
     "data_nbytes": 24}

A storage is a block of the data section (`offset` relative to it) holding one or more arrays: storages lie inside
the `data_nbytes` bytes and never overlap, and each carries the Fletcher-64 of its bytes (definition in
_checksum.py), verified when it is read. An array is `shape` elements of `dtype`, C order or not: element 0 at byte
`offset` of its storage and byte strides `strides`; offset and strides are multiples of the item size, every
element lies inside the storage and no two elements of an array overlap. Arrays of one storage load as views of one
buffer: tensors may share a storage with tensors saved on the same device, numpy arrays with numpy arrays; a file
that makes a tensor share with a numpy array (or tensors of two devices) is refused. The header lists at most
100000 storages and 100000 arrays. dtype is one of bool, uint8, int8, int16, int32, int64, float16, bfloat16,
float32, float64 (tensors and numpy arrays), or uint16, uint32, uint64, complex64, complex128 (numpy arrays only).
Numbers in the header are finite (JSON has no NaN, and 1e999 is refused). NODE is one of:

    null, true/false, an integer, a finite float, a string     the Python value itself
    {"float": "inf" | "-inf" | "nan"}                          a non-finite float (plain JSON has none)
    {"list": [NODE, ...]}   {"tuple": [NODE, ...]}             list, tuple
    {"dict": [[KEY, NODE], ...]}                               dict in order; KEY is a string or an integer
    {"tensor": i, "device": "cpu" | "cuda:N"}                  an eagerlab Tensor holding arrays[i]
    {"ndarray": i}   {"npscalar": i}                           a numpy array / numpy scalar (a 0-d arrays[i])

Version 3 adds (a file of version 2 holding them is refused):

    {"set": [NODE, ...]}   {"frozenset": [NODE, ...]}          set, frozenset
    {"dtype": "float32"}   {"device": "cpu" | "cuda:N"}        an eagerlab dtype / device object
    {"global": "module:qualname"}                              a class or top-level function, by name
    {"object": "module:qualname", "id": k, "state": [[GROUP, [[ATTRIBUTE, NODE], ...]], ...]}
                                                               an nn.Module (groups "parameters", "buffers",
                                                               "modules", "attributes", in that order) or, inside
                                                               one, an nn.Parameter (group "attributes": "data"
                                                               and "requires_grad")
    {"ref": k}                                                 the object whose id is k, again

Object ids count 0, 1, 2, ... in the order the objects first appear (depth first), so an object met twice (a tied
Parameter, a shared child) is saved once and loads as one; a ref may point to a Module still being loaded (a
cycle), not to a Parameter. Names are "module:qualname" of a class or a function defined at the top level.

Containers nest at most 64 deep. A tensor (or array) object met twice is stored once, and loads as one object.
Subclasses (OrderedDict, namedtuple, and nn.Parameter outside a saved Module) load as their base type (dict,
tuple, Tensor).

Version 1 (eagerlab before checksums) is still read: a 20-byte prefix without the CRC, the header without
"storages", and arrays as {"dtype", "shape", "offset", "nbytes"}, each holding its own C-order bytes at `offset` of
the data section, without checksums.

safetensors files (load_safetensors/save_safetensors) carry no checksum, by the design of that format: a damaged
tensor byte loads as a different value. Use eagerlab.save where integrity matters.

Saving to a path (both formats) is atomic and keeps the replaced file's mode and owner, writes through symlinks,
and removes the temp files of killed saves to the same path (rules in _files.py; docs/serialization.md).
"""
from ._native import load, save
from ._objects import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals
from ._safetensors import load_safetensors, safetensors_metadata, save_safetensors

__all__ = ["save", "load", "save_safetensors", "load_safetensors", "safetensors_metadata", "add_safe_globals",
           "get_safe_globals", "clear_safe_globals", "safe_globals"]
