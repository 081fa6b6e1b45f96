"""Regression tests for the API gaps and semantic differences real PyTorch programs hit (issue 12), each checked
against PyTorch when it is installed."""
import copy
import math

import numpy as np
import pytest

import eagerlab as el
import eagerlab.nn.functional as F
from eagerlab.errors import DivisionByZeroError, DTypeError, ShapeError

try:
    import torch
except ImportError:  # the eagerlab-side assertions still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="compares with PyTorch")


# ---- view on non-contiguous tensors (PyTorch's stride rule) ---------------------------------------------------------
def test_view_of_a_split_shares_memory_as_in_a_gpt_attention_block():
    x = el.randn(2, 3, 12)
    q = x.split(6, dim=2)[0]
    v = q.view(2, 3, 2, 3)
    assert v.shape == (2, 3, 2, 3) and v.stride() == (36, 12, 3, 1)
    assert np.shares_memory(v.numpy(), x.numpy())
    x.data[0, 0, 0] = 42.0
    assert v[0, 0, 0, 0].item() == 42.0


@pytest.mark.parametrize("make, shape", [
    (lambda t: t.transpose(0, 1), (12,)),
    (lambda t: t[:, :2], (6,)),
    (lambda t: t.T, (2, 6)),
])
def test_view_refuses_what_needs_a_copy_like_pytorch(make, shape):
    t = el.arange(12.0).reshape(3, 4)
    assert t[:, ::2].view(6).tolist() == [0, 2, 4, 6, 8, 10]  # evenly strided: a view, as in PyTorch
    with pytest.raises(ShapeError, match="spans across two contiguous subspaces.*Use .reshape"):
        make(t).view(*shape)
    if torch is not None:
        tt = torch.arange(12.0).reshape(tuple(t.shape))
        with pytest.raises(RuntimeError, match="view size is not compatible"):
            make(tt).view(*shape)


@needs_torch
def test_the_view_rule_agrees_with_pytorch_on_random_layouts():
    from eagerlab.ops.shape import view_is_possible

    rng = np.random.default_rng(0)
    for _ in range(300):
        shape = tuple(int(s) for s in rng.integers(1, 4, rng.integers(1, 5)))
        t = torch.zeros(*[2 * s for s in shape])[tuple(slice(0, 2 * s, int(rng.integers(1, 3))) for s in shape)]
        t = t[tuple(slice(0, s) for s in shape)].permute(*rng.permutation(len(shape)).tolist())
        dims, rest = [], t.numel()
        while rest > 1:
            d = int(rng.choice([k for k in range(1, rest + 1) if rest % k == 0]))
            dims.append(d)
            rest //= d
        new = tuple(dims) or (1,)
        try:
            t.view(new)
            theirs = True
        except RuntimeError:
            theirs = False
        assert view_is_possible(tuple(t.shape), t.stride(), new) == theirs, (tuple(t.shape), t.stride(), new)


# ---- small Tensor API --------------------------------------------------------------------------------------------
def test_view_as_reshape_as_type_as():
    a, b = el.arange(6.0), el.zeros(2, 3, dtype=el.int64)
    assert a.view_as(b).shape == (2, 3) and a.reshape_as(b.T).shape == (3, 2)
    assert a.type_as(b).dtype is el.int64 and a.type(el.LongTensor).dtype is el.int64
    if torch is not None:
        ta, tb = torch.arange(6.0), torch.zeros(2, 3, dtype=torch.int64)
        assert ta.view_as(tb).shape == a.view_as(b).shape and ta.reshape_as(tb.T).shape == a.reshape_as(b.T).shape
        assert str(ta.type_as(tb).dtype).split(".")[1] == a.type_as(b).dtype.name


def test_the_new_family_keeps_dtype_and_device():
    t = el.zeros(2, dtype=el.float64)
    for made in (t.new_tensor([1, 2]), t.new_zeros(2, 3), t.new_ones((2,)), t.new_full((2,), 7), t.new_empty(4)):
        assert made.dtype is el.float64 and made.device == t.device
    assert t.new_full((2,), 7).tolist() == [7.0, 7.0]
    if torch is not None:
        tt = torch.zeros(2, dtype=torch.float64)
        assert tt.new_full((2,), 7).tolist() == t.new_full((2,), 7).tolist() and tt.new_empty(4).shape == (4,)


@pytest.mark.parametrize("spec", ["+.2f", ".3e", "8.1f", ""])
def test_format_of_a_0d_tensor_is_the_numbers(spec):
    assert format(el.tensor(3.14159), spec) == format(el.tensor(3.14159).item(), spec)
    if torch is not None:
        assert format(el.tensor(2.5), spec) == format(torch.tensor(2.5), spec)
    assert "{:>4d}".format(el.tensor(7)) == "   7"
    with pytest.raises(TypeError):
        format(el.tensor([1.0, 2.0]), ".2f")


def test_round_halves_to_even_and_with_decimals():
    x = np.array([0.5, 1.5, 2.5, -0.5, 1.2345, 123.456], np.float64)
    assert el.tensor(x).round().tolist() == np.round(x).tolist()
    assert el.round(el.tensor(x), decimals=2).tolist() == np.round(x, 2).tolist()
    if torch is not None:
        np.testing.assert_array_equal(el.tensor(x).round(decimals=-1).numpy(), torch.tensor(x).round(decimals=-1))
    g = el.tensor(x, requires_grad=True)
    g.round().sum().backward()
    assert g.grad.tolist() == [0.0] * 6


def test_pin_memory_is_a_no_op_on_the_cpu():
    t = el.ones(3)
    assert t.pin_memory() is t and not t.is_pinned()


def test_legacy_constructors():
    assert el.Tensor(3, 4).shape == (3, 4) and el.Tensor(3, 4).dtype is el.float32
    assert el.Tensor(el.Size([2, 5])).shape == (2, 5)
    assert el.Tensor([1, 2]).tolist() == [1.0, 2.0] and el.Tensor().shape == (0,)
    assert el.FloatTensor([1, 2]).dtype is el.float32 and el.LongTensor(2, 2).dtype is el.int64
    assert el.DoubleTensor([1]).dtype is el.float64 and el.ByteTensor([1]).dtype is el.uint8
    assert isinstance(el.zeros(2), el.FloatTensor) and not isinstance(el.zeros(2), el.LongTensor)
    if torch is not None:
        assert torch.Tensor(3, 4).shape == (3, 4) and torch.Tensor().shape == (0,)
        assert torch.LongTensor(2, 2).dtype == torch.int64 and isinstance(torch.zeros(2), torch.FloatTensor)


def test_range_objects_index_like_lists():
    x = el.arange(10) * 2
    assert x[range(2, 8, 2)].tolist() == [4, 8, 12]
    if torch is not None:
        assert torch.arange(10)[range(2, 8, 2)].tolist() == [2, 4, 6]


# ---- device and backend switches -----------------------------------------------------------------------------------
def test_accelerator_backends_and_cuda_extras_on_a_cpu_machine():
    if el.cuda.is_available():
        pytest.skip("checks the CPU-only answers")
    assert el.accelerator.is_available() is False and el.accelerator.current_accelerator() is None
    assert el.accelerator.device_count() == 0
    assert el.cuda.is_bf16_supported() is False
    el.cuda.manual_seed_all(3)
    with pytest.raises(el.errors.DeviceError, match="CUDA is not available"):
        el.cuda.synchronize()
    with pytest.raises(el.errors.DeviceError, match="CUDA is not available"):
        el.cuda.set_device(0)
    assert el.backends.mps.is_available() is False
    if torch is not None and not torch.cuda.is_available():
        assert torch.accelerator.is_available() is False and torch.accelerator.current_accelerator() is None
        assert torch.cuda.is_bf16_supported() is False


def test_backend_switches_are_kept():
    from eagerlab.backend import cuda_runtime

    before = el.backends.cuda.matmul.allow_tf32
    try:
        el.backends.cuda.matmul.allow_tf32 = True
        assert el.backends.cuda.matmul.allow_tf32 is True and cuda_runtime.matmul_tf32() is True
        el.backends.cuda.matmul.allow_tf32 = False
        assert el.backends.cuda.matmul.allow_tf32 is False
    finally:
        cuda_runtime._settings["matmul_tf32"] = None if not before else True
    with pytest.raises(AttributeError, match="only allow_tf32"):
        el.backends.cuda.matmul.allow_fp16_reduced_precision_reductionx = True
    el.backends.cudnn.benchmark = True
    assert el.backends.cudnn.benchmark is True
    el.backends.cudnn.benchmark = False


@pytest.mark.gpu
def test_allow_tf32_sets_cupys_compute_type():
    import cupy
    from cupy._core import _routines_linalg as linalg

    try:
        el.backends.cuda.matmul.allow_tf32 = True
        ampere = int(cupy.cuda.Device().compute_capability) >= 80
        assert linalg.get_compute_type(np.float32) == (linalg.COMPUTE_TYPE_TF32 if ampere else
                                                       linalg.COMPUTE_TYPE_DEFAULT)
    finally:
        el.backends.cuda.matmul.allow_tf32 = False
    assert linalg.get_compute_type(np.float32) == linalg.COMPUTE_TYPE_DEFAULT


def test_modules_import_as_modules():
    import eagerlab.nn.parallel
    import eagerlab.onnx
    import eagerlab.utils.tensorboard

    assert eagerlab.onnx.export is el.graph.onnx.export
    assert callable(eagerlab.utils.tensorboard.SummaryWriter)
    model = eagerlab.nn.parallel.DataParallel(el.nn.Linear(2, 3))
    assert list(model.state_dict()) == ["module.weight", "module.bias"]
    assert model(el.ones(4, 2)).shape == (4, 3)


# ---- samplers ------------------------------------------------------------------------------------------------------
def test_random_sampler_with_replacement_draws_lazily():
    from eagerlab.data import DataLoader, RandomSampler, TensorDataset

    sampler = RandomSampler(range(10), replacement=True, num_samples=10 ** 10)
    it = iter(sampler)
    assert len(sampler) == 10 ** 10 and all(0 <= next(it) < 10 for _ in range(100))
    ds = TensorDataset(el.arange(10))
    loader = DataLoader(ds, batch_size=7, sampler=RandomSampler(ds, replacement=True, num_samples=10 ** 10))
    batch = next(iter(loader))[0]
    assert batch.shape == (7,)


def test_lazy_draws_cover_chunk_boundaries_with_every_batch_size(monkeypatch):
    from eagerlab.data import BatchSampler, RandomSampler, sampler as sampler_module

    monkeypatch.setattr(sampler_module, "_CHUNK", 5)
    for drop_last in (False, True):
        s = RandomSampler(range(4), replacement=True, num_samples=23, generator=el.Generator().manual_seed(1))
        batches = [b.tolist() for b in sampler_module.index_batches(BatchSampler(s, 3, drop_last))]
        flat = [i for b in batches for i in b]
        assert [len(b) for b in batches] == [3] * 7 + ([] if drop_last else [2])
        assert flat == list(RandomSampler(range(4), replacement=True, num_samples=23,
                                          generator=el.Generator().manual_seed(1)))[:len(flat)]


# ---- core conformance ------------------------------------------------------------------------------------------------
def test_erf_has_float64_accuracy():
    x = np.concatenate([np.linspace(-7, 7, 4001), np.geomspace(1e-300, 0.9, 200), [np.nan, np.inf, -np.inf]])
    ours = el.erf(el.tensor(x)).numpy()
    want = np.array([math.erf(v) if not math.isnan(v) else np.nan for v in x])
    np.testing.assert_allclose(ours, want, rtol=4e-15, atol=0)
    if torch is not None:
        np.testing.assert_allclose(ours, torch.erf(torch.tensor(x)).numpy(), rtol=4e-15, atol=0)
        g = el.tensor(np.linspace(-3, 3, 7), requires_grad=True)
        F.gelu(g).sum().backward()
        tg = torch.tensor(np.linspace(-3, 3, 7), requires_grad=True)
        torch.nn.functional.gelu(tg).sum().backward()
        np.testing.assert_allclose(g.grad.numpy(), tg.grad.numpy(), rtol=1e-13)
    assert el.autograd.gradcheck(el.erf, (el.tensor([-2.0, -0.3, 0.1, 1.7], dtype=el.float64,
                                                    requires_grad=True),))


def test_a_retained_grad_sees_the_tensors_hooks():
    x = el.ones(2, requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    assert y.grad.tolist() == [10.0, 10.0] and x.grad.tolist() == [20.0, 20.0]
    if torch is not None:
        tx = torch.ones(2, requires_grad=True)
        ty = tx * 2
        ty.retain_grad()
        ty.register_hook(lambda g: g * 10)
        ty.sum().backward()
        assert ty.grad.tolist() == y.grad.tolist()


def test_ops_save_only_what_the_needed_gradients_read():
    a = el.ones(3, requires_grad=True)
    b = a * 1
    b[0] = b[0] * 10  # b[0] * 10 keeps nothing of b[0], so changing b in place breaks no backward
    b.sum().backward()
    assert a.grad.tolist() == [10.0, 1.0, 1.0]
    w = el.ones(3, requires_grad=True)
    x = el.ones(3)
    y = w * x
    x.add_(1)  # x is read by w's gradient: the backward must refuse the stale value
    with pytest.raises(el.errors.AutogradError, match="modified by an inplace operation"):
        y.sum().backward()
    c = el.ones(3, requires_grad=True)
    d = el.full((3,), 2.0)
    q = d / c  # only c needs a gradient: d is not read, the output is
    d.mul_(5)
    q.sum().backward()
    assert c.grad.tolist() == [-2.0, -2.0, -2.0]


def test_deepcopy_keeps_parameters():
    layer = el.nn.Linear(2, 3)
    clone = copy.deepcopy(layer)
    assert type(clone.weight) is el.nn.Parameter and clone.weight.requires_grad
    assert not np.shares_memory(clone.weight.numpy(), layer.weight.numpy())


def test_logsumexp_of_a_fully_masked_row_is_minus_infinity():
    rows = [[-math.inf, -math.inf], [0.0, 1.0], [math.inf, 0.0]]
    x = el.tensor(rows, requires_grad=True)
    y = el.logsumexp(x, 1)
    y.backward(el.ones(3))
    assert y.tolist()[0] == -math.inf and y.tolist()[2] == math.inf
    if torch is not None:
        tx = torch.tensor(rows, requires_grad=True)
        ty = torch.logsumexp(tx, 1)
        ty.backward(torch.ones(3))
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)  # nan where PyTorch has nan


@pytest.mark.parametrize("fn", [lambda a, b: a // b, lambda a, b: a % b, lambda a, b: el.floor_divide(a, b)])
def test_integer_division_by_zero_raises(fn):
    with pytest.raises(ZeroDivisionError):
        fn(el.tensor([1, 2]), 0)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):  # what PyTorch raises, so `except` code carries over
        fn(el.tensor([1, 2]), el.tensor([1, 0]))
    assert issubclass(DivisionByZeroError, ZeroDivisionError)
    assert (el.tensor([1.0]) // 0).tolist() == [math.inf]
    if torch is not None:
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            torch.tensor([1, 2]) // 0


def test_reductions_of_empty_tensors_as_pytorch():
    z = el.zeros(0, 3)
    values, indices = z.max(1)
    assert values.shape == (0,) and indices.shape == (0,) and z.argmax(1).shape == (0,)
    assert el.logsumexp(z, 0).tolist() == [-math.inf] * 3 and el.logsumexp(z, 1).shape == (0,)
    with pytest.raises(ShapeError):
        z.max(0)
    with pytest.raises(ShapeError):
        z.argmax()
    if torch is not None:
        tz = torch.zeros(0, 3)
        assert torch.logsumexp(tz, 0).tolist() == [-math.inf] * 3 and tz.argmax(1).shape == (0,)


def test_sign_unique_and_integer_wraparound_as_pytorch():
    assert el.sign(el.tensor([math.nan, -2.0, 0.0, 3.0])).tolist() == [0.0, -1.0, 0.0, 1.0]
    u = el.unique(el.tensor([math.nan, 1.0, math.nan, 1.0])).tolist()
    assert u[0] == 1.0 and len(u) == 3 and all(math.isnan(v) for v in u[1:])
    assert (el.tensor([1, 2], dtype=el.int8) * 1000).tolist() == [-24, -48]
    assert (el.tensor([1], dtype=el.uint8) + 300).tolist() == [45]
    assert (1000 - el.tensor([1], dtype=el.int8)).tolist() == [-25]
    if torch is not None:
        assert torch.sign(torch.tensor([math.nan])).tolist() == [0.0]
        assert (torch.tensor([1, 2], dtype=torch.int8) * 1000).tolist() == [-24, -48]
        assert (1000 - torch.tensor([1], dtype=torch.int8)).tolist() == [-25]
        assert len(torch.unique(torch.tensor([math.nan, 1.0, math.nan, 1.0]))) == 3


def test_argmax_refuses_bool_and_where_takes_two_python_numbers():
    with pytest.raises(DTypeError, match="does not support bool"):
        el.tensor([True, False]).argmax()
    cond = el.tensor([True, False, True])
    assert el.where(cond, 1, 0).tolist() == [1, 0, 1] and el.where(cond, 1, 0).dtype is el.int64
    assert el.where(cond, 1.5, 0).dtype is el.float32
    if torch is not None:
        assert torch.where(torch.tensor([True, False]), 1, 0).dtype == torch.int64


def test_losses_refuse_the_target_dtypes_pytorch_refuses():
    scores = el.randn(2, 3)
    with pytest.raises(DTypeError, match="int64 \\(Long\\) or uint8 \\(Byte\\), but got int32"):
        F.cross_entropy(scores, el.tensor([0, 1], dtype=el.int32))
    with pytest.raises(DTypeError, match="nll_loss.*but got int32"):
        F.nll_loss(scores, el.tensor([0, 1], dtype=el.int32))
    assert F.cross_entropy(scores, el.tensor([0, 1], dtype=el.uint8)).shape == ()
    with pytest.raises(DTypeError, match="mse_loss: expected floating-point input or target, got int64"):
        F.mse_loss(el.tensor([1, 2]), el.tensor([1, 3]))
    assert F.mse_loss(el.tensor([1.0, 2.0]), el.tensor([1, 3])).item() == 0.5
    if torch is not None:
        with pytest.raises(RuntimeError, match="but got Int"):
            torch.nn.functional.cross_entropy(torch.randn(2, 3), torch.tensor([0, 1], dtype=torch.int32))
        with pytest.raises(RuntimeError):
            torch.nn.functional.mse_loss(torch.tensor([1, 2]), torch.tensor([1, 3]))
