"""Throughput of the checksums considered for eagerlab files, over 100 MiB of random bytes in memory (best of
several runs): the Fletcher-64 eagerlab uses (numpy sums), zlib's CRC-32 (stdlib; eagerlab uses it for headers),
and, when installed, CRC32C (the `crc32c` package, hardware instructions) and xxHash's XXH3 (`xxhash`). No PyTorch
counterpart: its column is empty."""
import time
import zlib

import numpy as np

from eagerlab.serialization._checksum import fletcher64

NBYTES = 100 << 20


def _gb_per_s(fn, data, repeats=7):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(data)
        best = min(best, time.perf_counter() - t0)
    return data.size / best / 1e9


def _candidates():
    found = {"Fletcher-64 (numpy; eagerlab's storages)": fletcher64,
             "CRC-32 (stdlib zlib; eagerlab's headers)": zlib.crc32}
    try:
        import crc32c
        found["CRC32C (optional crc32c package)"] = crc32c.crc32c
    except ImportError:
        pass
    try:
        import xxhash
        found["XXH3-64 (optional xxhash package)"] = xxhash.xxh3_64_intdigest
    except ImportError:
        pass
    return found


def rows():
    data = np.random.default_rng(0).integers(0, 256, NBYTES, dtype=np.uint8)
    return [(f"checksum 100 MiB: {name}", "GB/s", _gb_per_s(fn, data), None, "higher")
            for name, fn in _candidates().items()]


if __name__ == "__main__":
    from run import print_table

    print_table(rows())
