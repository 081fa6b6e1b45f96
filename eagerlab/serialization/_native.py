"""eagerlab.save / eagerlab.load: nested containers of tensors, arrays and scalars in the pickle-free format
documented in eagerlab/serialization/__init__.py."""
import json
import struct

from ..backend import Device
from ..errors import DeviceError, SerializationError
from ._checksum import header_crc
from ._decoder import _Decoder
from ._encoder import _Encoder
from ._files import write_to
from ._format import ALIGN, MAGIC, PREFIX, _where
from ._header import _read_header
from ._io import MAX_HEADER_BYTES, Source
from ._objects import Resolver


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
