"""safetensors interop for state dicts (flat str -> Tensor dicts), in pure numpy after the spec
(github.com/huggingface/safetensors, "Format"): an 8-byte little-endian header length N; N bytes of JSON
{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}}, padded
with spaces; then the tensors' bytes, little-endian, C order, contiguous with no gaps, offsets relative to the data
start. The optional `safetensors` package is not needed; when installed, the tests check both directions.

safetensors has no checksum, by design: a flipped bit in a tensor's bytes loads as a silently different value, and
a header that is damaged into another valid header (a renamed tensor, F32 read as I32) cannot be told from the
original. The header is checked as strictly as eagerlab's own (offsets, sizes, overlaps, bounds); for files whose
integrity matters, eagerlab.save's format checksums every array and its header."""
import json
import math
import struct

from .._tensor import Tensor
from ..backend import CPU, Device, array_to_device
from ..backend.dtypes import ALL, LittleEndianTable
from ..errors import SerializationError
from ._files import write_to
from ._io import MAX_ENTRIES, Source, check_extent, check_layout, check_shape, write_arrays

_HEADER_LEN = struct.Struct("<Q")
_ALIGN = 8  # the safetensors writer pads the header so the data starts 8-byte aligned
_CODES = {"bool": "BOOL", "uint8": "U8", "int8": "I8", "int16": "I16", "int32": "I32", "int64": "I64",
          "float16": "F16", "bfloat16": "BF16", "float32": "F32", "float64": "F64"}
_NP = LittleEndianTable({_CODES[d.name]: d for d in ALL})  # the allow-list: safetensors code -> numpy dtype


def save_safetensors(state_dict, path, metadata=None):
    """Write a flat {str: Tensor} dict as a safetensors file (atomically for a path); metadata: {str: str}."""
    op = "save_safetensors"
    if not isinstance(state_dict, dict):
        raise SerializationError(f"{op}: expected a dict of str -> Tensor, got {type(state_dict).__name__}")
    for name, t in state_dict.items():
        if type(name) is not str or name == "__metadata__":
            raise SerializationError(f"{op}: tensor names must be str other than '__metadata__', got {name!r}")
        if not isinstance(t, Tensor):
            raise SerializationError(f"{op}: {name!r} is a {type(t).__name__}, not a Tensor (safetensors holds "
                                     "only a flat dict of tensors; use eagerlab.save for nested objects)")
    if metadata is not None and (not isinstance(metadata, dict) or not all(
            type(k) is str and type(v) is str for k, v in metadata.items())):
        raise SerializationError(f"{op}: metadata must be a dict of str -> str, got {metadata!r}")
    header = {"__metadata__": dict(metadata)} if metadata else {}
    items, offset = [], 0
    # widest dtypes first, then by name: every tensor starts aligned to its itemsize with no padding between
    for name, t in sorted(state_dict.items(), key=lambda kv: (-kv[1]._data.itemsize, kv[0])):
        nbytes = math.prod(t._data.shape) * t._data.itemsize
        header[name] = {"dtype": _CODES[t._data.dtype.name], "shape": list(t._data.shape),
                        "data_offsets": [offset, offset + nbytes]}
        items.append((offset, t))
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-(_HEADER_LEN.size + len(raw)) % _ALIGN)

    def write(out):
        out.write(_HEADER_LEN.pack(len(raw)))
        out.write(raw)
        write_arrays(out, items)

    write_to(path, op, write)


def load_safetensors(path, device="cpu"):
    """Read a safetensors file into a {name: Tensor} dict (file order) on `device`, validating it first."""
    dev = Device(device)
    dev.xp  # an unavailable device fails here, before any reading
    with Source(path, "load_safetensors") as src:
        entries, _ = _read_header(src)
        out = {}
        for name, dtype, shape, offset in entries:
            arr = src.read_array(offset, dtype, shape, f"tensor {name!r}")
            out[name] = Tensor._make(arr if dev is CPU else array_to_device(arr, dev), dev)
    return out


def safetensors_metadata(path):
    """The file's __metadata__ dict (str -> str), or None when it has none."""
    with Source(path, "safetensors_metadata") as src:
        return _read_header(src)[1]


def _read_header(src):
    """Validate the whole header; returns [(name, np dtype, shape, absolute offset)] and the metadata."""
    (n,) = _HEADER_LEN.unpack(src.read(0, _HEADER_LEN.size, "the header length"))
    header = src.parse_header(src.header_bytes(_HEADER_LEN.size, n), "dtype")
    if type(header) is not dict:
        raise src.error(f"header must be a JSON object, got {type(header).__name__}")
    if len(header) > MAX_ENTRIES + 1:
        raise src.error(f"header lists {len(header)} entries, more than the limit of {MAX_ENTRIES}")
    meta = header.pop("__metadata__", None)
    if meta is not None and (type(meta) is not dict or not all(type(v) is str for v in meta.values())):
        raise src.error(f"__metadata__ must map str to str, got {meta!r:.80}")
    data_start = _HEADER_LEN.size + n
    entries, extents = [], []
    for name, info in header.items():
        what = f"tensor {name!r}"
        if type(info) is not dict or info.keys() != {"dtype", "shape", "data_offsets"}:
            raise src.error(f"{what}: expected an object with keys dtype, shape, data_offsets; got {info!r:.80}")
        dtype = _NP.get(info["dtype"]) if type(info["dtype"]) is str else None
        if dtype is None:
            raise src.error(f"{what}: dtype {info['dtype']!r} is not supported by eagerlab (supported: "
                            f"{', '.join(_NP)}); convert it before saving, e.g. float8 with tensor.float()")
        shape, offsets = check_shape(src, what, info["shape"]), info["data_offsets"]
        if type(offsets) is not list or len(offsets) != 2:
            raise src.error(f"{what}: data_offsets must be [begin, end], got {offsets!r:.80}")
        check_extent(src, what, offsets[0], offsets[1], dtype, shape)
        entries.append((name, dtype, shape, data_start + offsets[0]))
        extents.append((what, offsets[0], offsets[1]))
    check_layout(src, extents, src.size - data_start, contiguous=True)
    return entries, meta
