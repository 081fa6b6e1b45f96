"""Arrays that share memory when saved share it again when loaded (as torch.save/torch.load keep views of one
storage): the memory is stored once; tensors of one storage also share their version counter. A file cannot make a
tensor share memory with a numpy array."""
import io
import json
import struct

import numpy as np
import pytest

import eagerlab as el

def roundtrip(obj):
    buf = io.BytesIO()
    el.save(obj, buf)
    data = buf.getvalue()
    return el.load(io.BytesIO(data)), json.loads(data[24:24 + struct.unpack("<Q", data[12:20])[0]])


def test_a_view_loads_as_a_view_and_the_storage_is_saved_once():
    b = el.arange(1000, dtype=el.float32)
    out, header = roundtrip({"a": b, "c": b[1:]})
    assert [s["nbytes"] for s in header["storages"]] == [4000]
    a, c = out["a"], out["c"]
    assert c.tolist() == list(range(1, 1000)) and np.shares_memory(a._data, c._data)
    c.mul_(2)  # in place through the view ...
    assert a[:3].tolist() == [0, 2, 4]  # ... is seen by the base
    assert a._version == c._version == 1  # one version counter, so autograd sees the change through either


def test_torch_load_shares_the_same_way(tmp_path):
    torch = pytest.importorskip("torch")
    b = torch.arange(10.0)
    torch.save({"a": b, "c": b[1:]}, tmp_path / "x.pt")
    loaded = torch.load(tmp_path / "x.pt")
    loaded["c"].mul_(2)
    assert loaded["a"][:3].tolist() == [0, 2, 4]  # the semantics eagerlab now has


def test_strided_views_and_chunks_of_one_buffer():
    qkv = el.arange(24, dtype=el.float32).reshape(6, 4)
    q, k, v = qkv.chunk(3)  # no view of the whole buffer is saved: the span of the three is stored
    obj = {"q": q, "k": k, "v": v, "t": qkv.t(), "rev": qkv[:, 1]}
    out, header = roundtrip(obj)
    assert len(header["storages"]) == 1
    for name, x in obj.items():
        assert out[name].tolist() == x.tolist()
        assert out[name]._data.strides == x._data.strides
    out["k"].fill_(-1)
    assert out["t"][0].tolist() == [0, 4, -1, -1, 16, 20]


def test_disjoint_views_are_stored_apart():
    big = el.zeros(10_000)
    out, header = roundtrip({"head": big[:2], "tail": big[-2:]})
    assert [s["nbytes"] for s in header["storages"]] == [8, 8]  # not the 40 KB between them
    assert not np.shares_memory(out["head"]._data, out["tail"]._data)


def test_numpy_views_share_among_themselves_never_with_tensors():
    arr = np.arange(12.0)
    t = el.from_numpy(arr)  # a tensor on the array's memory
    out, header = roundtrip({"arr": arr, "even": arr[::2], "t": t, "t_view": t[3:]})
    assert np.shares_memory(out["arr"], out["even"])
    assert np.shares_memory(out["t"]._data, out["t_view"]._data)
    assert not np.shares_memory(out["arr"], out["t"]._data)
    assert len(header["storages"]) == 2


def test_the_same_object_twice_is_one_object_and_equal_views_are_two():
    b = el.ones(4)
    out, _ = roundtrip([b, b, b[1:], b[1:]])
    assert out[0] is out[1] and out[2] is not out[3]
    assert np.shares_memory(out[2]._data, out[3]._data)


def test_views_that_cannot_share_are_saved_as_copies():
    base = el.arange(8, dtype=el.float32)
    expanded = el.ones(3, 1).expand(3, 4)  # its elements share memory: stored as a contiguous copy
    raw = np.arange(16, dtype=np.uint8)
    odd = raw[1:9].view(np.float64)  # a float64 view at an odd byte offset of its buffer
    out, header = roundtrip({"base": base, "expanded": expanded, "raw": raw, "odd": odd})
    assert out["expanded"].tolist() == expanded.tolist() and out["expanded"].is_contiguous()
    np.testing.assert_array_equal(out["odd"], odd)
    assert not np.shares_memory(out["raw"], out["odd"])  # could not be aligned in one storage


def test_loaded_views_keep_gradients_right():
    w = el.arange(6.0).reshape(2, 3)
    out, _ = roundtrip({"w": w, "row": w[1]})
    x = out["w"].clone().requires_grad_()
    (x * out["row"]).sum().backward()
    assert x.grad.tolist() == [[3, 4, 5], [3, 4, 5]]
