"""Creation functions: PyTorch's dtype inference, copy vs share, sizes, fills, ranges, errors."""
import numpy as np
import pytest

import eagerlab as el
from eagerlab.errors import DTypeError, ShapeError

# (data, expected dtype name, expected shape): PyTorch's inference rules
INFERENCE = [
    ([1.0, 2.0], "float32", (2,)),
    ([1, 2], "int64", (2,)),
    ([True, False], "bool", (2,)),
    (True, "bool", ()),
    (3, "int64", ()),
    (2.5, "float32", ()),
    ([1, 2.0], "float32", (2,)),
    ([True, 2], "int64", (2,)),
    ([], "float32", (0,)),
    ([[], []], "float32", (2, 0)),
    ((1, 2), "int64", (2,)),
    (np.array([1.0, 2.0]), "float64", (2,)),
    (np.array(3.0), "float64", ()),
    (np.arange(3, dtype=np.int32), "int32", (3,)),
    (np.float64(1.5), "float64", ()),
    (np.int32(3), "int32", ()),
    (np.bool_(True), "bool", ()),
    ([np.float64(1.5)], "float64", (1,)),
    ([np.float32(1.5), 2.0], "float32", (2,)),
    ([np.uint8(3)], "uint8", (1,)),
    ([np.int32(3), 2.5], "float32", (2,)),
    ([[1, 2], [3, 4]], "int64", (2, 2)),
]


@pytest.mark.parametrize("data,dtype,shape", INFERENCE, ids=[repr(d) for d, _, _ in INFERENCE])
def test_dtype_inference(data, dtype, shape):
    t = el.tensor(data)
    assert (t.dtype.name, tuple(t.shape)) == (dtype, shape)


@pytest.mark.parametrize("data", [d for d, _, _ in INFERENCE], ids=[repr(d) for d, _, _ in INFERENCE])
def test_dtype_inference_matches_torch(data):
    torch = pytest.importorskip("torch")
    assert el.tensor(data).dtype.name == str(torch.tensor(data).dtype).removeprefix("torch.")


def test_inference_follows_the_default_dtype():
    el.set_default_dtype(el.float64)
    assert el.tensor([1.0]).dtype is el.float64 and el.tensor([np.float32(1)]).dtype is el.float32
    assert el.zeros(2).dtype is el.float64 and el.arange(0.0, 1.0, 0.5).dtype is el.float64


def test_tensors_inside_lists():
    t = el.tensor([el.tensor(1.0, dtype=el.float64), el.tensor(2.0, dtype=el.float64)])
    assert t.dtype is el.float64 and t.tolist() == [1.0, 2.0]
    assert el.tensor([el.tensor(1, dtype=el.int32), 2]).dtype is el.int64


def test_explicit_dtype_converts():
    assert el.tensor([1.7, -2.7], dtype=el.int64).tolist() == [1, -2]
    assert el.tensor([1, 2], dtype="float64").dtype is el.float64
    assert el.tensor(np.ones(2, np.float32), dtype=el.float16).dtype is el.float16


def test_tensor_copies_and_detaches():
    a = np.arange(6.0).reshape(2, 3)
    t = el.tensor(a)
    a[0, 0] = 100
    assert t[0, 0].item() == 0
    src = el.ones(3, requires_grad=True)
    c = el.tensor(src)
    assert not c.requires_grad and c.is_leaf and not np.shares_memory(c.numpy(), src.detach().numpy())
    nc = el.tensor(a.T)
    assert nc.is_contiguous() and nc.tolist() == a.T.tolist()


def test_as_tensor_and_from_numpy_share_memory():
    a = np.arange(6.0)
    for t in (el.as_tensor(a), el.from_numpy(a)):
        assert t.dtype is el.float64 and np.shares_memory(t.numpy(), a)
    assert not np.shares_memory(el.as_tensor(a, dtype=el.float32).numpy(), a)
    x = el.ones(3)
    assert el.as_tensor(x) is x and el.as_tensor(x, dtype=el.float64).dtype is el.float64
    assert el.as_tensor([1, 2]).dtype is el.int64
    with pytest.raises(TypeError, match="from_numpy"):
        el.from_numpy([1, 2])


def test_tensor_constructor_defaults_to_float():
    assert el.Tensor([1, 2]).dtype is el.float32 and el.Tensor([[1, 2]]).shape == (1, 2)
    assert el.Tensor().shape == (0,)


def test_requires_grad_needs_a_float_dtype():
    assert el.tensor([1.0], requires_grad=True).requires_grad
    for call in (lambda: el.tensor([1, 2], requires_grad=True), lambda: el.zeros(2, dtype=el.int64, requires_grad=True),
                 lambda: el.arange(3, requires_grad=True), lambda: el.full((2,), True, requires_grad=True)):
        with pytest.raises(DTypeError, match="floating point"):
            call()


def test_bad_data_raises_typed_errors():
    with pytest.raises(ShapeError, match="tensor"):
        el.tensor([[1, 2], [3]])
    with pytest.raises(DTypeError, match="str"):
        el.tensor(["a"])
    with pytest.raises(DTypeError, match="complex"):
        el.tensor(np.ones(2, np.complex64))


# ---- sizes and fills ---------------------------------------------------------------------------------------------
def test_size_forms():
    for fn in (el.zeros, el.ones, el.empty, el.rand):
        assert fn(2, 3).shape == fn((2, 3)).shape == fn([2, 3]).shape == fn(el.Size([2, 3])).shape == (2, 3)
    assert el.zeros(()).shape == () and el.zeros(0).shape == (0,) and el.ones(el.tensor(2), 1).shape == (2, 1)
    assert el.zeros(2, 3).tolist() == [[0.0] * 3] * 2 and el.ones(2, dtype=el.int32).tolist() == [1, 1]
    with pytest.raises(ShapeError, match=r"zeros.*\(-1, 2\)"):
        el.zeros(-1, 2)
    with pytest.raises(DTypeError, match="ones"):
        el.ones(2.5)


def test_full_infers_dtype_from_the_fill_value():
    assert el.full((2,), True).dtype is el.bool and el.full((2,), 3).dtype is el.int64
    assert el.full((2,), 3.0).dtype is el.float32 and el.full([2, 2], 1.5).tolist() == [[1.5, 1.5]] * 2
    assert el.full((2,), 7, dtype=el.float64).dtype is el.float64 and el.full(3, 0.5).shape == (3,)
    assert el.full((2,), el.tensor(2.5)).tolist() == [2.5, 2.5]


def test_like_and_new_keep_dtype_and_device():
    x = el.ones(2, 3, dtype=el.float64)
    for t in (el.zeros_like(x), el.ones_like(x), el.empty_like(x), el.full_like(x, 2), x.new_zeros(4),
              x.new_ones((1, 2)), x.new_empty(2), x.new_full((3,), 1), x.new_tensor([1, 2])):
        assert t.dtype is el.float64 and t.device == x.device
    assert el.zeros_like(x, dtype=el.int32).dtype is el.int32 and el.full_like(x, 7).tolist()[0] == [7.0] * 3
    assert x.new_zeros(4, 5).shape == (4, 5) and x.new_tensor([1, 2]).tolist() == [1.0, 2.0]
    assert el.ones_like(x, requires_grad=True).requires_grad


# ---- ranges --------------------------------------------------------------------------------------------------
ARANGES = [(5,), (2, 9), (0, 10, 3), (0, 1, 0.1), (1.0, 2.5, 0.5), (0, -1, -0.3), (-2.5, 2.5, 0.7), (0.5, 3),
           (10, 0, -3), (0, 1, 1 / 3), (0, 0), (1e-3, 1, 0.01)]


@pytest.mark.parametrize("args", ARANGES, ids=[str(a) for a in ARANGES])
def test_arange_matches_torch(args):
    torch = pytest.importorskip("torch")
    got, want = el.arange(*args), torch.arange(*args)
    assert got.dtype.name == str(want.dtype).removeprefix("torch.") and got.shape == tuple(want.shape)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-7)


def test_arange_semantics():
    assert el.arange(5).tolist() == [0, 1, 2, 3, 4] and el.arange(5).dtype is el.int64
    assert el.arange(0, 1, 0.25).dtype is el.float32 and el.arange(0, 1, 0.1).shape == (10,)  # ceil(1/0.1)
    assert el.arange(0.5, 3, dtype=el.int64).tolist() == [0, 1, 2]
    assert el.arange(el.tensor(3)).dtype is el.int64 and el.arange(4, dtype=el.float64).dtype is el.float64
    with pytest.raises(ValueError, match="arange: step must be nonzero"):
        el.arange(0, 3, 0)
    with pytest.raises(ValueError, match="step sign"):
        el.arange(0, -5, 1)


@pytest.mark.parametrize("args", [(0, 1, 5), (-3, 7, 11), (0, 1, 1), (0, 1, 0), (2.5, -1, 8), (0, 10, 7)])
def test_linspace_matches_torch(args):
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(el.linspace(*args).numpy(), torch.linspace(*args).numpy(), rtol=1e-6, atol=1e-6)


def test_linspace_semantics():
    assert el.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0] and el.linspace(0, 1, 5).dtype is el.float32
    assert el.linspace(0, 10, 5, dtype=el.int64).tolist() == [0, 2, 5, 7, 10]
    assert el.linspace(3, 9, 1).tolist() == [3.0] and el.linspace(0, 1, 0).shape == (0,)
    with pytest.raises(ShapeError, match="linspace.*non-negative"):
        el.linspace(0, 1, -1)


def test_eye():
    np.testing.assert_array_equal(el.eye(3).numpy(), np.eye(3))
    assert el.eye(2, 4).shape == (2, 4) and el.eye(2, dtype=el.int64).dtype is el.int64
    with pytest.raises(ShapeError, match="eye"):
        el.eye(-1)
