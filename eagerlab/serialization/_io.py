"""Reading plumbing shared by the eagerlab and safetensors formats: bounded reads at checked offsets, checksummed
storage reads, strict header JSON within size and entry bounds, and the checks that every array extent lies inside
the file without overlapping another. (Writing to a path is in _files.py.)"""
import io
import json
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..errors import SerializationError
from ._checksum import CHUNK, Fletcher64

# Headers are bounded before they are read or parsed: by their length (the safetensors limit; an eagerlab header
# holding 100k arrays needs ~10 MB) and by the number of array entries, which is counted in the raw bytes before
# the JSON is parsed, so that a header listing a million empty arrays is refused in milliseconds, not parsed for
# seconds into hundreds of MB of Python objects.
MAX_HEADER_BYTES = 100 * 1024 * 1024
MAX_ENTRIES = 100_000
MAX_NDIM = 64  # numpy's own limit
_HUGE_PAGE = 2 << 20
_SUM_BEHIND_FROM = 1 << 20  # smaller storages are summed at once: a thread hand-off would cost more than it hides


def is_path(f):
    return isinstance(f, (str, os.PathLike))


def describe(f):
    """How an error names the file: its path, a file object's name, or its type."""
    name = os.fspath(f) if is_path(f) else getattr(f, "name", None)
    return repr(name) if isinstance(name, str) else f"<{type(f).__name__}>"


def host_bytes(x):
    """The bytes of a Tensor (copied from the device if needed) or ndarray: C order, little-endian, as uint8."""
    arr = x._host() if hasattr(x, "_host") else x
    arr = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))
    return arr.reshape(-1).view(np.uint8)


def write_arrays(out, items):
    """Write (offset, tensor_or_array) items in offset order from the current position, zero-filling gaps."""
    pos = 0
    for offset, x in items:
        if offset > pos:
            out.write(bytes(offset - pos))
        data = host_bytes(x)
        out.write(data)
        pos = offset + data.size


class Source:
    """A file being loaded: a path or a readable binary file object. Offsets are relative to where the record
    starts (a file object's current position), and every read is checked against the file's real size."""

    def __init__(self, f, op):
        self.op, self.name = op, describe(f)
        if is_path(f):
            self._f, self._owned = open(f, "rb", buffering=0), True
        elif not hasattr(f, "read"):
            raise TypeError(f"{op}: f must be a path or a readable binary file object, got {type(f).__name__}")
        elif isinstance(f, io.TextIOBase):
            raise TypeError(f"{op}: {self.name} is open in text mode; open it in binary mode ('rb')")
        else:
            seekable = getattr(f, "seekable", None)
            self._f, self._owned = (f if seekable is not None and seekable() else io.BytesIO(f.read())), False
        self.start = self._f.tell()
        self.size = self._f.seek(0, io.SEEK_END) - self.start
        self._readinto = getattr(self._f, "readinto", None)
        self._summer, self._pending = None, []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._summer is not None:  # a load that failed otherwise: drop the checksums still queued
            self._summer.shutdown(wait=True, cancel_futures=True)
        if self._owned:
            self._f.close()

    def error(self, msg):
        return SerializationError(f"{self.op}: {self.name}: {msg}")

    def seek_end_of_record(self, length):
        self._f.seek(self.start + length)

    def check_range(self, offset, n, what):
        if offset + n > self.size:
            raise self.error(f"file is truncated: {what} needs bytes [{offset}, {offset + n}) but the file has "
                             f"{self.size}")

    def read_into(self, offset, buf, what):
        """Fill `buf` (any writable buffer) with the bytes at `offset`; a short file is a SerializationError."""
        view = memoryview(buf).cast("B")
        self.check_range(offset, len(view), what)
        self._f.seek(self.start + offset)
        got = 0
        while got < len(view):
            if self._readinto is not None:
                n = self._readinto(view[got:])
            else:
                chunk = self._f.read(len(view) - got)
                n = len(chunk)
                view[got:got + n] = chunk
            if not n:
                raise self.error(f"file is truncated: {what} stops at byte {offset + got}")
            got += n
        return buf

    def read(self, offset, n, what):
        self.check_range(offset, n, what)  # before allocating n bytes
        return self.read_into(offset, bytearray(n), what)

    def read_array(self, offset, np_dtype, shape, what):
        """A new, writable array owning its memory, read straight from the file (no intermediate copy)."""
        buf = _empty(math.prod(shape) * np_dtype.itemsize)
        self.read_into(offset, buf, what)
        try:
            arr = buf.view(np_dtype).reshape(shape)
        except ValueError as e:  # a shape like (0, 2**62) that numpy cannot represent
            raise self.error(f"{what}: cannot make an array of shape {list(shape)}: {e}") from None
        return arr if np_dtype.isnative else arr.astype(np_dtype.newbyteorder("="))

    def read_storage(self, offset, nbytes, what, digest):
        """A fresh uint8 buffer holding the `nbytes` at `offset`, to be verified against its Fletcher-64 hex
        `digest` (None: files of format version 1 have none). A large storage is summed chunk by chunk on a helper
        thread while this one reads on (file reads and numpy sums both release the GIL): the caller must call
        verify() before anything it built from the buffer leaves the load."""
        self.check_range(offset, nbytes, what)  # before allocating nbytes
        buf = _empty(nbytes)
        if digest is None:
            return self.read_into(offset, buf, what)
        if nbytes < _SUM_BEHIND_FROM:
            self._compare(Fletcher64().update(self.read_into(offset, buf, what)), digest, what)
            return buf
        if self._summer is None:  # one per load, shut down when it ends: no thread outlives it (or a fork)
            self._summer = ThreadPoolExecutor(1, thread_name_prefix="eagerlab-load-checksum")
        running = Fletcher64()
        for start in range(0, nbytes, CHUNK):  # one worker runs the tasks in order: the sum sees chunks in order
            piece = self.read_into(offset + start, buf[start:start + CHUNK], what)
            self._pending.append(self._summer.submit(running.update, piece))
        self._pending.append(self._summer.submit(self._compare, running, digest, what))
        return buf

    def verify(self):
        """Wait for the checksums summed behind the reads; the first mismatch in file order is raised."""
        pending, self._pending = self._pending, []
        for task in pending:
            task.result()

    def _compare(self, running, digest, what):
        if running.hexdigest() != digest:
            raise self.error(f"{what}: checksum mismatch, the data is corrupt (stored Fletcher-64 {digest}, "
                             f"computed {running.hexdigest()})")

    def header_bytes(self, offset, length, what="header"):
        """Read a length-prefixed header after bounding its length by the limit and the file size."""
        if length > MAX_HEADER_BYTES:
            raise self.error(f"{what} declares {length} bytes, more than the {MAX_HEADER_BYTES}-byte limit "
                             "(corrupt or hostile file)")
        return self.read(offset, length, what)

    def parse_header(self, raw, entry_key, what="header"):
        """Parse header bytes after bounding the number of array entries by the occurrences of the string
        `entry_key` (which every entry has as a key) in the raw bytes: an upper bound, found at memory speed."""
        count = raw.count(b'"%s"' % entry_key.encode())
        if count > MAX_ENTRIES:
            raise self.error(f"{what} lists about {count} arrays, more than the limit of {MAX_ENTRIES} (corrupt or "
                             "hostile file; save fewer, larger arrays)")
        try:
            return strict_json(raw.decode("utf-8"))
        except ValueError as e:
            raise self.error(f"{what} is not valid JSON: {e}") from None


def strict_json(text):
    """Parse JSON refusing duplicate keys, NaN/Infinity, numbers that overflow to infinity (1e999) and excessive
    nesting; every failure is a ValueError."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant,
                          parse_float=_finite_float)
    except RecursionError:
        raise ValueError("the JSON nests too deeply") from None


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is not a finite float")
    return value


def _empty(nbytes):
    """A fresh uint8 buffer. A large one starts on a 2 MiB boundary so that transparent huge pages can back it
    (numpy asks for them from 4 MiB up): reading 100 MB into it is then about twice as fast as into one that the
    kernel fills with 4 KiB page faults. The unused head of the allocation is never touched, so it costs no RAM."""
    if nbytes < _HUGE_PAGE:
        return np.empty(nbytes, np.uint8)
    raw = np.empty(nbytes + _HUGE_PAGE, np.uint8)
    start = -raw.ctypes.data % _HUGE_PAGE
    return raw[start:start + nbytes]


def _unique_keys(pairs):
    out = dict(pairs)
    if len(out) != len(pairs):
        seen = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise ValueError(f"duplicate key {dup!r}")
    return out


def _no_constant(name):
    raise ValueError(f"non-standard constant {name}")


def check_shape(src, what, shape):
    if (type(shape) is not list or len(shape) > MAX_NDIM
            or any(type(d) is not int or not 0 <= d < 2 ** 63 for d in shape)):
        raise src.error(f"{what}: shape must be a list of at most {MAX_NDIM} non-negative ints, got {shape!r}")
    return tuple(shape)


def check_extent(src, what, begin, end, np_dtype, shape):
    """begin/end are ints with end - begin == numel * itemsize (computed exactly, without overflow)."""
    if type(begin) is not int or type(end) is not int or not 0 <= begin <= end:
        raise src.error(f"{what}: bad byte range [{begin!r}, {end!r})")
    expected = math.prod(shape) * np_dtype.itemsize
    if end - begin != expected:
        raise src.error(f"{what}: holds {end - begin} bytes but dtype {np_dtype.name} and shape "
                        f"{list(shape)} need {expected}")


def check_layout(src, extents, data_size, contiguous):
    """extents: (what, begin, end). All must end inside the data section and no two may overlap; `contiguous`
    (safetensors) also requires them to tile the data section exactly, leaving no hidden bytes."""
    pos, prev = 0, None
    for what, begin, end in sorted(extents, key=lambda e: (e[1], e[2])):
        if end > data_size:
            raise src.error(f"{what}: bytes [{begin}, {end}) run past the end of the data section "
                            f"({data_size} bytes): the file is truncated or the offsets are wrong")
        if contiguous and begin != pos:
            raise src.error(f"{what}: starts at byte {begin} but the previous tensor ends at {pos} "
                            "(data must be contiguous, without gaps or overlaps)")
        if begin < pos and begin != end:
            raise src.error(f"{what}: bytes [{begin}, {end}) overlap {prev} (which ends at {pos})")
        if end > pos:
            pos, prev = end, what
    if contiguous and pos != data_size:
        raise src.error(f"data section has {data_size - pos} bytes after the last tensor that no tensor owns")
