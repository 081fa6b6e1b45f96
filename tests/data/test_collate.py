"""default_collate / default_convert: values, dtypes and structure against PyTorch; errors."""
import collections

import numpy as np
import pytest

import eagerlab as el
from eagerlab.data import default_collate, default_convert
from eagerlab.errors import ShapeError

Point = collections.namedtuple("Point", "x y")


def test_tensors_stack_on_a_new_dim():
    out = default_collate([el.tensor([1.0, 2.0]), el.tensor([3.0, 4.0])])
    assert out.shape == (2, 2) and out.dtype == el.float32
    np.testing.assert_array_equal(out.numpy(), [[1, 2], [3, 4]])


def test_numbers_strings_and_containers():
    assert default_collate([1, 2]).dtype == el.int64
    assert default_collate([1.5, 2.0]).dtype == el.float64
    assert default_collate([True, False]).dtype == el.bool
    assert default_collate(["a", "b"]) == ["a", "b"]
    assert default_collate([b"a", b"b"]) == [b"a", b"b"]
    assert default_collate([np.float32(1), np.float32(2)]).dtype == el.float32
    d = default_collate([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}])
    assert d["a"].tolist() == [1, 2] and d["b"] == ["x", "y"]
    p = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(p, Point) and p.x.tolist() == [1, 3] and p.y.dtype == el.float64
    t = default_collate([(1, 2), (3, 4)])  # tuples come back as lists, as in PyTorch
    assert isinstance(t, list) and [v.tolist() for v in t] == [[1, 3], [2, 4]]
    arr = default_collate([np.zeros((2, 3), np.uint8), np.ones((2, 3), np.uint8)])
    assert arr.shape == (2, 2, 3) and arr.dtype == el.uint8


def test_matches_torch_on_nested_samples():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    samples = [{"img": rng.standard_normal((2, 3)).astype(np.float32), "label": int(i), "w": float(i) / 3,
                "pair": (np.int16(i), [i, i + 1])} for i in range(4)]
    ours, theirs = default_collate(samples), torch.utils.data.default_collate(samples)

    def compare(a, b):
        if isinstance(b, torch.Tensor):
            assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        elif isinstance(b, dict):
            assert a.keys() == b.keys()
            for k in b:
                compare(a[k], b[k])
        else:
            assert type(a) is type(b) and len(a) == len(b)
            for x, y in zip(a, b):
                compare(x, y)

    compare(ours, theirs)


def test_collate_keeps_autograd_history():
    w = el.ones(3, requires_grad=True)
    out = default_collate([w * 2, w * 3])
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [5, 5, 5])


def test_errors_name_the_offending_entry():
    with pytest.raises(ShapeError, match=r"\(2,\) at entry 0 and \(3,\) at entry 1"):
        default_collate([el.ones(2), el.ones(3)])
    with pytest.raises(ShapeError, match="element 2 has 1"):
        default_collate([[1, 2], [3, 4], [5]])
    with pytest.raises(TypeError, match="found <class 'object'>"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="found <U1"):
        default_collate([np.array(["a"]), np.array(["b"])])
    with pytest.raises(ShapeError, match=r"\(2,\) at entry 0 and \(1,\) at entry 1"):
        default_collate([np.ones(2), np.ones(1)])


@pytest.mark.parametrize("stranger,name", [(np.ones(2), "numpy.ndarray"), (3, "int"), (None, "NoneType"),
                                           ([1.0, 2.0], "list")])
def test_a_non_tensor_among_tensors_is_a_type_error_naming_its_type_and_position(stranger, name):
    with pytest.raises(TypeError, match=rf"expected Tensor as element 2 .*but got {name}$"):
        default_collate([el.ones(2), el.ones(2), stranger])
    with pytest.raises(TypeError, match=rf"expected Tensor as element 1 .*but got {name}$"):
        default_collate([el.ones(2, requires_grad=True), stranger])  # the autograd path checks too


@pytest.mark.parametrize("dtypes,want", [(("float32", "int64"), "float32"), (("int32", "bool"), "int32"),
                                         (("float16", "int64"), "float16"), (("int8", "uint8"), "int16"),
                                         (("float32", "float64"), "float64")])
def test_mixed_dtypes_promote_as_stack_and_pytorch(dtypes, want):
    batch = [el.tensor([1, 0], dtype=getattr(el, d)) for d in dtypes]
    out = default_collate(batch)
    assert out.dtype == getattr(el, want) == el.stack(batch).dtype
    np.testing.assert_array_equal(out.numpy(), [[1, 0], [1, 0]])
    torch = pytest.importorskip("torch")
    theirs = torch.utils.data.default_collate([torch.tensor([1, 0], dtype=getattr(torch, d)) for d in dtypes])
    assert str(theirs.dtype) == f"torch.{want}"


def test_default_convert():
    out = default_convert({"a": np.arange(3), "b": (np.float32(1.5), "s"), "c": [np.ones(2)], "d": 7})
    assert isinstance(out["a"], el.Tensor) and out["a"].dtype == el.int64
    assert isinstance(out["b"], list) and out["b"][0].dtype == el.float32 and out["b"][1] == "s"
    assert isinstance(out["c"][0], el.Tensor) and out["d"] == 7
    p = default_convert(Point(np.int64(1), 2))
    assert isinstance(p, Point) and isinstance(p.x, el.Tensor) and p.y == 2
    strings = np.array(["x"])
    assert default_convert(strings) is strings
    t = el.ones(2)
    assert default_convert(t) is t
