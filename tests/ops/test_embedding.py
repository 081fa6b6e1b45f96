"""embedding against torch.nn.functional.embedding: padding_idx, scale_grad_by_freq, max_norm (in-place renorm),
index shapes and dtypes, float32/float64, gradients and double backward, errors."""
import itertools

import numpy as np
import pytest

import eagerlab as el
from eagerlab.errors import DTypeError, IndexOutOfRange, ShapeError, UnsupportedError

torch = pytest.importorskip("torch")
F = torch.nn.functional

GRID = list(itertools.product([(5,), (3, 4), (2, 3, 2), ()], [None, 0, 3, -1], [False, True],
                              [np.float64, np.float32]))


@pytest.mark.parametrize("index_shape,padding_idx,freq,dtype", GRID)
def test_embedding_matches_torch(index_shape, padding_idx, freq, dtype, rng):
    w0 = rng.standard_normal((6, 4)).astype(dtype)
    idx = rng.integers(0, 6, index_shape)
    w, tw = el.tensor(w0, requires_grad=True), torch.tensor(w0, requires_grad=True)
    out = el.embedding(el.tensor(idx), w, padding_idx, scale_grad_by_freq=freq)
    tout = F.embedding(torch.tensor(idx), tw, padding_idx, scale_grad_by_freq=freq)
    assert out.dtype == w.dtype and tuple(out.shape) == tuple(tout.shape)
    np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
    seed = rng.standard_normal(tuple(out.shape)).astype(dtype)
    out.backward(el.tensor(seed))
    tout.backward(torch.tensor(seed))
    assert w.grad.dtype == w.dtype
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("vocab", [50, 10000])
def test_embedding_realistic_float32(vocab, rng):
    """(32, 50) indices; a vocabulary of 50 makes almost every index repeat."""
    w0 = rng.standard_normal((vocab, 64)).astype(np.float32)
    idx = rng.integers(0, vocab, (32, 50))
    w, tw = el.tensor(w0, requires_grad=True), torch.tensor(w0, requires_grad=True)
    seed = rng.standard_normal((32, 50, 64)).astype(np.float32)
    el.embedding(el.tensor(idx), w, padding_idx=7).backward(el.tensor(seed))
    F.embedding(torch.tensor(idx), tw, padding_idx=7).backward(torch.tensor(seed))
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_int32_indices(rng):
    w0 = rng.standard_normal((6, 3))
    idx = np.array([[1, 5], [5, 0]], dtype=np.int32)
    np.testing.assert_array_equal(el.embedding(el.tensor(idx), el.tensor(w0)).numpy(), w0[idx])


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("padding_idx", [None, 1])
def test_max_norm_renormalizes_weight_in_place_like_torch(norm_type, padding_idx, rng):
    w0 = rng.standard_normal((6, 4)) * 2
    idx = np.array([[1, 4, 4], [0, 1, 2]])
    w, tw = el.tensor(w0, requires_grad=True), torch.tensor(w0, requires_grad=True)
    v0 = w._version
    out = el.embedding(el.tensor(idx), w, padding_idx, max_norm=1.5, norm_type=norm_type)
    tout = F.embedding(torch.tensor(idx), tw, padding_idx, max_norm=1.5, norm_type=norm_type)
    assert w._version > v0
    np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12)
    assert np.allclose(w.detach().numpy()[[3, 5]], w0[[3, 5]])  # rows not referenced are untouched
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy())


@pytest.mark.parametrize("padding_idx,freq", [(None, False), (2, False), (None, True), (2, True)])
def test_double_backward(padding_idx, freq, rng):
    """The weight gradient is linear in the output gradient; its adjoint picks rows again (0 at padding_idx,
    divided by the counts with scale_grad_by_freq). Against finite differences, and against torch except with
    scale_grad_by_freq, where torch's double backward leaves out the division by the counts."""
    idx = np.array([[2, 0, 2], [4, 2, 1]])
    w = el.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    g = el.tensor(rng.standard_normal((2, 3, 3)), requires_grad=True)

    def weight_grad(g):
        out = el.embedding(el.tensor(idx), w, padding_idx, scale_grad_by_freq=freq)
        return el.autograd.grad([out], [w], [g], create_graph=True)[0]

    assert el.autograd.gradcheck(weight_grad, [g])
    if freq:
        return
    v = rng.standard_normal((5, 3))
    (gg,) = el.autograd.grad([(weight_grad(g) * el.tensor(v)).sum()], [g])
    tw, tg = torch.tensor(w.detach().numpy(), requires_grad=True), torch.tensor(g.detach().numpy(), requires_grad=True)
    tout = F.embedding(torch.tensor(idx), tw, padding_idx, scale_grad_by_freq=freq)
    (tdw,) = torch.autograd.grad([tout], [tw], [tg], create_graph=True)
    (tgg,) = torch.autograd.grad([(tdw * torch.tensor(v)).sum()], [tg])
    np.testing.assert_allclose(gg.numpy(), tgg.numpy(), rtol=1e-12)


ERRORS = [
    (lambda: el.embedding(el.tensor([0, 10]), el.ones(10, 3)), IndexOutOfRange,
     ["embedding", "index 10", "num_embeddings=10", "(10, 3)"]),
    (lambda: el.embedding(el.tensor([[-1, 2]]), el.ones(10, 3)), IndexOutOfRange, ["embedding", "index -1", "10"]),
    (lambda: el.embedding(el.tensor([0.0, 1.0]), el.ones(10, 3)), DTypeError, ["embedding", "float32", "(2,)"]),
    (lambda: el.embedding(el.tensor([0, 1]), el.ones(10)), ShapeError, ["embedding", "2-D", "(10,)"]),
    (lambda: el.embedding(el.tensor([0, 1]), el.ones(10, 3), padding_idx=10), IndexOutOfRange,
     ["embedding", "padding_idx=10", "num_embeddings=10"]),
    (lambda: el.embedding(el.tensor([0, 1]), el.ones(10, 3), padding_idx=-11), IndexOutOfRange,
     ["embedding", "padding_idx=-11"]),
    (lambda: el.embedding(el.tensor([0, 1]), el.ones(10, 3), sparse=True), UnsupportedError,
     ["embedding", "sparse=True"]),
]


@pytest.mark.parametrize("call,error,fragments", ERRORS)
def test_errors_name_the_op_and_shapes(call, error, fragments):
    with pytest.raises(error) as info:
        call()
    for f in fragments:
        assert f in str(info.value), (f, str(info.value))
