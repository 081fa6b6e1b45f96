"""Integrity of eagerlab files (format version 2): a Fletcher-64 per storage and a CRC-32 over the prefix and header
are verified on every load, so a damaged byte is a SerializationError naming the file and what it damaged, never
silently different data; files of format version 1 (no checksums) still load."""
import base64
import io
import json
import struct
import threading
import zlib

import numpy as np
import pytest

import eagerlab as el
from eagerlab.errors import SerializationError
from eagerlab.serialization import _checksum

from .test_hostile import fletcher64 as reference_fletcher64

# Written by eagerlab.save of format version 1 (commit c109aa7), before checksums: kept byte for byte so that the
# version-1 read path stays tested against what the old writer really produced.
V1_FILE = base64.b64decode("""
RUFHRVJMQUIBAAAA7AEAAAAAAAB7InJvb3QiOnsiZGljdCI6W1sidyIseyJ0ZW5zb3IiOjAsImRldmljZSI6ImNwdSJ9XSxbImIi
LHsidGVuc29yIjoxLCJkZXZpY2UiOiJjcHUifV0sWyJuIix7Im5kYXJyYXkiOjJ9XSxbIm1ldGEiLHsiZGljdCI6W1sic3RlcCIs
N10sWyJsciIsMC4xXSxbImluZiIseyJmbG9hdCI6ImluZiJ9XSxbIm5hbWUiLCJ2MSJdLFsidCIseyJ0dXBsZSI6WzEsbnVsbCx0
cnVlXX1dXX1dLFsicyIseyJucHNjYWxhciI6M31dXX0sImFycmF5cyI6W3siZHR5cGUiOiJmbG9hdDMyIiwic2hhcGUiOlsyLDJd
LCJvZmZzZXQiOjAsIm5ieXRlcyI6MTZ9LHsiZHR5cGUiOiJpbnQ2NCIsInNoYXBlIjpbM10sIm9mZnNldCI6NjQsIm5ieXRlcyI6
MjR9LHsiZHR5cGUiOiJ1aW50MTYiLCJzaGFwZSI6WzNdLCJvZmZzZXQiOjEyOCwibmJ5dGVzIjo2fSx7ImR0eXBlIjoiZmxvYXQz
MiIsInNoYXBlIjpbXSwib2Zmc2V0IjoxOTIsIm5ieXRlcyI6NH1dLCJkYXRhX25ieXRlcyI6MTk2fSAgICAAAMA/AAAAwAAAQEAA
AIhAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQAAAAAAAAACAAAAAAAAAAMAAAAAAAAA
AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQACAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACBA""")


def saved(obj):
    buf = io.BytesIO()
    el.save(obj, buf)
    return buf.getvalue()


def test_version_1_file_from_the_old_writer_still_loads():
    out = el.load(io.BytesIO(V1_FILE))
    assert list(out) == ["w", "b", "n", "meta", "s"]
    assert out["w"].dtype is el.float32 and out["w"].tolist() == [[1.5, -2.0], [3.0, 4.25]]
    assert out["b"].dtype is el.int64 and out["b"].tolist() == [1, 2, 3]
    assert out["n"].dtype == np.uint16 and out["n"].tolist() == [0, 1, 2]
    assert out["meta"] == {"step": 7, "lr": 0.1, "inf": float("inf"), "name": "v1", "t": (1, None, True)}
    assert type(out["s"]) is np.float32 and out["s"] == 2.5
    out["w"].add_(1)  # loaded arrays are writable, as with version 2


def test_new_files_are_version_2_with_a_header_crc():
    data = saved({"w": el.ones(2)})
    magic, version, hlen, crc = struct.unpack("<8sIQI", data[:24])
    assert (magic, version) == (b"EAGERLAB", 2)
    assert crc == zlib.crc32(data[24:24 + hlen], zlib.crc32(data[8:20]))
    assert (24 + hlen) % 64 == 0


@pytest.mark.parametrize("nbytes", [0, 1, 7, 8, 9, 4095, 4096 + 8 * 512 + 3])
def test_fletcher64_matches_its_documented_definition(nbytes, rng):
    data = rng.integers(0, 256, nbytes, dtype=np.uint8)
    assert _checksum.fletcher64(data) == reference_fletcher64(data.tobytes())


def test_fletcher64_fed_in_pieces_and_across_chunks(rng, monkeypatch):
    monkeypatch.setattr(_checksum, "CHUNK", 4096)  # several chunks, each with full rows and a remainder
    data = rng.integers(0, 256, 3 * 4096 + 8 * 700 + 5, dtype=np.uint8)
    running = _checksum.Fletcher64()
    for start in range(0, data.size, 8 * 1000):
        running.update(data[start:start + 8 * 1000])
    assert running.hexdigest() == _checksum.fletcher64(data) == reference_fletcher64(data.tobytes())


def test_fletcher64_sees_single_word_changes_and_swaps():
    words = np.arange(1, 2001, dtype="<u8")
    base = _checksum.fletcher64(words.view(np.uint8))
    for i, delta in [(0, 1), (1999, 2 ** 63), (700, 2 ** 64 - 1)]:
        changed = words.copy()
        changed[i] = (int(changed[i]) + delta) % 2 ** 64
        assert _checksum.fletcher64(changed.view(np.uint8)) != base
    swapped = words.copy()
    swapped[[3, 1500]] = swapped[[1500, 3]]
    assert _checksum.fletcher64(swapped.view(np.uint8)) != base


def test_every_single_byte_change_is_caught_or_harmless():
    """The issue's experiment (48 of 50 flips loaded as wrong weights): now every changed byte of a real file is
    refused, except the zero padding between arrays, which holds no data and loads the exact original."""
    obj = {"w": el.tensor(np.linspace(-1, 1, 40, dtype=np.float32).reshape(5, 8)), "b": el.arange(3),
           "opt": {"step": 3, "lr": 0.5, "m": np.ones(4, np.float16)}}
    data = saved(obj)
    header_end = 24 + struct.unpack("<Q", data[12:20])[0]
    stored = set()
    for s in json.loads(data[24:header_end])["storages"]:
        stored.update(range(header_end + s["offset"], header_end + s["offset"] + s["nbytes"]))
    harmless = set()
    for pos in range(len(data)):
        bad = bytearray(data)
        bad[pos] ^= 0x41
        try:
            out = el.load(io.BytesIO(bytes(bad)))
        except SerializationError:
            continue
        assert out["w"].tolist() == obj["w"].tolist() and out["b"].tolist() == [0, 1, 2]
        assert out["opt"]["step"] == 3 and out["opt"]["m"].tolist() == [1, 1, 1, 1]
        harmless.add(pos)
    assert harmless == set(range(header_end, len(data))) - stored  # exactly the padding between arrays


def test_checksum_error_names_file_array_and_digests(tmp_path):
    path = tmp_path / "model.el"
    el.save({"layer": {"weight": el.ones(4, 4), "bias": el.zeros(4)}}, path)
    data = bytearray(path.read_bytes())
    data[-3] ^= 1  # inside the last array: the bias
    path.write_bytes(bytes(data))
    with pytest.raises(SerializationError, match=r"model\.el'.*the data of obj\['layer'\]\['bias'\] \(storage 1\): "
                                                 r"checksum mismatch.*stored Fletcher-64 [0-9a-f]{32}, computed"):
        el.load(path)


def test_header_change_is_caught_before_parsing(tmp_path):
    data = bytearray(saved({"lr": 0.5, "w": el.ones(2)}))
    data[data.index(b"0.5")] = ord("9")  # still valid JSON, a different number
    with pytest.raises(SerializationError, match="header checksum mismatch"):
        el.load(io.BytesIO(bytes(data)))


@pytest.mark.parametrize("behind", [False, True], ids=["at-once", "summed-behind-the-reads"])
def test_large_storage_is_verified_chunk_by_chunk(monkeypatch, behind):
    from eagerlab.serialization import _io
    monkeypatch.setattr(_checksum, "CHUNK", 1024)
    monkeypatch.setattr(_io, "CHUNK", 1024)
    monkeypatch.setattr(_io, "_SUM_BEHIND_FROM", 0 if behind else 1 << 30)
    x = el.tensor(np.arange(5000, dtype=np.float32))
    data = bytearray(saved([x, el.ones(3000)]))
    assert el.load(io.BytesIO(bytes(data)))[0].tolist() == x.tolist()
    data[-19000] ^= 0x10  # a middle chunk of the first storage
    data[-7000] ^= 0x10  # and of the second: the first mismatch in file order is the one reported
    with pytest.raises(SerializationError, match=r"obj\[0\] \(storage 0\).*checksum mismatch"):
        el.load(io.BytesIO(bytes(data)))
    assert not [t for t in threading.enumerate() if t.name.startswith("eagerlab-load-checksum")]
