"""Hypothesis properties: broadcasting, type promotion, reductions and indexing agree with numpy (and PyTorch's
promotion table when it is installed)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import eagerlab as el

SETTINGS = settings(max_examples=60, deadline=None)

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


@SETTINGS
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4))
def test_broadcast_values_and_gradient_shapes(shapes):
    sa, sb = shapes.input_shapes
    rng = np.random.default_rng(0)
    an, bn = rng.standard_normal(sa), rng.standard_normal(sb)
    a, b = el.tensor(an, requires_grad=True), el.tensor(bn, requires_grad=True)
    out = a * b + a
    assert out.shape == shapes.result_shape
    np.testing.assert_allclose(out.detach().numpy(), an * bn + an)
    out.sum().backward()
    assert a.grad.shape == sa and b.grad.shape == sb
    np.testing.assert_allclose(b.grad.numpy(), np.broadcast_to(an, shapes.result_shape).sum(
        axis=tuple(range(len(shapes.result_shape) - len(sb)))).reshape(-1).sum() if not sb else
        _sum_to(np.broadcast_to(an, shapes.result_shape), sb))


def _sum_to(x, shape):
    lead = x.ndim - len(shape)
    x = x.sum(axis=tuple(range(lead)))
    return x.sum(axis=tuple(i for i, s in enumerate(shape) if s == 1), keepdims=True)


@SETTINGS
@given(st.sampled_from(DTYPES), st.sampled_from(DTYPES), st.booleans(), st.booleans())
def test_promotion_matches_torch(da, db, a_is_0d, b_is_0d):
    torch = pytest.importorskip("torch")
    a = el.ones(() if a_is_0d else (2,), dtype=da)
    b = el.ones(() if b_is_0d else (2,), dtype=db)
    ta = torch.ones(() if a_is_0d else (2,), dtype=getattr(torch, da))
    tb = torch.ones(() if b_is_0d else (2,), dtype=getattr(torch, db))
    assert el.result_type(a, b).name == str(torch.result_type(ta, tb)).replace("torch.", "")
    if "bool" not in (da, db):
        assert (a + b).dtype.name == str((ta + tb).dtype).replace("torch.", "")


@SETTINGS
@given(st.sampled_from(DTYPES), st.sampled_from([True, 3, -2, 2.5]))
def test_scalar_promotion_matches_torch(d, scalar):
    torch = pytest.importorskip("torch")
    got = el.result_type(el.ones(2, dtype=d), scalar)
    want = torch.result_type(torch.ones(2, dtype=getattr(torch, d)), scalar)
    assert got.name == str(want).replace("torch.", "")


@SETTINGS
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4),
                  elements=st.floats(-10, 10)), st.data(), st.booleans())
def test_sum_and_mean_over_random_dims(x, data, keepdim):
    dims = data.draw(st.lists(st.integers(0, max(x.ndim - 1, 0)), unique=True, max_size=x.ndim)) if x.ndim else []
    t = el.tensor(x)
    dim = tuple(dims) if dims else None
    np.testing.assert_allclose(t.sum(dim=dim, keepdim=keepdim).numpy(), x.sum(axis=dim, keepdims=keepdim),
                               atol=1e-9)
    if x.size and all(x.shape[d] for d in (dims or range(x.ndim))):
        np.testing.assert_allclose(t.mean(dim=dim, keepdim=keepdim).numpy(), x.mean(axis=dim, keepdims=keepdim),
                                   atol=1e-9)


@st.composite
def basic_index(draw, shape):
    index = []
    for size in shape:
        if draw(st.booleans()) and draw(st.booleans()):
            index.append(None)  # a new axis consumes no dim
        kind = draw(st.sampled_from(["int", "slice"]) if size else st.just("slice"))
        if kind == "int":
            index.append(draw(st.integers(-size, size - 1)))
        elif kind == "slice":
            step = draw(st.sampled_from([1, 2, -1, -2, None]))
            index.append(slice(draw(st.none() | st.integers(-size - 1, size + 1)),
                               draw(st.none() | st.integers(-size - 1, size + 1)), step))
    if draw(st.booleans()) and index:
        index[draw(st.integers(0, len(index) - 1))] = Ellipsis
    return tuple(index)


@SETTINGS
@given(st.data(), hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4))
def test_basic_indexing_matches_numpy_and_is_a_view(data, shape):
    x = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    index = data.draw(basic_index(shape))
    t = el.tensor(x)
    got = t[index]
    np.testing.assert_array_equal(got.numpy(), x[index])
    if got.numel():
        assert np.shares_memory(got.numpy(), t.numpy())


@SETTINGS
@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), st.data())
def test_integer_array_indexing_gradient_counts_selections(shape, data):
    idx = np.array(data.draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=6)))
    x = el.zeros(shape, dtype=el.float64, requires_grad=True)
    x[el.tensor(idx)].sum().backward()
    counts = np.zeros(shape[0])
    np.add.at(counts, idx, 1)
    np.testing.assert_array_equal(x.grad.numpy(), np.broadcast_to(counts.reshape((-1,) + (1,) * (len(shape) - 1)),
                                                                  shape))


@SETTINGS
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), elements=st.floats(-5, 5)))
def test_boolean_mask_matches_numpy(x):
    t = el.tensor(x)
    np.testing.assert_array_equal(t[t > 0].numpy(), x[x > 0])
