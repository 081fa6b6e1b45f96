"""Reading and checking a native file's prefix and header: storages, arrays, the root node."""
import math
import struct

from . import _storages
from ._checksum import header_crc
from ._format import ARRAY_DTYPES, MAGIC, PLAIN_VERSION, PREFIX, PREFIX_V1, VERSION, _short
from ._io import MAX_ENTRIES, check_extent, check_layout, check_shape


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
