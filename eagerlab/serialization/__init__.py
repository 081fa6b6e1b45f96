"""Saving and loading without pickle: `eagerlab.save` / `eagerlab.load`, and safetensors interop.

Loading never runs code from the file: there is no pickle, no eval and no name lookup; the file holds JSON and
raw array bytes, and every field is checked before it is used. A bad file raises
`eagerlab.errors.SerializationError` (a RuntimeError, as torch.load's corrupt-file errors are) naming the file
and what is wrong.

The eagerlab file format, version 1 (all integers little-endian; offsets are from the start of the record,
which is the start of the file, or the position of a file object when save/load was called)::

    offset  size  field
    0       8     magic b"EAGERLAB"
    8       4     format version, uint32 (1)
    12      8     H, the header length in bytes, uint64 (at most 100 MiB)
    20      H     header: UTF-8 JSON, padded with spaces so that the data section starts at a multiple of 64
    20 + H  ...   data section: the arrays' raw bytes, C order, little-endian, each at a multiple of 64

The header is a JSON object with exactly three keys::

    {"root": NODE,
     "arrays": [{"dtype": "float32", "shape": [2, 3], "offset": 0, "nbytes": 24}, ...],
     "data_nbytes": 24}

`arrays[i].offset` is relative to the data section; `nbytes` must equal prod(shape) * itemsize; arrays lie inside
the `data_nbytes` bytes of the data section and never overlap. dtype is one of bool, uint8, int8, int16, int32,
int64, float16, bfloat16, float32, float64 (tensors and numpy arrays), or uint16, uint32, uint64, complex64, complex128
(numpy arrays only). NODE is one of:

    null, true/false, an integer, a finite float, a string     the Python value itself
    {"float": "inf" | "-inf" | "nan"}                          a non-finite float (plain JSON has none)
    {"list": [NODE, ...]}   {"tuple": [NODE, ...]}             list, tuple
    {"dict": [[KEY, NODE], ...]}                               dict in order; KEY is a string or an integer
    {"tensor": i, "device": "cpu" | "cuda:N"}                  an eagerlab Tensor holding arrays[i]
    {"ndarray": i}   {"npscalar": i}                           a numpy array / numpy scalar (a 0-d arrays[i])

Containers nest at most 64 deep. A tensor (or array) object met twice is stored once, and loads as one object.
Subclasses (OrderedDict, namedtuple, nn.Parameter) load as their base type (dict, tuple, Tensor).
"""
from ._native import load, save
from ._safetensors import load_safetensors, safetensors_metadata, save_safetensors

__all__ = ["save", "load", "save_safetensors", "load_safetensors", "safetensors_metadata"]
