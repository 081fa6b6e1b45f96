"""Loading untrusted bytes: every malformed, truncated or hostile file raises SerializationError naming the file and
the problem, executes nothing and allocates nothing the file does not hold. Files are built by hand from the format
documented in eagerlab/serialization/__init__.py, so these tests also hold the documentation to the code."""
import io
import json
import pickle
import struct
import time
import tracemalloc
import zlib

import numpy as np
import pytest

import eagerlab as el
from eagerlab.errors import SerializationError

RAN = []


def _payload():
    RAN.append("code from the file ran")


class Evil:
    def __reduce__(self):
        return _payload, ()


def build(header, data=b"", *, version=2, magic=b"EAGERLAB", hlen=None, crc=None):
    """A version-2 file: prefix (magic, version, header length, CRC-32 of those two fields and the header)."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    raw += b" " * (-(24 + len(raw)) % 64)
    fields = struct.pack("<IQ", version, len(raw) if hlen is None else hlen)
    crc = zlib.crc32(raw, zlib.crc32(fields)) if crc is None else crc
    return magic + fields + struct.pack("<I", crc) + raw + data


def fletcher64(data):
    """The documented checksum, written out in plain Python."""
    data += bytes(-len(data) % 8)
    words = [int.from_bytes(data[i:i + 8], "little") for i in range(0, len(data), 8)]
    a = sum(words) % 2 ** 64
    b = sum((i + 1) * w for i, w in enumerate(words)) % 2 ** 64
    return f"{a:016x}{b:016x}"


DATA = np.array([1.5, -2.0], np.float32).tobytes()


def entry(dtype="float32", shape=(2,), storage=0, offset=0, strides=(4,)):
    return {"dtype": dtype, "shape": list(shape), "storage": storage, "offset": offset, "strides": list(strides)}


def store(offset=0, nbytes=8, digest=None):
    return {"offset": offset, "nbytes": nbytes, "fletcher64": fletcher64(DATA) if digest is None else digest}


def header(root=None, arrays=None, data_nbytes=8, storages=None):
    root = {"tensor": 0, "device": "cpu"} if root is None else root
    return {"root": root, "storages": [store()] if storages is None else storages,
            "arrays": [entry()] if arrays is None else arrays, "data_nbytes": data_nbytes}


def build_v1(header, data=b""):
    """A version-1 file (no checksums): 20-byte prefix, arrays as {dtype, shape, offset, nbytes}."""
    raw = json.dumps(header).encode()
    raw += b" " * (-(20 + len(raw)) % 64)
    return b"EAGERLAB" + struct.pack("<IQ", 1, len(raw)) + raw + data


def entry_v1(dtype="float32", shape=(2,), offset=0, nbytes=8):
    return {"dtype": dtype, "shape": list(shape), "offset": offset, "nbytes": nbytes}


def header_v1(root=None, arrays=None, data_nbytes=8):
    root = {"tensor": 0, "device": "cpu"} if root is None else root
    return {"root": root, "arrays": [entry_v1()] if arrays is None else arrays, "data_nbytes": data_nbytes}


def load_bytes(tmp_path, data):
    path = tmp_path / "bad.el"
    path.write_bytes(data)
    return el.load(path), path


def test_hand_built_file_follows_the_documented_format(tmp_path):
    t, _ = load_bytes(tmp_path, build(header(), DATA))
    assert t.dtype is el.float32 and t.tolist() == [1.5, -2.0]
    nested = header({"dict": [["a", {"list": [1, {"float": "-inf"}, {"tuple": []}]}], [7, {"ndarray": 0}]]})
    out, _ = load_bytes(tmp_path, build(nested, DATA))
    assert out["a"] == [1, float("-inf"), ()] and out[7].tolist() == [1.5, -2.0]


def _deep(n):
    node = 1
    for _ in range(n):
        node = {"list": [node]}
    return node


CASES = [
    # (id, file bytes, fragment of the message)
    ("garbage", b"garbage bytes, certainly not a checkpoint", "not an eagerlab file"),
    ("empty", b"", "not an eagerlab file"),
    ("pickle", pickle.dumps(Evil()), "looks like a pickle"),
    ("safetensors", struct.pack("<Q", 2) + b"{}", "load_safetensors"),
    ("short-prefix", b"EAGERLAB\x01\x00", "truncated"),
    ("newer-version", build(header(), DATA, version=4), "format version 4"),
    ("huge-header", build(header(), DATA, hlen=2 ** 62), "more than the 104857600-byte limit"),
    ("header-past-end", build(header(), DATA, hlen=10 ** 6), "truncated"),
    ("header-checksum", build(header(), DATA, crc=12345), "header checksum mismatch"),
    ("data-checksum", build(header(), np.array([1.5, -2.5], np.float32).tobytes()),
     "the data of obj (storage 0): checksum mismatch"),
    ("too-many-arrays", build(header(arrays=[entry(shape=(0,))] * 100_001), DATA), "more than the limit of 100000"),
    ("too-many-storages", build(header(storages=[store()] * 100_001), DATA), "more than the limit of 100000"),
    ("float-overflow", build(b'{"root": 1e999, "storages": [], "arrays": [], "data_nbytes": 0}'),
     "1e999 is not a finite float"),
    ("v1-data-nbytes-past-end", build_v1(header_v1(data_nbytes=80), DATA), "truncated"),
    ("v1-nbytes-mismatch", build_v1(header_v1(arrays=[entry_v1(nbytes=4)]), DATA), "need 8"),
    ("v1-negative-offset", build_v1(header_v1(arrays=[entry_v1(offset=-8)]), DATA), "bad byte range"),
    ("v1-storages-key", build_v1(header(), DATA), "keys arrays, data_nbytes, root; got"),
    ("truncated-data", build(header(), DATA)[:-3], "truncated"),
    ("not-json", build(b"{root: 1"), "not valid JSON"),
    ("not-utf8", build(b"\xff\xfe\x00"), "not valid JSON"),
    ("nan-constant", build(b'{"root": NaN, "storages": [], "arrays": [], "data_nbytes": 0}'), "NaN"),
    ("duplicate-json-key", build(b'{"root": 1, "root": 2, "arrays": [], "data_nbytes": 0}'), "duplicate key 'root'"),
    ("json-too-deep", build(b"[" * 100_000 + b"]" * 100_000), "nests too deeply"),
    ("header-not-object", build([1, 2]), "header must be an object"),
    ("extra-header-key", build({**header(), "code": "import os"}, DATA), "header must be an object"),
    ("bad-data-nbytes", build(header(data_nbytes=-1), DATA), "bad data_nbytes"),
    ("data-nbytes-past-end", build(header(data_nbytes=80), DATA), "truncated"),
    ("dtype-object", build(header(arrays=[entry("object")]), DATA), "dtype 'object' is not allowed"),
    ("dtype-numpy-spec", build(header(arrays=[entry("<f4")]), DATA), "dtype '<f4' is not allowed"),
    ("dtype-structured", build(header(arrays=[entry("float32,int8")]), DATA), "is not allowed"),
    ("dtype-not-str", build(header(arrays=[entry(["float32"])]), DATA), "is not allowed"),
    ("bad-shape", build(header(arrays=[entry(shape=[-2])]), DATA), "shape must be"),
    ("bool-shape", build(header(arrays=[entry(shape=[True, 2])]), DATA), "shape must be"),
    ("elements-past-storage", build(header(arrays=[entry(shape=(3,))]), DATA), "span bytes [0, 12) of storage 0"),
    ("negative-stride-before-storage", build(header(arrays=[entry(strides=(-4,))]), DATA), "span bytes [-4, 4)"),
    ("misaligned-offset", build(header(arrays=[entry(shape=(1,), offset=2)]), DATA), "multiple of the item size 4"),
    ("misaligned-stride", build(header(arrays=[entry(strides=(2,))]), DATA), "multiples of the item size 4"),
    ("stride-count", build(header(arrays=[entry(strides=())]), DATA), "strides must be a list of 1 ints"),
    ("self-overlap", build(header(arrays=[entry(strides=(0,))]), DATA), "makes elements share memory"),
    ("storage-index", build(header(arrays=[entry(storage=1)]), DATA), "storage index 1 is out of range"),
    ("negative-storage-offset", build(header(storages=[store(offset=-8)]), DATA), "non-negative ints"),
    ("bad-digest", build(header(storages=[store(digest="XYZ")]), DATA), "32 lowercase hex digits"),
    ("storage-past-data", build(header(storages=[store(offset=64)]), DATA), "run past the end of the data section"),
    ("storage-overlap", build(header({"list": [{"ndarray": 0}, {"ndarray": 1}]},
                                     [entry(), entry(shape=(1,), storage=1)],
                                     storages=[store(), store(offset=4, nbytes=4, digest="0" * 32)]), DATA),
     "overlap"),
    ("tensor-and-ndarray-share", build(header({"list": [{"tensor": 0, "device": "cpu"}, {"ndarray": 1}]},
                                              [entry(), entry(shape=(1,), offset=4)]), DATA),
     "obj[1] (a numpy array) and obj[0] (a tensor saved on cpu) share storage 0"),
    ("devices-share", build(header({"list": [{"tensor": 0, "device": "cpu"}, {"tensor": 1, "device": "cuda:0"}]},
                                   [entry(), entry(shape=(1,))]), DATA), "share storage 0"),
    ("unallocatable-shape", build(header(arrays=[entry(shape=[0, 2 ** 62], strides=[4, 4])]), DATA),
     "cannot make an array of shape"),
    ("missing-entry-key", build(header(arrays=[{"dtype": "float32", "shape": [2]}]), DATA), "expected an object"),
    ("index-out-of-range", build(header({"tensor": 3, "device": "cpu"}), DATA), "out of range (1 arrays)"),
    ("index-bool", build(header({"tensor": True, "device": "cpu"}), DATA), "out of range"),
    ("tensor-disallowed-dtype", build(header(arrays=[entry("uint32")]), DATA), "a tensor cannot have dtype uint32"),
    ("unknown-tag", build(header({"pickle": "cos\nsystem"}), DATA), "unrecognised entry at obj"),
    ("extra-tag-key", build(header({"list": [], "x": 1}), DATA), "unrecognised entry"),
    ("list-not-list", build(header({"list": {"a": 1}}), DATA), "expected a list at obj"),
    ("dict-float-key", build(header({"dict": [[1.5, 1]]}), DATA), "bad dict entry at obj"),
    ("dict-bool-key", build(header({"dict": [[True, 1]]}), DATA), "bad dict entry"),
    ("dict-duplicate-key", build(header({"dict": [["a", 1], ["a", 2]]}), DATA), "duplicate dict key 'a'"),
    ("bad-special-float", build(header({"list": [{"float": "1e5"}]}), DATA), "bad special float '1e5' at obj[0]"),
    ("bad-device", build(header({"tensor": 0, "device": "tpu:0"}), DATA), "bad device 'tpu:0'"),
    ("npscalar-shape", build(header({"npscalar": 0}), DATA), "has shape [2]"),
    ("too-deep", build(header(_deep(70)), DATA), "nest deeper than 64"),
]


@pytest.mark.parametrize("data,fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_files_raise_serialization_error(tmp_path, data, fragment):
    with pytest.raises(SerializationError) as info:
        load_bytes(tmp_path, data)
    msg = str(info.value)
    assert fragment in msg and str(tmp_path / "bad.el") in msg, msg
    assert isinstance(info.value, RuntimeError)  # what torch.load raises for corrupt files
    assert RAN == []


@pytest.mark.parametrize("kind", ["eagerlab", "safetensors"])
def test_a_million_empty_arrays_are_refused_before_parsing(kind):
    """The issue's header (a million zero-size arrays took 11 s and 717 MB to load) is refused at memory speed."""
    n = 1_000_000
    if kind == "eagerlab":
        one = json.dumps(entry(shape=(0,))).encode()
        raw = b'{"root": null, "storages": [], "arrays": [' + (one + b", ") * (n - 1) + one + b'], "data_nbytes": 0}'
        data, load = build(raw), el.load
    else:  # one name repeated: the count is refused before the JSON (and its duplicate keys) is parsed
        one = b'"t": {"dtype": "BOOL", "shape": [0], "data_offsets": [0, 0]}'
        raw = b"{" + (one + b", ") * (n - 1) + one + b"}"
        data, load = struct.pack("<Q", len(raw)) + raw, el.serialization.load_safetensors
    tracemalloc.start()
    try:
        start = time.thread_time()  # CPU time: other processes on a loaded machine do not count
        with pytest.raises(SerializationError, match="more than the limit of 100000"):
            load(io.BytesIO(data))
        seconds, peak = time.thread_time() - start, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seconds < 1.0 and peak < 1.5 * len(data), (seconds, peak)  # the bytes once, not a million objects


def test_pickle_payload_never_runs():
    pickle.loads(pickle.dumps(Evil()))  # the payload is real: plain pickle runs it ...
    assert RAN == ["code from the file ran"]
    RAN.clear()
    with pytest.raises(SerializationError, match="<BytesIO>.*pickle"):
        el.load(io.BytesIO(pickle.dumps({"w": Evil()})))  # ... eagerlab does not
    assert RAN == []


def test_torch_checkpoint_is_refused_with_a_hint(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(SerializationError, match="model.pt.*zip archive.*load_safetensors"):
        el.load(path)


def test_every_truncation_of_a_real_file_is_refused(tmp_path):
    buf = io.BytesIO()
    el.save({"w": el.ones(3, 5), "b": [el.arange(4), 2.5]}, buf)
    data = buf.getvalue()
    for cut in range(0, len(data), 7):
        with pytest.raises(SerializationError):
            el.load(io.BytesIO(data[:cut]))


def test_random_byte_flips_raise_typed_errors_only(rng):
    buf = io.BytesIO()
    el.save({"w": el.ones(3, 5), "i": [1, "a", el.arange(3)]}, buf)
    data = np.frombuffer(buf.getvalue(), np.uint8)
    for _ in range(300):
        bad = data.copy()
        bad[rng.integers(0, 200, 3)] = rng.integers(0, 256, 3)
        try:
            el.load(io.BytesIO(bad.tobytes()))
        except SerializationError:
            pass
