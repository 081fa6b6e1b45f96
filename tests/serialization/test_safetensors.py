"""safetensors interop, pure numpy: round trips, the byte layout the spec requires, validation of hostile files,
and both directions against the `safetensors` package when it is installed."""
import json
import struct

import numpy as np
import pytest

import eagerlab as el
from eagerlab.errors import DeviceError, SerializationError
from eagerlab.serialization import load_safetensors, safetensors_metadata, save_safetensors

DTYPES = [el.float16, el.float32, el.float64, el.int8, el.int16, el.int32, el.int64, el.uint8, el.bool]


def state_dict(rng):
    sd = {f"layer.{d.name}": el.tensor((rng.standard_normal((2, 3)) * 9).astype(d.np)) for d in DTYPES}
    sd.update(scalar=el.tensor(2.5), empty=el.zeros(0, 4), view=el.arange(12).reshape(3, 4).t())
    return sd


def test_round_trip_and_metadata(tmp_path, rng):
    sd = state_dict(rng)
    path = tmp_path / "m.safetensors"
    save_safetensors(sd, path, metadata={"format": "pt", "step": "10"})
    out = load_safetensors(path)
    assert set(out) == set(sd)
    for k, t in sd.items():
        assert out[k].dtype is t.dtype and out[k].shape == t.shape and not out[k].requires_grad
        np.testing.assert_array_equal(out[k].numpy(), t.numpy())
    assert safetensors_metadata(path) == {"format": "pt", "step": "10"}
    save_safetensors({"a": el.ones(1)}, path)
    assert safetensors_metadata(path) is None


def test_layout_follows_the_spec(tmp_path, rng):
    path = tmp_path / "m.safetensors"
    save_safetensors(state_dict(rng), path)
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    assert (8 + n) % 8 == 0 and data[8:9] == b"{"
    header = json.loads(data[8:8 + n])
    spans = sorted(v["data_offsets"] for v in header.values())
    assert spans[0][0] == 0 and spans[-1][1] == len(data) - 8 - n
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))  # contiguous, no holes
    assert header["layer.float64"]["dtype"] == "F64" and header["view"]["shape"] == [4, 3]
    begin, end = header["view"]["data_offsets"]
    np.testing.assert_array_equal(np.frombuffer(data[8 + n + begin:8 + n + end], "<i8").reshape(4, 3),
                                  np.arange(12).reshape(3, 4).T)


@pytest.mark.parametrize("sd,metadata,fragment", [
    ([el.ones(1)], None, "expected a dict"),
    ({1: el.ones(1)}, None, "names must be str"),
    ({"__metadata__": el.ones(1)}, None, "other than '__metadata__'"),
    ({"w": {"nested": el.ones(1)}}, None, "'w' is a dict, not a Tensor"),
    ({"w": el.ones(1)}, {"step": 10}, "metadata must be a dict of str -> str"),
])
def test_save_errors(tmp_path, sd, metadata, fragment):
    with pytest.raises(SerializationError, match=fragment):
        save_safetensors(sd, tmp_path / "x.safetensors", metadata)
    assert list(tmp_path.iterdir()) == []


def build(header, data=b"", pad=0):
    raw = (header if isinstance(header, bytes) else json.dumps(header).encode()) + b" " * pad
    return struct.pack("<Q", len(raw)) + raw + data


F32x2 = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
BAD = [
    ("garbage", b"\x00\x01garbage", "more than the 104857600-byte limit"),
    ("short", b"\x00\x01", "truncated"),
    ("huge-header", struct.pack("<Q", 2 ** 63) + b"{}", "more than the 104857600-byte limit"),
    ("header-past-end", struct.pack("<Q", 5000) + b"{}", "truncated"),
    ("not-object", build([1]), "must be a JSON object"),
    ("f8", build({"w": {**F32x2, "dtype": "F8_E4M3", "data_offsets": [0, 2]}}, bytes(2)), "'F8_E4M3' is not supported"),
    ("unknown-dtype", build({"w": {**F32x2, "dtype": "PICKLE"}}, bytes(8)), "'PICKLE' is not supported"),
    ("wrong-size", build({"w": {**F32x2, "data_offsets": [0, 4]}}, bytes(4)), "need 8"),
    ("past-end", build({"w": F32x2}, bytes(4)), "run past the end"),
    ("gap", build({"w": {**F32x2, "data_offsets": [4, 12]}}, bytes(12)), "without gaps or overlaps"),
    ("overlap", build({"a": F32x2, "b": {**F32x2, "data_offsets": [4, 12]}}, bytes(12)), "without gaps"),
    ("trailing-bytes", build({"w": F32x2}, bytes(12)), "4 bytes after the last tensor"),
    ("bad-offsets", build({"w": {**F32x2, "data_offsets": [0]}}, bytes(8)), "data_offsets must be"),
    ("reversed-offsets", build({"w": {**F32x2, "data_offsets": [8, 0]}}, bytes(8)), "bad byte range"),
    ("extra-key", build({"w": {**F32x2, "x": 1}}, bytes(8)), "expected an object"),
    ("bad-metadata", build({"__metadata__": {"a": 1}}), "__metadata__ must map str to str"),
    ("duplicate-name", build(b'{"w": 1, "w": 2}'), "duplicate key 'w'"),
]


@pytest.mark.parametrize("data,fragment", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_hostile_files(tmp_path, data, fragment):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    with pytest.raises(SerializationError) as info:
        load_safetensors(path)
    assert fragment in str(info.value) and str(path) in str(info.value), str(info.value)


def test_padded_header_and_empty_file_are_valid(tmp_path):
    path = tmp_path / "ok.safetensors"
    path.write_bytes(build({"w": F32x2}, np.array([1, 2], "<f4").tobytes(), pad=6))
    assert load_safetensors(path)["w"].tolist() == [1, 2]
    path.write_bytes(build({}))
    assert load_safetensors(path) == {}


@pytest.mark.skipif(el.cuda.is_available(), reason="checks the error raised when CUDA is missing")
def test_unavailable_device(tmp_path):
    save_safetensors({"w": el.ones(1)}, tmp_path / "x.safetensors")
    with pytest.raises(DeviceError, match="cuda"):
        load_safetensors(tmp_path / "x.safetensors", device="cuda")


def test_interop_with_the_safetensors_package(tmp_path, rng):
    st = pytest.importorskip("safetensors.numpy")
    from safetensors import safe_open

    theirs = {"a.weight": rng.standard_normal((3, 5)).astype(np.float32), "b": np.arange(7, dtype=np.int64),
              "c": np.array([True, False]), "d": np.ones((0, 2), np.float16), "e": np.array(3, np.uint8)}
    st.save_file(theirs, tmp_path / "theirs.safetensors", metadata={"k": "v"})
    ours = load_safetensors(tmp_path / "theirs.safetensors")
    assert set(ours) == set(theirs) and safetensors_metadata(tmp_path / "theirs.safetensors") == {"k": "v"}
    for k, v in theirs.items():
        assert ours[k].numpy().dtype == v.dtype and np.array_equal(ours[k].numpy(), v)

    sd = state_dict(rng)
    save_safetensors(sd, tmp_path / "ours.safetensors", metadata={"framework": "eagerlab"})
    back = st.load_file(tmp_path / "ours.safetensors")
    assert set(back) == set(sd)
    for k, t in sd.items():
        assert back[k].dtype == t.numpy().dtype and np.array_equal(back[k], t.numpy())
    with safe_open(tmp_path / "ours.safetensors", "np") as f:
        assert f.metadata() == {"framework": "eagerlab"}
