"""Indexing (x[...], x[...] = v), gather/scatter family, masks, sorting and unique: semantics against numpy and
PyTorch, views, gradients with repeated indices, in-place variants, and errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import eagerlab as el
from eagerlab.errors import AutogradError, DTypeError, IndexOutOfRange, ShapeError, UnsupportedError

SETTINGS = settings(max_examples=60, deadline=None)
shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)


def _t(a, grad=False):
    return el.tensor(a, requires_grad=grad)


def _np_index(index):
    """The same index with eagerlab tensors in place of numpy arrays."""
    items = index if isinstance(index, tuple) else (index,)
    return tuple(el.tensor(i) if isinstance(i, np.ndarray) else i for i in items)


# ---- basic indexing: numpy semantics, views -----------------------------------------------------------------------
@SETTINGS
@given(st.data(), shapes)
def test_basic_index_matches_numpy_and_is_a_view(data, shape):
    index = data.draw(hnp.basic_indices(shape, min_dims=0, allow_newaxis=True, allow_ellipsis=True))
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    x = _t(a)
    got = x[index]
    want = a[index]
    assert got.shape == np.shape(want)
    np.testing.assert_array_equal(got.numpy(), want)
    if got.numel():
        assert np.shares_memory(got.numpy(), x.numpy())
        got.numpy()[(0,) * got.ndim] = -1.0  # write through the view: the base sees it
        assert (x.numpy() == -1.0).sum() == 1


@SETTINGS
@given(st.data(), hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
def test_basic_index_gradient_scatters_ones(data, shape):
    index = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    x = _t(np.zeros(shape), grad=True)
    x[index].sum().backward()
    want = np.zeros(shape)
    want[index] = 1.0
    np.testing.assert_array_equal(x.grad.numpy(), want)


def test_view_versions_are_shared():
    x = el.zeros(3, 4)
    row = x[1]
    x[1, 2] = 5.0
    assert row[2].item() == 5.0 and row._version == x._version == 1
    row[0] = 7.0  # assignment into a view writes the base
    assert x[1, 0].item() == 7.0 and x._version == 2


def test_negative_steps_and_ellipsis_none():
    a = np.arange(60.0).reshape(3, 4, 5)
    x = _t(a)
    for index in [(Ellipsis, slice(None, None, -2)), (None, 1, Ellipsis, None), (slice(-1, 0, -1), 2),
                  (slice(10, -10, -3),), (Ellipsis,), (), -1, (Ellipsis, -1, slice(None), 0)]:
        np.testing.assert_array_equal(x[index].numpy(), a[index])


# ---- advanced indexing: integer arrays and boolean masks ----------------------------------------------------------
@st.composite
def _advanced(draw):
    """(shape, index): integer arrays (negative too) on some dims, full or strided slices on others, or a mask."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5))
    if draw(st.booleans()):
        d = draw(st.integers(0, len(shape) - 1))
        k = draw(st.integers(1, len(shape) - d))
        mask = draw(hnp.arrays(bool, shape[d:d + k]))
        return shape, (slice(None),) * d + (mask,)
    ishape = draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=4))
    index = []
    for n in shape:
        kind = draw(st.sampled_from(["array", "slice", "step", "skip"]))
        if kind == "array":
            index.append(draw(hnp.arrays(np.int64, ishape, elements=st.integers(-n, n - 1))))
        elif kind == "slice":
            index.append(slice(None))
        elif kind == "step":
            index.append(slice(None, None, draw(st.sampled_from([2, -1]))))
        else:
            break
    if not any(isinstance(i, np.ndarray) for i in index):
        index = [draw(hnp.arrays(np.int64, ishape, elements=st.integers(-shape[0], shape[0] - 1)))] + index[1:]
    return shape, tuple(index)


@SETTINGS
@given(_advanced())
def test_advanced_index_matches_numpy_and_gradient_counts(case):
    shape, index = case
    a = np.random.default_rng(0).standard_normal(shape)
    x = _t(a, grad=True)
    out = x[_np_index(index)]
    np.testing.assert_array_equal(out.detach().numpy(), a[index])
    out.sum().backward()
    counts = np.zeros(shape)
    np.add.at(counts, index, 1.0)  # a repeated selection counts once per repeat
    np.testing.assert_array_equal(x.grad.numpy(), counts)


@pytest.mark.parametrize("shape,index", [
    ((7,), lambda i: (i,)), ((7, 4), lambda i: (i,)), ((4, 7, 3), lambda i: (slice(None), i)),
    ((3, 7), lambda i: (Ellipsis, i)), ((7, 4), lambda i: (i, slice(1, None))), ((7, 4), lambda i: (i, 2)),
])
def test_repeated_index_gradient_paths(shape, index):
    """One array on one dim (flat positions, numpy's 1-D add.at fast path) and mixed indices (n-d add.at) give
    the same sums, in float32."""
    rng = np.random.default_rng(1)
    idx = rng.integers(-7, 7, 40)
    x = el.zeros(shape, requires_grad=True)
    out = x[index(el.tensor(idx))]
    g = rng.standard_normal(tuple(out.shape)).astype(np.float32)
    out.backward(el.tensor(g))
    want = np.zeros(shape, np.float32)
    np.add.at(want, index(idx), g)
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-5, atol=1e-5)
    assert x.grad.dtype is el.float32
    y = el.zeros(shape[::-1]).T  # accumulate into a non-contiguous tensor in place
    y.index_put_(index(el.tensor(idx)), el.tensor(g), accumulate=True)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-5, atol=1e-5)


def test_index_tensor_forms():
    x = _t(np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(x[[2, 0]].numpy(), [[8, 9, 10, 11], [0, 1, 2, 3]])
    np.testing.assert_array_equal(x[[]].numpy().shape, (0, 4))
    np.testing.assert_array_equal(x[el.tensor(1)].numpy(), [4, 5, 6, 7])
    np.testing.assert_array_equal(x[[True, False, True]].numpy(), x.numpy()[[0, 2]])
    np.testing.assert_array_equal(x[np.array([1, 2], np.int32), 0].numpy(), [4, 8])
    np.testing.assert_array_equal(x[..., el.tensor([3, 3])].numpy(), x.numpy()[..., [3, 3]])
    assert x[x > 20].shape == (0,)


def test_double_backward_through_indexing():
    x = _t(np.array([1.0, 2.0, 3.0]), grad=True)
    y = (x[[0, 0, 2]] ** 2).sum()
    (g,) = el.autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [4.0, 0.0, 6.0])
    g[[0, 2]].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 0.0, 2.0])


# ---- assignment ------------------------------------------------------------------------------------------------
@SETTINGS
@given(st.data(), hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
def test_setitem_matches_numpy(data, shape):
    index = data.draw(st.one_of(hnp.basic_indices(shape, allow_ellipsis=True),
                                hnp.arrays(bool, shape), st.just(np.array([0, -1]))))
    a = np.zeros(shape)
    sel = a[index].shape
    lead = data.draw(st.integers(0, len(sel)))
    vshape = tuple(n if data.draw(st.booleans()) else 1 for n in sel[lead:])  # broadcasts to the selection
    v = np.random.default_rng(0).standard_normal(vshape)
    x = _t(a.copy())
    x[_np_index(index) if isinstance(index, np.ndarray) else index] = _t(v)
    a[index] = v
    np.testing.assert_array_equal(x.numpy(), a)
    assert x._version == 1


def test_setitem_scalars_and_dtypes():
    x = el.zeros(2, 3, dtype=el.int64)
    x[0] = 2.7  # cast to the tensor's dtype, as in PyTorch
    x[1, [0, 2]] = el.tensor([1.9, -1.9])
    np.testing.assert_array_equal(x.numpy(), [[2, 2, 2], [1, 0, -1]])
    f = el.zeros(3)
    f[1] = 0.1
    f[x[1] == 0] = np.float64(5.0)
    assert f.dtype is el.float32 and f.numpy().tolist() == pytest.approx([0.0, 5.0, 0.0])
    f[:] = [1, 2, 3]
    assert f.numpy().tolist() == [1, 2, 3]


@pytest.mark.parametrize("index", [(1,), (slice(None), slice(0, 4, 2)), (np.array([2, 0]),),
                                   (np.array([0, 2]), np.array([1, 3])), "mask"])
def test_setitem_gradients(index):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((3, 4))
    if index == "mask":
        index = (a > 0,)
    w = rng.standard_normal((3, 4))
    sel = a[index].shape
    v = rng.standard_normal(sel[-1:] if sel else ())  # broadcast over the leading selected dims
    leaf, val = _t(a, grad=True), _t(v, grad=True)
    y = leaf * 1.0
    y[_np_index(index)] = val
    (y * _t(w)).sum().backward()
    gx = w.copy()
    gx[index] = 0.0
    np.testing.assert_allclose(leaf.grad.numpy(), gx)
    np.testing.assert_allclose(val.grad.numpy(), np.broadcast_to(w[index], sel).reshape((-1,) + v.shape).sum(0))
    assert el.autograd.gradcheck(lambda p, q: _setitem_fn(p, q, index), [leaf, val])


def _setitem_fn(p, q, index):
    y = p * 1.0
    y[_np_index(index)] = q
    return y


def test_setitem_autograd_rules():
    leaf = el.ones(3, requires_grad=True)
    with pytest.raises(AutogradError, match="leaf"):
        leaf[0] = 2.0
    with el.no_grad():
        leaf[0] = 2.0
    assert leaf.numpy(force=True)[0] == 2.0
    y = leaf.exp()
    y[1] = 0.0  # exp saved its output: backward must notice the overwrite
    with pytest.raises(AutogradError, match="modified by an inplace"):
        y.sum().backward()


def test_index_put_and_accumulate_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    a, v = rng.standard_normal((5, 3)), rng.standard_normal((6, 3))
    idx = np.array([4, 0, 4, 1, 4, 0])
    for acc in (False, True):
        x, val = _t(a, grad=True), _t(v, grad=True)
        tx, tv = torch.tensor(a, requires_grad=True), torch.tensor(v, requires_grad=True)
        vidx = idx if acc else idx[[0, 1, 3]]
        out = x.index_put((el.tensor(vidx),), val[:len(vidx)], accumulate=acc)
        tout = tx.index_put((torch.tensor(vidx),), tv[:len(vidx)], accumulate=acc)
        np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy())
        w = rng.standard_normal((5, 3))
        (out * _t(w)).sum().backward()
        (tout * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
        np.testing.assert_allclose(val.grad.numpy(), tv.grad.numpy())
    x = _t(a.copy())
    assert x.index_put_((el.tensor(idx),), _t(v), accumulate=True) is x
    want = a.copy()
    np.add.at(want, idx, v)
    np.testing.assert_allclose(x.numpy(), want)


# ---- gather / scatter / index_add / masks vs PyTorch ------------------------------------------------------------
@SETTINGS
@given(st.data(), hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), st.booleans())
def test_gather_scatter_add_match_torch(data, shape, larger_src):
    torch = pytest.importorskip("torch")
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    d = dim % len(shape)
    ishape = tuple(data.draw(st.integers(1, s)) if e != d else data.draw(st.integers(1, 6))
                   for e, s in enumerate(shape))
    idx = data.draw(hnp.arrays(np.int64, ishape, elements=st.integers(0, shape[d] - 1)))
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape)
    src = rng.standard_normal(tuple(s + larger_src for s in ishape))
    w = rng.standard_normal(ishape)
    x, s = _t(a, grad=True), _t(src, grad=True)
    tx, ts = torch.tensor(a, requires_grad=True), torch.tensor(src, requires_grad=True)
    g, tg = el.gather(x, dim, _t(idx)), torch.gather(tx, dim, torch.tensor(idx))
    corner = tuple(slice(0, n) for n in ishape)  # torch's backward needs src no larger than index
    sa, tsa = el.scatter_add(x, dim, _t(idx), s), torch.scatter_add(tx, dim, torch.tensor(idx), ts[corner])
    np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy())
    np.testing.assert_allclose(sa.detach().numpy(), tsa.detach().numpy(), rtol=1e-12, atol=1e-12)
    ((g * _t(w)).sum() + (sa * sa).sum()).backward()
    ((tg * torch.tensor(w)).sum() + (tsa * tsa).sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s.grad.numpy(), ts.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_scatter_forms_and_in_place_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    a, src = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    idx = np.array([[4, 0], [1, 2], [3, 3]])
    ta, tsrc, tidx = torch.tensor(a), torch.tensor(src), torch.tensor(idx)
    cases = [(dict(src=_t(src)), dict(src=tsrc)), (dict(value=2.5), dict(value=2.5)),
             (dict(src=_t(src), reduce="multiply"), dict(src=tsrc, reduce="multiply"))]
    for kw, tkw in cases:
        np.testing.assert_allclose(el.scatter(_t(a), 1, _t(idx), **kw).numpy(),
                                   torch.scatter(ta, 1, tidx, **tkw).numpy())
        x = _t(a.copy())
        assert x.scatter_(1, _t(idx), **kw) is x and x._version == 1
        np.testing.assert_allclose(x.numpy(), ta.clone().scatter_(1, tidx, **tkw).numpy())
    x = _t(a.copy())
    x.scatter_add_(0, _t(np.array([[2, 2, 0, 1, 2]])), _t(src))
    np.testing.assert_allclose(x.numpy(), ta.clone().scatter_add_(0, torch.tensor([[2, 2, 0, 1, 2]]), tsrc).numpy())
    y = _t(a, grad=True) * 1.0
    y.scatter_(1, _t(idx), _t(src), reduce="multiply")
    with pytest.raises(UnsupportedError, match="multiply"):
        y.sum().backward()


def test_index_select_index_add_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    a, src = rng.standard_normal((4, 6)), rng.standard_normal((4, 5))
    idx = np.array([5, 0, 5, 2, 5])
    np.testing.assert_allclose(el.index_select(_t(a), 1, _t(idx)).numpy(),
                               torch.index_select(torch.tensor(a), 1, torch.tensor(idx)).numpy())
    x, s = _t(a, grad=True), _t(src, grad=True)
    tx, ts = torch.tensor(a, requires_grad=True), torch.tensor(src, requires_grad=True)
    out = el.index_add(x, 1, _t(idx), s, alpha=2.0)
    tout = torch.index_add(tx, 1, torch.tensor(idx), ts, alpha=2.0)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy())
    (out ** 2).sum().backward()
    (tout ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_allclose(s.grad.numpy(), ts.grad.numpy())
    y = _t(a.copy())
    assert y.index_add_(1, _t(idx), _t(src)) is y
    np.testing.assert_allclose(y.numpy(), torch.tensor(a).index_add_(1, torch.tensor(idx), torch.tensor(src)).numpy())


@pytest.mark.parametrize("name,args", [
    ("scatter_", lambda i, s: (1, i, s)), ("scatter_add_", lambda i, s: (1, i, s)),
    ("index_add_", lambda i, s: (1, i[0], s)), ("masked_fill_", lambda i, s: (s[:, :1] > 0, s[1, 0])),
    ("index_put_", lambda i, s: ((i[:, 1],), s[:, :1], True)),
])
def test_in_place_variants_record_gradients(name, args):
    """In place on a non-leaf: the tensor takes the op's grad_fn; gradients reach both it and the source."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    a, src = rng.standard_normal((3, 4)), rng.standard_normal((3, 2))
    idx = np.array([[3, 0], [1, 1], [2, 0]])
    results = []
    for lib, make in ((el, lambda v: el.tensor(v, requires_grad=True)),
                      (torch, lambda v: torch.tensor(v, requires_grad=True))):
        x, s = make(a), make(src)
        y = x * 1.0
        out = getattr(y, name)(*args(lib.tensor(idx), s))
        assert out is y
        (y * lib.tensor(a)).sum().backward()
        results.append([t.detach().numpy() for t in (y, x.grad, s.grad if s.grad is not None else s * 0)])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want)


def test_masked_ops_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    a, m = rng.standard_normal((3, 4)), rng.random((4,)) > 0.5
    ta, tm = torch.tensor(a), torch.tensor(m)
    np.testing.assert_array_equal(el.masked_select(_t(a), _t(m)).numpy(), torch.masked_select(ta, tm).numpy())
    x = _t(a.copy())
    assert x.masked_fill_(_t(m), -1.0) is x
    np.testing.assert_array_equal(x.numpy(), ta.clone().masked_fill_(tm, -1.0).numpy())
    v = el.tensor(3.0, dtype=el.float64, requires_grad=True)
    y = _t(a, grad=True) * 1.0
    y.masked_fill_(_t(m), v)
    y.sum().backward()
    assert v.grad.item() == 3 * m.sum()
    ints = el.arange(6).reshape(2, 3)
    assert ints.masked_fill(ints > 3, 2.7).dtype is el.int64
    np.testing.assert_array_equal(el.where(_t(a > 0))[1].numpy(), np.nonzero(a > 0)[1])


# ---- sorting ---------------------------------------------------------------------------------------------------------
@SETTINGS
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
                  elements=st.sampled_from([0.0, 1.0, -2.5, 3.0, np.nan])), st.booleans(), st.data())
def test_sort_matches_torch_stable(a, descending, data):
    torch = pytest.importorskip("torch")
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1))
    v, i = el.sort(_t(a), dim, descending=descending, stable=True)
    tv, ti = torch.sort(torch.tensor(a), dim=dim, descending=descending, stable=True)
    np.testing.assert_array_equal(v.numpy(), tv.numpy())  # NaN is the largest value in both
    np.testing.assert_array_equal(i.numpy(), ti.numpy())  # ties keep their input order
    np.testing.assert_array_equal(el.argsort(_t(a), dim, descending, stable=True).numpy(), ti.numpy())


@SETTINGS
@given(hnp.array_shapes(min_dims=1, max_dims=3, max_side=6), st.data())
def test_topk_matches_torch(shape, data):
    torch = pytest.importorskip("torch")
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    k = data.draw(st.integers(0, shape[dim]))
    largest = data.draw(st.booleans())
    a = np.random.default_rng(len(shape)).permutation(int(np.prod(shape))).reshape(shape).astype(np.float64)
    x = _t(a, grad=True)
    res = el.topk(x, k, dim, largest=largest)
    tres = torch.topk(torch.tensor(a), k, dim, largest=largest)
    np.testing.assert_array_equal(res.values.detach().numpy(), tres.values.numpy())
    np.testing.assert_array_equal(res.indices.numpy(), tres.indices.numpy())
    res.values.sum().backward()
    want = np.zeros(shape)
    np.put_along_axis(want, tres.indices.numpy(), 1.0, dim)
    np.testing.assert_array_equal(x.grad.numpy(), want)
    unsorted = el.topk(_t(a), k, dim, largest=largest, sorted=False)
    np.testing.assert_array_equal(np.sort(unsorted.values.numpy(), dim), np.sort(tres.values.numpy(), dim))


def test_sort_results_unpack_and_name():
    x = _t(np.array([[3.0, 1.0, 2.0]]), grad=True)
    values, indices = x.sort()
    np.testing.assert_array_equal(values.detach().numpy(), [[1, 2, 3]])
    assert x.sort()._fields == ("values", "indices")
    assert indices.dtype is el.int64 and not indices.requires_grad
    r = x.topk(1)
    assert r.values.item() == 3.0 and r.indices.item() == 0
    (values * _t(np.array([[1.0, 10.0, 100.0]]))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[100.0, 1.0, 10.0]])


@pytest.mark.parametrize("kwargs", [{}, dict(return_inverse=True), dict(return_counts=True),
                                    dict(return_inverse=True, return_counts=True), dict(dim=0),
                                    dict(dim=1, return_inverse=True, return_counts=True)])
def test_unique_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    a = np.array([[3, 1, 3, 1], [0, 1, 0, 1], [3, 1, 3, 1]])
    got = el.unique(_t(a), **kwargs)
    want = torch.unique(torch.tensor(a), **kwargs)
    got, want = (got, want) if isinstance(want, tuple) else ((got,), (want,))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), w.numpy())


def test_nonzero_and_one_hot_match_torch():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(7).standard_normal((3, 4, 2)) > 0
    np.testing.assert_array_equal(el.nonzero(_t(a)).numpy(), torch.nonzero(torch.tensor(a)).numpy())
    for g, w in zip(el.nonzero(_t(a), as_tuple=True), torch.nonzero(torch.tensor(a), as_tuple=True)):
        np.testing.assert_array_equal(g.numpy(), w.numpy())
    c = np.array([[0, 3], [2, 2]])
    np.testing.assert_array_equal(el.one_hot(_t(c), 5).numpy(),
                                  torch.nn.functional.one_hot(torch.tensor(c), 5).numpy())
    assert el.one_hot(_t(c)).shape == (2, 2, 4)


# ---- errors ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn,err,words", [
    (lambda x: x[3], IndexOutOfRange, ["index 3", "dimension 0", "size 3"]),
    (lambda x: x[0, -5], IndexOutOfRange, ["index -5", "dimension 1", "size 4"]),
    (lambda x: x[..., 4], IndexOutOfRange, ["index 4", "dimension 1", "size 4"]),
    (lambda x: x[:, el.tensor([0, 7])], IndexOutOfRange, ["index 7", "size 4"]),
    (lambda x: x[0, 0, 0], IndexOutOfRange, ["too many indices", "dimension 2"]),
    (lambda x: x[el.tensor([1.0])], DTypeError, ["float32", "long"]),
    (lambda x: x[el.ones(3, 3, dtype=el.bool)], IndexOutOfRange, ["mask", "(3, 3)", "(3, 4)"]),
    (lambda x: x["a"], DTypeError, ["str"]),
    (lambda x: x[..., ...], IndexOutOfRange, ["ellipsis"]),
    (lambda x: x.__setitem__(5, 1.0), IndexOutOfRange, ["index 5", "dimension 0", "size 3"]),
    (lambda x: x.__setitem__(0, el.ones(3)), ShapeError, ["setitem", "(3,)"]),
    (lambda x: el.gather(x, 1, el.ones(3, 4)), DTypeError, ["gather", "float32"]),
    (lambda x: el.gather(x, 1, el.tensor([[4]])), IndexOutOfRange, ["gather", "index 4", "dimension 1", "size 4"]),
    (lambda x: el.gather(x, 1, el.tensor([[-1]])), IndexOutOfRange, ["index -1"]),
    (lambda x: el.gather(x, 0, el.zeros(2, 5, dtype=el.int64)), ShapeError, ["gather", "(2, 5)", "(3, 4)"]),
    (lambda x: el.scatter(x, 0, el.zeros(1, 1, dtype=el.int64), 1.0, reduce="mean"), UnsupportedError, ["mean"]),
    (lambda x: x.masked_fill(el.ones(3, 4), 0.0), DTypeError, ["masked_fill", "float32"]),
    (lambda x: x.masked_fill(el.ones(3, dtype=el.bool), 0.0), ShapeError, ["masked_fill", "(3,)"]),
    (lambda x: x.masked_fill(x > 0, el.ones(2)), ShapeError, ["0-dimensional"]),
    (lambda x: el.index_select(x, 0, el.zeros(1, 1, dtype=el.int64)), ShapeError, ["vector"]),
    (lambda x: el.index_add(x, 0, el.tensor([0]), el.ones(2, 4)), ShapeError, ["index_add", "(1, 4)"]),
    (lambda x: el.topk(x, 5), IndexOutOfRange, ["topk", "5", "size 4"]),
    (lambda x: el.one_hot(el.tensor([0, 3]), 3), IndexOutOfRange, ["smaller than num_classes"]),
    (lambda x: el.one_hot(el.tensor([-1])), IndexOutOfRange, ["non-negative"]),
    (lambda x: el.one_hot(el.tensor([1], dtype=el.int32)), DTypeError, ["int64", "int32"]),
])
def test_errors(fn, err, words):
    x = el.zeros(3, 4)
    with pytest.raises(err) as info:
        fn(x)
    for w in words:
        assert w in str(info.value), (w, str(info.value))
