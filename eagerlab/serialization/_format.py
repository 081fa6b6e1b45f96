"""The native format's constants and allow-lists, shared by the encoder, the header reader and the decoder
(the format itself is documented in eagerlab/serialization/__init__.py)."""
import struct
import types

from ..backend.dtypes import ALL, LittleEndianTable

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
