"""layer_norm, group_norm, batch_norm and instance_norm against torch.nn.functional: every option, float32 and
float64, outputs, gradients (input, weight, bias), updated running statistics, double (and triple) backward,
errors."""
import itertools

import numpy as np
import pytest

import eagerlab as el
from eagerlab.errors import DTypeError, ShapeError

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = {np.float64: dict(rtol=1e-9, atol=1e-10), np.float32: dict(rtol=2e-4, atol=2e-5)}


def _pair(a, dtype, grad=True):
    a = np.asarray(a, dtype)
    return el.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


def _affine(rng, shape, kind, dtype):
    """(weight pair or (None, None), bias pair or (None, None)) for kind in none / weight / bias / both."""
    w = _pair(rng.standard_normal(shape), dtype) if kind in ("weight", "both") else (None, None)
    b = _pair(rng.standard_normal(shape), dtype) if kind in ("bias", "both") else (None, None)
    return w, b


def _check(ours, theirs, leaves, dtype, rng):
    """Same output; same gradients for every (ours, torch) leaf pair under one random output gradient."""
    assert ours.dtype == getattr(el, np.dtype(dtype).name)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **TOL[dtype])
    seed = rng.standard_normal(tuple(ours.shape)).astype(dtype)
    ours.backward(el.tensor(seed))
    theirs.backward(torch.tensor(seed))
    for o, t in leaves:
        if o is not None:
            assert o.grad.dtype == o.dtype
            np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), **TOL[dtype])


DTYPES = [np.float64, np.float32]
AFFINE = ["none", "weight", "bias", "both"]


# ---- layer_norm ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,k", [((5, 4), 1), ((2, 3, 4), 1), ((2, 3, 4), 2), ((2, 3, 4, 5), 3), ((7,), 1)])
@pytest.mark.parametrize("affine", AFFINE)
@pytest.mark.parametrize("eps", [1e-5, 0.1])
def test_layer_norm_matches_torch(dtype, shape, k, affine, eps, rng):
    (x, tx) = _pair(rng.standard_normal(shape) * 3 + 1, dtype)
    norm = shape[len(shape) - k:]
    (w, tw), (b, tb) = _affine(rng, norm, affine, dtype)
    _check(el.layer_norm(x, norm, w, b, eps), F.layer_norm(tx, norm, tw, tb, eps), [(x, tx), (w, tw), (b, tb)],
           dtype, rng)


def test_layer_norm_realistic_float32(rng):
    (x, tx) = _pair(rng.standard_normal((64, 128)) * 5 + 10, np.float32)
    (w, tw), (b, tb) = _affine(rng, (128,), "both", np.float32)
    _check(el.layer_norm(x, (128,), w, b), F.layer_norm(tx, (128,), tw, tb), [(x, tx), (w, tw), (b, tb)],
           np.float32, rng)


# ---- group_norm ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 6), (2, 6, 5), (2, 6, 3, 3), (1, 6, 2, 2, 2)])
@pytest.mark.parametrize("groups", [1, 2, 3, 6])
@pytest.mark.parametrize("affine", AFFINE)
def test_group_norm_matches_torch(dtype, shape, groups, affine, rng):
    if dtype == np.float32 and np.prod(shape[1:]) == groups:
        pytest.skip("one value per group: the output is 0 and float32 roundoff is scaled by 1/sqrt(eps)")
    (x, tx) = _pair(rng.standard_normal(shape) * 2 - 1, dtype)
    (w, tw), (b, tb) = _affine(rng, (shape[1],), affine, dtype)
    if affine == "bias":  # torch's group_norm backward fails with a bias and no weight: give it a unit weight
        tw = torch.ones(shape[1], dtype=tx.dtype)
    _check(el.group_norm(x, groups, w, b), F.group_norm(tx, groups, tw, tb), [(x, tx), (w, tw), (b, tb)], dtype,
           rng)


# ---- batch_norm ------------------------------------------------------------------------------------------------
BN_SHAPES = [((8, 3), 0.1), ((4, 3, 5), 0.7), ((2, 3, 4, 4), 0.1), ((2, 3, 2, 2, 2), 0.0)]  # with a momentum each
BN_GRID = [(shape, training, stats, affine, momentum)
           for (shape, momentum), training, stats, affine in itertools.product(BN_SHAPES, [True, False], [True, False],
                                                                               AFFINE)
           if training or stats]  # evaluation needs running stats


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,training,stats,affine,momentum", BN_GRID)
def test_batch_norm_matches_torch(dtype, shape, training, stats, affine, momentum, rng):
    c = shape[1]
    (x, tx) = _pair(rng.standard_normal(shape) * 2 + 3, dtype)
    (w, tw), (b, tb) = _affine(rng, (c,), affine, dtype)
    rm0, rv0 = rng.standard_normal(c).astype(dtype), rng.uniform(0.5, 2, c).astype(dtype)
    rm, rv = (el.tensor(rm0), el.tensor(rv0)) if stats else (None, None)
    trm, trv = (torch.tensor(rm0), torch.tensor(rv0)) if stats else (None, None)
    out = el.batch_norm(x, rm, rv, w, b, training, momentum, 1e-4)
    tout = F.batch_norm(tx, trm, trv, tw, tb, training, momentum, 1e-4)
    _check(out, tout, [(x, tx), (w, tw), (b, tb)], dtype, rng)
    if stats:
        np.testing.assert_allclose(rm.numpy(), trm.numpy(), **TOL[dtype])
        np.testing.assert_allclose(rv.numpy(), trv.numpy(), **TOL[dtype])
        assert (rm.dtype, rv.dtype) == (out.dtype, out.dtype)
        if not training:
            np.testing.assert_array_equal(rm.numpy(), rm0)


def test_batch_norm_realistic_float32(rng):
    shape = (16, 8, 10, 10)
    (x, tx) = _pair(rng.standard_normal(shape) * 4 + 2, np.float32)
    (w, tw), (b, tb) = _affine(rng, (8,), "both", np.float32)
    rm, rv, trm, trv = el.zeros(8), el.ones(8), torch.zeros(8), torch.ones(8)
    for _ in range(3):  # the running stats accumulate over steps
        out, tout = el.batch_norm(x, rm, rv, w, b, True), F.batch_norm(tx, trm, trv, tw, tb, True)
    _check(out, tout, [(x, tx), (w, tw), (b, tb)], np.float32, rng)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-5, atol=1e-6)


def test_batch_norm_running_stats_are_buffers(rng):
    """Updated in place outside autograd (version bumped), even when the caller's tensors require grad."""
    x = el.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    rm, rv = el.zeros(3, dtype=el.float64), el.ones(3, dtype=el.float64)
    v0 = rm._version
    el.batch_norm(x, rm, rv, training=True).sum().backward()
    assert rm._version > v0 and rv._version > v0 and not rm.requires_grad and rm.grad is None
    stats = el.zeros(3, dtype=el.float64, requires_grad=True)
    el.batch_norm(x, stats, el.ones(3, dtype=el.float64), training=True)
    assert stats.grad is None and np.abs(stats.detach().numpy()).sum() > 0


def test_batch_norm_empty_batch_leaves_running_stats(rng):
    rm, rv = el.zeros(3), el.ones(3)
    out = el.batch_norm(el.zeros(0, 3), rm, rv, training=True)
    assert tuple(out.shape) == (0, 3)
    np.testing.assert_array_equal(rm.numpy(), 0)
    np.testing.assert_array_equal(rv.numpy(), 1)


# ---- instance_norm ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 4)])
@pytest.mark.parametrize("stats,use_input_stats", [(False, True), (True, True), (True, False)])
@pytest.mark.parametrize("affine", AFFINE)
def test_instance_norm_matches_torch(dtype, shape, stats, use_input_stats, affine, rng):
    c = shape[1]
    (x, tx) = _pair(rng.standard_normal(shape) + 2, dtype)
    (w, tw), (b, tb) = _affine(rng, (c,), affine, dtype)
    rm0, rv0 = rng.standard_normal(c).astype(dtype), rng.uniform(0.5, 2, c).astype(dtype)
    rm, rv = (el.tensor(rm0), el.tensor(rv0)) if stats else (None, None)
    trm, trv = (torch.tensor(rm0), torch.tensor(rv0)) if stats else (None, None)
    out = el.instance_norm(x, rm, rv, w, b, use_input_stats, 0.3)
    tout = F.instance_norm(tx, trm, trv, tw, tb, use_input_stats, 0.3)
    _check(out, tout, [(x, tx), (w, tw), (b, tb)], dtype, rng)
    if stats:
        np.testing.assert_allclose(rm.numpy(), trm.numpy(), **TOL[dtype])
        np.testing.assert_allclose(rv.numpy(), trv.numpy(), **TOL[dtype])


# ---- higher-order gradients ------------------------------------------------------------------------------------
HIGHER = [
    ("layer_norm", (3, 4, 5), lambda m, x, w, b: m.layer_norm(x, (4, 5), w, b), (4, 5)),
    ("layer_norm no affine", (3, 6), lambda m, x, w, b: m.layer_norm(x, (6,)), None),
    ("group_norm", (2, 6, 3), lambda m, x, w, b: m.group_norm(x, 3, w, b), (6,)),
    ("batch_norm", (4, 3, 2), lambda m, x, w, b: m.batch_norm(x, None, None, w, b, True), (3,)),
    ("instance_norm", (2, 3, 4), lambda m, x, w, b: m.instance_norm(x, weight=w, bias=b), (3,)),
    ("batch_norm evaluation", (4, 3, 2), lambda m, x, w, b: m.batch_norm(x, m.tensor(np.array([0.5, -1.0, 2.0])),
                                                                         m.tensor(np.array([0.3, 1.0, 2.5])), w, b),
     (3,)),
]


@pytest.mark.parametrize("name,shape,fn,pshape", HIGHER, ids=[h[0] for h in HIGHER])
def test_second_order_gradients_match_torch_and_third_order_is_exact(name, shape, fn, pshape, rng):
    """d/d(x, w, g) of <v, dL/d(x, w)> against torch; one order more against finite differences (torch's own
    third-order layer_norm gradients are wrong: its double backward is not differentiated exactly). The vjp of
    normalize_backward recomputes the moments differentiably, so every order is exact."""
    dt = np.float64
    x0, g0 = rng.standard_normal(shape) * 2 + 1, rng.standard_normal(shape)
    (w, tw), (b, tb) = _affine(rng, pshape, "both", dt) if pshape else ((None, None), (None, None))
    vs = None

    def second_order(m, tensor, x, g, w, b):
        nonlocal vs
        ins = [x] + ([w] if w is not None else [])
        first = m.autograd.grad([fn(F_el if m is el else F_torch, x, w, b)], ins, [g], create_graph=True)
        vs = vs or [rng.standard_normal(tuple(f.shape)) for f in first]
        return m.autograd.grad([sum((f * tensor(v)).sum() for f, v in zip(first, vs))], ins + [g],
                               create_graph=True)

    x, g = el.tensor(x0, requires_grad=True), el.tensor(g0, requires_grad=True)
    ours = second_order(el, el.tensor, x, g, w, b)
    theirs = second_order(torch, torch.tensor, torch.tensor(x0, requires_grad=True),
                          torch.tensor(g0, requires_grad=True), tw, tb)
    for s, t in zip(ours, theirs):
        np.testing.assert_allclose(s.detach().numpy(), t.detach().numpy(), rtol=1e-8, atol=1e-9)
    assert el.autograd.gradcheck(lambda x: second_order(el, el.tensor, x, g, w, b), [x], atol=1e-5, rtol=1e-4)


class F_el:  # the two namespaces the table's lambdas are called with
    layer_norm, group_norm, batch_norm, instance_norm, tensor = (el.layer_norm, el.group_norm, el.batch_norm,
                                                                 el.instance_norm, el.tensor)


class F_torch:
    layer_norm, group_norm, batch_norm, instance_norm, tensor = (F.layer_norm, F.group_norm, F.batch_norm,
                                                                 F.instance_norm, torch.tensor)


# ---- errors ----------------------------------------------------------------------------------------------------
def _x(*shape):
    return el.ones(*shape)


ERRORS = [
    (lambda: el.layer_norm(_x(8, 32), (64,)), ShapeError,
     ["layer_norm", "normalized_shape (64,)", "does not match the last dims of input (8, 32)"]),
    (lambda: el.layer_norm(_x(8, 32), (2, 32)), ShapeError, ["layer_norm", "(2, 32)", "(8, 32)"]),
    (lambda: el.layer_norm(_x(8, 32), (32,), _x(31)), ShapeError, ["layer_norm", "weight", "(31,)", "(32,)"]),
    (lambda: el.layer_norm(_x(8, 32), (32,), None, _x(1, 32)), ShapeError, ["layer_norm", "bias", "(1, 32)"]),
    (lambda: el.layer_norm(el.ones(2, 3, dtype=el.int64), (3,)), DTypeError, ["layer_norm", "int64", "(2, 3)"]),
    (lambda: el.group_norm(_x(8, 6, 3), 4), ShapeError, ["group_norm", "num_groups=4", "6", "(8, 6, 3)"]),
    (lambda: el.group_norm(_x(8, 6, 3), 3, _x(5)), ShapeError, ["group_norm", "weight", "(5,)", "(6,)"]),
    (lambda: el.group_norm(_x(6), 3), ShapeError, ["group_norm", "at least 2 dims", "(6,)"]),
    (lambda: el.batch_norm(_x(1, 3), el.zeros(3), el.ones(3), training=True), ShapeError,
     ["batch_norm", "more than 1 value per channel", "(1, 3)"]),
    (lambda: el.batch_norm(_x(4, 3), el.zeros(4), el.ones(3), training=True), ShapeError,
     ["batch_norm", "running_mean", "(3,)", "(4,)", "(4, 3)"]),
    (lambda: el.batch_norm(_x(4, 3), el.zeros(3), el.ones(2)), ShapeError, ["batch_norm", "running_var", "(2,)"]),
    (lambda: el.batch_norm(_x(4, 3), el.zeros(3), el.ones(3), _x(4)), ShapeError,
     ["batch_norm", "weight", "(4,)", "(3,)"]),
    (lambda: el.batch_norm(_x(4, 3), None, None), ValueError, ["batch_norm", "evaluation mode"]),
    (lambda: el.batch_norm(_x(4, 3), None, None, training=True, momentum=None), TypeError,
     ["batch_norm", "momentum"]),
    (lambda: el.batch_norm(_x(4), None, None, training=True), ShapeError, ["batch_norm", "(4,)"]),
    (lambda: el.instance_norm(_x(2, 3, 1)), ShapeError, ["instance_norm", "more than 1 spatial element", "(2, 3, 1)"]),
    (lambda: el.instance_norm(_x(2, 3, 4), use_input_stats=False), ValueError, ["instance_norm", "use_input_stats"]),
]


@pytest.mark.parametrize("call,error,fragments", ERRORS)
def test_errors_name_the_op_and_shapes(call, error, fragments):
    with pytest.raises(error) as info:
        call()
    for f in fragments:
        assert f in str(info.value), (f, str(info.value))
