"""The Tensor API a PyTorch user reaches for: properties, numpy interop, conversions, devices, autograd flags,
Python protocols, and the repr."""
import numpy as np
import pytest

import eagerlab as el
from eagerlab.errors import AutogradError, DeviceError, DTypeError


# ---- properties --------------------------------------------------------------------------------------------
def test_shape_size_and_friends():
    t = el.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and isinstance(t.shape, el.Size) and t.size() == el.Size([2, 3, 4])
    assert t.size(1) == 3 and t.size(-1) == 4 and t.shape.numel() == 24 and repr(t.shape) == "eagerlab.Size([2, 3, 4])"
    assert t.ndim == t.dim() == 3 and t.numel() == 24 and el.numel(t) == 24
    assert t.dtype is el.float32 and t.device == el.device("cpu") and str(t.device) == "cpu" and not t.is_cuda
    assert t.is_cpu and not (t.is_mps or t.is_xpu or t.is_meta)  # PyTorch's device-kind flags
    assert t.is_floating_point() and not el.arange(2).is_floating_point() and t.element_size() == 4
    assert el.tensor(3.0).shape == () and el.tensor(3.0).ndim == 0 and el.tensor(3.0).numel() == 1
    with pytest.raises(IndexError, match="size"):
        t.size(3)


def test_transposes():
    t = el.arange(6).reshape(2, 3)
    assert t.T.tolist() == [[0, 3], [1, 4], [2, 5]] and t.mT.shape == (3, 2)
    b = el.zeros(5, 2, 3)
    assert b.mT.shape == (5, 3, 2) and b.T.shape == (3, 2, 5)
    assert el.arange(3).T.shape == (3,)
    with pytest.raises(RuntimeError, match="mT"):
        el.arange(3).mT


# ---- numpy interop -------------------------------------------------------------------------------------------
def test_numpy_shares_memory_and_refuses_tensors_requiring_grad():
    t = el.zeros(3)
    a = t.numpy()
    a[0] = 7
    assert t[0].item() == 7 and el.from_numpy(a).numpy() is a
    x = el.ones(2, requires_grad=True) * 1  # a computed result: autograd does not follow the array
    with pytest.raises(AutogradError, match=r"numpy\(\).*detach"):
        x.numpy()
    assert np.shares_memory(x.detach().numpy(), x.numpy(force=True))


def test_array_protocol():
    t = el.arange(6.0).reshape(2, 3)
    a = np.asarray(t)
    assert a.dtype == np.float32 and a.shape == (2, 3) and np.shares_memory(a, t.numpy())
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert np.array(t).base is None or not np.shares_memory(np.array(t), t.numpy())  # np.array copies
    np.testing.assert_allclose(np.asarray(np.sum(t, axis=1)), [3.0, 12.0])
    np.testing.assert_allclose(np.exp(np.asarray(t)), np.exp(np.arange(6.0).reshape(2, 3)), rtol=1e-6)


def test_item_and_tolist():
    assert el.tensor(2.5).item() == 2.5 and type(el.tensor(3).item()) is int and el.tensor([True]).item() is True
    assert el.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]] and el.tensor(1.5).tolist() == 1.5
    assert float(el.tensor([2.0])) == 2.0 and int(el.tensor(7)) == 7 and [0, 1, 2][el.tensor(1)] == 1
    with pytest.raises(ValueError, match=r"item.*\(3,\)"):
        el.ones(3).item()


# ---- conversions and devices ----------------------------------------------------------------------------------
def test_to_dtype_device_and_tensor():
    t = el.arange(6.0).reshape(2, 3)
    assert t.to(el.float32) is t and t.to("cpu") is t and t.cpu() is t
    assert t.to(el.float64).dtype is el.float64 and t.to("float16").dtype is el.float16
    assert t.to("cpu", el.int32).dtype is el.int32 and t.to(device="cpu", dtype=el.int8).dtype is el.int8
    assert t.to(el.ones(1, dtype=el.int16)).dtype is el.int16 and t.to(el.float32, copy=True) is not t
    assert t.type(el.int32).dtype is el.int32 and t.type_as(el.ones(1, dtype=el.uint8)).dtype is el.uint8
    conversions = {"float": el.float32, "double": el.float64, "half": el.float16, "long": el.int64, "int": el.int32,
                   "short": el.int16, "char": el.int8, "byte": el.uint8, "bool": el.bool}
    for name, dt in conversions.items():
        assert getattr(t, name)().dtype is dt
    assert el.tensor([1.7, -1.7]).long().tolist() == [1, -1] and el.tensor([0.0, 2.0]).bool().tolist() == [False, True]


def test_to_is_differentiable():
    x = el.ones(3, requires_grad=True)
    x.to(el.float64).sum().backward()
    assert x.grad.dtype is el.float32 and x.grad.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.skipif(el.cuda.is_available(), reason="checks the no-GPU error path")
def test_cuda_without_gpu_is_a_clear_device_error():
    assert not el.cuda.is_available()
    for call in (lambda: el.ones(2).cuda(), lambda: el.ones(2).to("cuda"), lambda: el.ones(2, device="cuda:0")):
        with pytest.raises(DeviceError, match="CUDA is not available") as info:
            call()
        assert "cuda" in str(info.value) and "install" in str(info.value).lower()


@pytest.mark.gpu
def test_cuda_round_trip():
    t = el.arange(4.0).cuda()
    assert t.is_cuda and t.device == el.device("cuda:0") and "device='cuda:0'" in repr(t)
    assert t.cpu().tolist() == [0.0, 1.0, 2.0, 3.0]


# ---- copies, views, autograd flags -----------------------------------------------------------------------------
def test_clone_detach_contiguous():
    x = el.arange(6.0).reshape(2, 3).requires_grad_()
    c = x.clone()
    assert c.grad_fn is not None and not np.shares_memory(c.detach().numpy(), x.detach().numpy())
    d = x.detach()
    assert not d.requires_grad and d.is_leaf and np.shares_memory(d.numpy(), x.detach().numpy())
    d[0, 0] = 10.0
    assert x[0, 0].item() == 10.0  # detach shares storage
    t = el.arange(6.0).reshape(2, 3)
    assert t.contiguous() is t and not t.T.is_contiguous() and t.T.contiguous().is_contiguous()
    assert t.T.contiguous().tolist() == t.T.tolist()


def test_requires_grad_flags():
    x = el.zeros(2)
    assert x.requires_grad_() is x and x.requires_grad and x.is_leaf
    x.requires_grad_(False)
    assert not x.requires_grad
    y = el.ones(2, requires_grad=True) * 2
    assert not y.is_leaf and y.requires_grad
    with pytest.raises(AutogradError, match="leaf"):
        y.requires_grad_(False)
    for dt in (el.int64, el.int32, el.bool, el.uint8):
        with pytest.raises(DTypeError, match=dt.name):
            el.zeros(2, dtype=dt).requires_grad_()


# ---- Python protocols ---------------------------------------------------------------------------------------
def test_len_iter_bool():
    t = el.arange(6).reshape(3, 2)
    assert len(t) == 3 and [r.tolist() for r in t] == [[0, 1], [2, 3], [4, 5]]
    assert bool(el.tensor([1.0])) and not bool(el.tensor(0)) and (1 if el.tensor(True) else 0) == 1
    with pytest.raises(TypeError, match="0-d"):
        len(el.tensor(1.0))
    with pytest.raises(TypeError, match="0-d"):
        iter(el.tensor(1.0))
    with pytest.raises(RuntimeError, match=r"ambiguous.*\(3, 2\)"):
        bool(t)
    with pytest.raises(RuntimeError, match="ambiguous"):
        if el.ones(2) > 0:
            pass


# ---- repr ----------------------------------------------------------------------------------------------------
REPRS = [
    (lambda: el.tensor([1.0, 2.0]), "tensor([1., 2.])"),
    (lambda: el.tensor([1, 2]), "tensor([1, 2])"),
    (lambda: el.tensor([1.5, 2.25, -3.0]), "tensor([ 1.5000,  2.2500, -3.0000])"),
    (lambda: el.tensor([1, 200, -3]), "tensor([  1, 200,  -3])"),
    (lambda: el.tensor([True, False]), "tensor([ True, False])"),
    (lambda: el.tensor(3.25), "tensor(3.2500)"),
    (lambda: el.tensor([1.5], dtype=el.float64), "tensor([1.5000], dtype=eagerlab.float64)"),
    (lambda: el.tensor([1, 2], dtype=el.int32), "tensor([1, 2], dtype=eagerlab.int32)"),
    (lambda: el.zeros(0), "tensor([])"),
    (lambda: el.zeros(2, 0, dtype=el.int64), "tensor([], size=(2, 0), dtype=eagerlab.int64)"),
    (lambda: el.tensor([1e-5, 1.0]), "tensor([1.0000e-05, 1.0000e+00])"),
    (lambda: el.tensor([float("nan"), 1.0, float("inf")]), "tensor([nan, 1., inf])"),
    (lambda: el.arange(6.0).reshape(2, 3) / 3, "tensor([[0.0000, 0.3333, 0.6667],\n        [1.0000, 1.3333, 1.6667]])"),
    (lambda: el.ones(2, requires_grad=True), "tensor([1., 1.], requires_grad=True)"),
    (lambda: el.ones(2, requires_grad=True) + 1, "tensor([2., 2.], grad_fn=<AddBackward0>)"),
    (lambda: el.ones(2, dtype=el.float64, requires_grad=True) * 2,
     "tensor([2., 2.], dtype=eagerlab.float64, grad_fn=<MulBackward0>)"),
    (lambda: el.arange(3000).reshape(100, 30)[:2, :8], "tensor([[ 0,  1,  2,  3,  4,  5,  6,  7],\n"
                                                      "        [30, 31, 32, 33, 34, 35, 36, 37]])"),
]


@pytest.mark.parametrize("make,want", REPRS, ids=[w.split("\n")[0] for _, w in REPRS])
def test_repr_exact(make, want):
    assert repr(make()) == want


def test_repr_summarizes_large_tensors():
    r = repr(el.arange(2000.0))
    assert r == ("tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
                 "        1.9990e+03])")
    lines = repr(el.arange(3000).reshape(100, 30)).split("\n")
    assert lines[0] == "tensor([[   0,    1,    2,  ...,   27,   28,   29]," and lines[3] == "        ...,"
    assert len(lines) == 7


def test_repr_of_a_cuda_tensor_names_the_device():
    fake = el.Tensor._make(np.ones(2, np.float32), el.device("cuda:0"))  # only its label: repr reads the data
    assert repr(fake) == "tensor([1., 1.], device='cuda:0')"


def test_repr_matches_torch():
    torch = pytest.importorskip("torch")
    values = [np.arange(30.0) / 7, np.array([[1e-3, 123.456], [0.5, -2.0]]), np.arange(5000).reshape(10, 20, 25),
              np.array([1e9, 1.0]), np.array([-0.0, 1.0]), np.array([1e-10]), np.arange(40), np.zeros((2, 1, 3)),
              np.array([[[1e-5, 1e5]]]), np.linspace(-1, 1, 2500).reshape(50, 50), np.array([np.nan, 1.5, -np.inf])]
    for v in values:
        for dt in ("float32", "float64", "int32", "float16"):
            if dt[0] == "i" and not np.all(np.isfinite(v)) or dt == "float16" and np.nanmax(np.abs(v)) > 6e4:
                continue
            a = v.astype(dt)
            assert repr(el.tensor(a)) == repr(torch.tensor(a)).replace("torch.", "eagerlab."), (dt, v.shape)


def test_numpy_of_a_parameter_gives_its_values():
    w = el.nn.Parameter(el.ones(2, 3))  # as Keras variables do; a computed result still asks for detach()
    assert np.shares_memory(w.numpy(), w.detach().numpy()) and w.numpy().shape == (2, 3)
