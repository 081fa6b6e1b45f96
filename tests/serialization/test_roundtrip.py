"""eagerlab.save / eagerlab.load round trips: every supported type, dtype and shape comes back exact, structure,
key order and key types included; devices and map_location; file objects and paths."""
import io
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import eagerlab as el
from eagerlab._tensor import Tensor
from eagerlab.errors import DeviceError

DTYPES = [el.float16, el.float32, el.float64, el.int8, el.int16, el.int32, el.int64, el.uint8, el.bool]


def roundtrip(obj, **load_kwargs):
    buf = io.BytesIO()
    el.save(obj, buf)
    buf.seek(0)
    return el.load(buf, **load_kwargs)


def assert_tensor_equal(t, expected):
    assert isinstance(t, Tensor) and not t.requires_grad
    assert t.dtype is expected.dtype and t.shape == expected.shape and t.device == expected.device
    np.testing.assert_array_equal(t.numpy(), expected._host())


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (5,), (2, 3, 4)])
def test_tensor_dtypes_and_shapes(dtype, shape, rng):
    x = el.tensor((rng.standard_normal(shape) * 50).astype(dtype.np))
    assert_tensor_equal(roundtrip(x), x)


def test_views_and_non_contiguous_tensors_save_their_values():
    base = el.arange(24, dtype=el.float32).reshape(4, 6)
    views = {"t": base.t(), "step": base[::2, 1::3], "col": base[:, 2], "expand": el.ones(3, 1).expand(3, 4),
             "neg": el.flip(base, [0])}
    out = roundtrip(views)
    for k, v in views.items():
        assert_tensor_equal(out[k], v)
    # views of one memory block keep their strides and share it again (test_views.py); the others are copies
    assert [out[k]._data.strides for k in ("t", "step", "col")] == [(4, 24), (48, 12), (24,)]
    assert out["expand"].is_contiguous() and out["neg"].is_contiguous()


def test_loaded_tensors_are_writable_and_independent():
    a, b = el.ones(3), el.zeros(3)
    out = roundtrip([a, b, a.requires_grad_()])
    out[0].add_(1)  # a fresh, writable array ...
    np.testing.assert_array_equal(a.detach().numpy(), [1, 1, 1])  # ... not the saved tensor's memory
    assert out[0] is out[2]  # one object saved twice loads as one object
    np.testing.assert_array_equal(out[1].numpy(), [0, 0, 0])
    assert not out[2].requires_grad


def test_nested_python_values_keep_types_order_and_key_types():
    obj = {"z": 1, "a": [1, -2, 2 ** 70, 0.5, -0.0, 1e-310, True, False, None, "", "héllo\x00\n"],
           3: (1, (2, [3])), -1: {}, "inf": [math.inf, -math.inf], "empty": [(), [], {}],
           "state": {0: {"step": 10, "exp_avg": el.zeros(2)}, 1: {"step": 10, "exp_avg": el.ones(2)}}}
    out = roundtrip(obj)
    assert list(out) == ["z", "a", 3, -1, "inf", "empty", "state"]
    assert out["a"] == obj["a"] and [type(v) for v in out["a"]] == [type(v) for v in obj["a"]]
    assert math.copysign(1, out["a"][4]) == -1
    assert out[3] == (1, (2, [3])) and type(out[3][1]) is tuple and type(out[3][1][1]) is list
    assert out["inf"] == [math.inf, -math.inf] and out["empty"] == [(), [], {}]
    assert list(out["state"]) == [0, 1] and out["state"][1]["step"] == 10
    assert_tensor_equal(out["state"][1]["exp_avg"], el.ones(2))
    assert math.isnan(roundtrip(math.nan))


def test_numpy_arrays_and_scalars_come_back_as_numpy(rng):
    arrs = {"f": rng.standard_normal((3, 2)).astype(np.float32), "u32": np.arange(5, dtype=np.uint32),
            "c": np.array([1 + 2j], np.complex128), "be": np.arange(4, dtype=">i4"), "T": np.ones((2, 3)).T,
            "s64": np.float64(2.5), "s32": np.float32(1.5), "sb": np.bool_(True), "si": np.int16(-3)}
    out = roundtrip(arrs)
    for k, v in arrs.items():
        assert type(out[k]) is type(v) if k.startswith("s") else isinstance(out[k], np.ndarray)
        assert out[k].dtype == v.dtype.newbyteorder("=") and np.array_equal(out[k], v)
    assert out["be"].dtype.isnative


def test_subclasses_load_as_their_base_type():
    from collections import OrderedDict, namedtuple

    Point = namedtuple("Point", "x y")
    out = roundtrip(OrderedDict(b=Point(1, 2), a=el.ones(1).requires_grad_()))
    assert type(out) is dict and list(out) == ["b", "a"] and type(out["b"]) is tuple and out["b"] == (1, 2)


def test_paths_and_several_records_in_one_stream(tmp_path):
    path = tmp_path / "ckpt.el"
    el.save({"w": el.ones(2, 2)}, path)
    el.save({"w": el.zeros(3)}, str(path))  # overwrite; str paths too
    assert_tensor_equal(el.load(path)["w"], el.zeros(3))
    buf = io.BytesIO(b"junk")
    buf.seek(4)
    el.save([1, el.ones(2)], buf)
    el.save("second", buf)
    buf.seek(4)
    assert el.load(buf)[0] == 1 and el.load(buf) == "second"


def test_non_seekable_stream():
    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self._data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            return self._data.readinto(b)

    buf = io.BytesIO()
    el.save({"x": el.arange(5)}, buf)
    assert_tensor_equal(el.load(Pipe(buf.getvalue()))["x"], el.arange(5))


def fake_cuda_tensor():
    """A tensor labelled cuda:0 whose data sits in host memory: enough to save it without a GPU."""
    return Tensor._make(np.arange(6, dtype=np.float32).reshape(2, 3), el.device("cuda:0"))


@pytest.mark.skipif(el.cuda.is_available(), reason="checks the error raised when CUDA is missing")
def test_cuda_tensor_without_gpu_needs_map_location():
    buf = io.BytesIO()
    el.save({"w": fake_cuda_tensor(), "b": el.ones(2)}, buf)
    buf.seek(0)
    with pytest.raises(DeviceError, match=r"obj\['w'\] was saved on cuda:0.*map_location='cpu'"):
        el.load(buf)
    for ml in ["cpu", el.device("cpu"), {"cuda:0": "cpu"}, {"cuda": "cpu"}]:
        buf.seek(0)
        out = el.load(buf, map_location=ml)
        assert_tensor_equal(out["w"], el.arange(6, dtype=el.float32).reshape(2, 3))
        assert out["b"].device == "cpu"


@pytest.mark.gpu
def test_cuda_round_trip_and_map_location():
    x = el.randn(3, 4).to("cuda")
    out = roundtrip({"x": x})
    assert out["x"].device == "cuda:0"
    assert_tensor_equal(out["x"], x)
    assert roundtrip(el.ones(2), map_location="cuda").device == "cuda:0"
    assert roundtrip(x, map_location={"cuda:0": "cpu"}).device == "cpu"


def test_map_location_errors():
    with pytest.raises(DeviceError, match="map_location.*'tpu'"):
        roundtrip(el.ones(1), map_location="tpu")
    with pytest.raises(TypeError, match="map_location must be"):
        roundtrip(el.ones(1), map_location=lambda storage, loc: storage)


def test_weights_only_is_accepted():
    assert roundtrip([1], weights_only=False) == [1] and roundtrip([1], weights_only=True) == [1]


def test_matches_torch_round_trip_structure():
    torch = pytest.importorskip("torch")
    values = np.arange(6, dtype=np.float32).reshape(2, 3)

    def build(tensor):
        return {"w": tensor(values), 2: (tensor(values[0]), [1, 2.5, None, "s", True]), "n": {}, "nan": math.inf}

    ours = roundtrip(build(el.tensor))
    b = io.BytesIO()
    torch.save(build(torch.tensor), b)
    b.seek(0)
    theirs = torch.load(b)

    def skeleton(x):  # the structure, with tensors reduced to (dtype name, shape, values)
        if isinstance(x, dict):
            return {k: skeleton(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return type(x)(skeleton(v) for v in x)
        if hasattr(x, "numpy"):
            return (str(x.dtype).split(".")[-1], tuple(x.shape), x.numpy().tolist())
        return x

    assert skeleton(ours) == skeleton(theirs)


scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
tensors = st.sampled_from(DTYPES).flatmap(
    lambda d: st.lists(st.integers(0, 3), max_size=4).map(lambda v: el.tensor(v, dtype=d)))
trees = st.recursive(scalars | tensors, lambda kids: st.lists(kids, max_size=3) | st.tuples(kids, kids)
                     | st.dictionaries(st.text(max_size=3) | st.integers(), kids, max_size=3), max_leaves=12)


@settings(max_examples=60, deadline=None)
@given(trees)
def test_property_round_trip(obj):
    def same(a, b):
        if isinstance(b, Tensor):
            return a.dtype is b.dtype and a.shape == b.shape and np.array_equal(a.numpy(), b.numpy())
        if isinstance(b, dict):
            return type(a) is dict and list(a) == list(b) and all(same(a[k], b[k]) for k in b)
        if isinstance(b, (list, tuple)):
            return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
        if isinstance(b, float) and math.isnan(b):
            return math.isnan(a)
        return type(a) is type(b) and a == b

    assert same(roundtrip(obj), obj)
