"""IDX files (the MNIST format), plain or gzipped, and checksum-verified atomic downloads.

IDX layout: two zero bytes, a dtype code, the number of dims, then one big-endian uint32 per dim and the values
in big-endian C order. Every field is checked against the file's real size before any array is built.
"""
import gzip
import hashlib
import os
import urllib.error
import urllib.request
import zlib

import numpy as np

from ..errors import FileFormatError

_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(path):
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise FileFormatError(f"{path}: not a complete gzip file ({e})") from None


def read_idx(path):
    """The array stored in the IDX file `path` (native byte order); FileFormatError naming the file when the
    header or the size is wrong."""
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise FileFormatError(f"{path}: {len(raw)} bytes, too short for an IDX header (4 bytes)")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES or raw[3] == 0:
        raise FileFormatError(f"{path}: bad IDX magic number 0x{raw[:4].hex()} (expected 0x0000TTNN: two zero "
                              f"bytes, a type code in {sorted(hex(c) for c in _DTYPES)} and a dim count >= 1)")
    ndim, dtype = raw[3], np.dtype(_DTYPES[raw[2]])
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise FileFormatError(f"{path}: truncated header: {ndim} dims need {header} bytes, the file has {len(raw)}")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "trailing bytes"
        raise FileFormatError(f"{path}: {what}: header says shape {shape} of {dtype.name} ({expected} bytes in "
                              f"all), the file has {len(raw)} bytes")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def file_digest(path, algorithm="md5"):
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(urls, path, digest, algorithm="md5", timeout=60):
    """Fetch `path` from the first of `urls` that answers; the bytes go to a temporary file in the same folder,
    are checked against `digest` (an `algorithm` hex digest) and only then renamed into place, so `path` is
    either absent or complete and verified. A checksum mismatch raises FileFormatError; if no url answers, a
    RuntimeError lists every failure."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    failures = []
    for url in urls:
        tmp = f"{path}.{os.getpid()}.part"
        try:
            h = hashlib.new(algorithm)
            with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
                for block in iter(lambda: response.read(1 << 20), b""):
                    h.update(block)
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            if h.hexdigest() != digest:
                raise FileFormatError(f"{path}: downloaded from {url}, {algorithm} checksum {h.hexdigest()} does "
                                      f"not match the expected {digest} (the file was not kept)")
            os.replace(tmp, path)
            return path
        except (urllib.error.URLError, OSError) as e:
            failures.append(f"{url}: {e}")
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    raise RuntimeError(f"could not download {os.path.basename(path)}; tried:\n  " + "\n  ".join(failures))
