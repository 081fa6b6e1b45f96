"""Losses and softmax against torch.nn.functional: every option, reductions, gradients (and double backward for
the fused cross entropy), extreme inputs, errors."""
import itertools
import warnings

import numpy as np
import pytest

import eagerlab as el
from eagerlab.errors import DTypeError, IndexOutOfRange, ShapeError

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _leaf(a, grad=True):
    if a.dtype.kind != "f":
        return el.tensor(a), torch.tensor(a)
    return el.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


def _compare(ours_fn, torch_fn, *arrays, rtol=1e-9, atol=1e-10, **kw):
    """Same call on both libraries (float arrays become float64 leaves): values and first-order gradients."""
    pairs = [_leaf(a) if isinstance(a, np.ndarray) else (a, a) for a in arrays]
    kw_pairs = {k: _leaf(v, grad=False) if isinstance(v, np.ndarray) else (v, v) for k, v in kw.items()}
    out = ours_fn(*[p[0] for p in pairs], **{k: v[0] for k, v in kw_pairs.items()})
    tout = torch_fn(*[p[1] for p in pairs], **{k: v[1] for k, v in kw_pairs.items()})
    assert tuple(out.shape) == tuple(tout.shape)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=rtol, atol=atol)
    seed = np.random.default_rng(5).standard_normal(tuple(out.shape))
    out.backward(el.tensor(seed))
    tout.backward(torch.tensor(seed))
    for (o, t) in pairs:
        if isinstance(o, el.Tensor) and o.requires_grad:
            np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol)
    return out


# ---- cross_entropy / nll_loss --------------------------------------------------------------------------------------
def _targets(rng, shape, c, ignore):
    t = rng.integers(0, c, shape)
    if ignore is not None and t.size:
        t.reshape(-1)[0] = ignore
    return t


CE_SHAPES = [(5, 4), (2, 3, 4), (2, 3, 2, 2), (4,)]
CE_GRID = list(itertools.product(CE_SHAPES, [False, True], [None, -100, 2], ["mean", "sum", "none"], [0.0, 0.25]))


@pytest.mark.parametrize("shape,weighted,ignore,reduction,smoothing", CE_GRID)
def test_cross_entropy_index_targets_match_torch(shape, weighted, ignore, reduction, smoothing, rng):
    c = shape[1] if len(shape) > 1 else shape[0]
    x = rng.standard_normal(shape) * 3
    t = _targets(rng, shape[:1] + shape[2:] if len(shape) > 1 else (), c, ignore)
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    if ignore is not None:
        kw["ignore_index"] = ignore
    if weighted:
        kw["weight"] = rng.uniform(0.2, 2.0, c)
    _compare(el.cross_entropy, F.cross_entropy, x, t, **kw)


@pytest.mark.parametrize("shape,weighted,ignore,reduction", [g[:4] for g in CE_GRID if g[4] == 0.0])
def test_nll_loss_matches_torch(shape, weighted, ignore, reduction, rng):
    c = shape[1] if len(shape) > 1 else shape[0]
    logp = np.log(rng.dirichlet(np.ones(c), shape[:1] + shape[2:] if len(shape) > 1 else ()))
    if len(shape) > 1:  # torch's nll_loss2d backward wants a contiguous input
        logp = np.ascontiguousarray(np.moveaxis(logp, -1, 1))
    t = _targets(rng, shape[:1] + shape[2:] if len(shape) > 1 else (), c, ignore)
    kw = dict(reduction=reduction)
    if ignore is not None:
        kw["ignore_index"] = ignore
    if weighted:
        kw["weight"] = rng.uniform(0.2, 2.0, c)
    _compare(el.nll_loss, F.nll_loss, logp, t, **kw)


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2), (3,)])
@pytest.mark.parametrize("weighted,smoothing,reduction", [(False, 0.0, "mean"), (True, 0.3, "sum"),
                                                          (True, 0.0, "none"), (False, 0.1, "mean")])
def test_cross_entropy_probability_targets_match_torch(shape, weighted, smoothing, reduction, rng):
    dim = 1 if len(shape) > 1 else 0
    c = shape[dim]
    probs = np.moveaxis(rng.dirichlet(np.ones(c), shape[:dim] + shape[dim + 1:]), -1, dim)
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    if weighted:
        kw["weight"] = rng.uniform(0.2, 2.0, c)
    _compare(el.cross_entropy, F.cross_entropy, rng.standard_normal(shape), probs, **kw)


def test_cross_entropy_is_one_fused_primitive_both_ways(rng):
    x = el.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    loss = el.cross_entropy(x, el.tensor([0, 2, 1, 1]))
    assert loss.grad_fn.name() == "CrossEntropyBackward0"
    gx, = el.autograd.grad([loss], [x], create_graph=True)
    assert gx.grad_fn.name() == "CrossEntropyGradBackward0"


@pytest.mark.parametrize("kw", [{}, dict(weight=np.array([0.5, 2.0, 1.0]), label_smoothing=0.2, ignore_index=1),
                                dict(reduction="none"), dict(reduction="sum", label_smoothing=0.4)])
def test_cross_entropy_double_backward_matches_torch(kw, rng):
    x_np = rng.standard_normal((4, 3))
    t_np = np.array([0, 2, 1, 1])
    x, tx = _leaf(x_np)
    kw_ours = {k: el.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    kw_torch = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    loss = el.cross_entropy(x, el.tensor(t_np), **kw_ours)
    tloss = F.cross_entropy(tx, torch.tensor(t_np), **kw_torch)
    seed = np.linspace(0.5, 1.5, loss.numel()).reshape(tuple(loss.shape))
    gx, = el.autograd.grad([loss], [x], [el.tensor(seed)], create_graph=True)
    tgx, = torch.autograd.grad(tloss, tx, torch.tensor(seed), create_graph=True)
    np.testing.assert_allclose(gx.detach().numpy(), tgx.detach().numpy(), rtol=1e-10, atol=1e-12)
    (gx * gx * el.tensor(x_np)).sum().backward()
    (tgx * tgx * torch.tensor(x_np)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_cross_entropy_extreme_logits_stay_finite_in_float32():
    x = el.tensor(np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [3e4, 3e4, -3e4]], np.float32), requires_grad=True)
    t = el.tensor([1, 2, 0])
    loss = el.cross_entropy(x, t, label_smoothing=0.1)
    assert loss.dtype is el.float32 and np.isfinite(loss.item())
    loss.backward()
    assert x.grad.dtype is el.float32 and np.isfinite(x.grad.numpy()).all()
    tl = F.cross_entropy(torch.tensor(x.detach().numpy(), requires_grad=True), torch.tensor([1, 2, 0]),
                         label_smoothing=0.1)
    np.testing.assert_allclose(loss.item(), tl.item(), rtol=1e-5)


def test_cross_entropy_all_targets_ignored_is_nan_like_torch():
    out = el.cross_entropy(el.ones(2, 3), el.tensor([-100, -100]))
    assert np.isnan(out.item()) and np.isnan(F.cross_entropy(torch.ones(2, 3), torch.tensor([-100, -100])).item())


def test_legacy_size_average_and_reduce_flags(rng):
    x, t = rng.standard_normal((4, 3)), np.array([0, 1, 2, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for flags in (dict(size_average=False), dict(reduce=False), dict(size_average=True, reduce=True)):
            ours = el.cross_entropy(el.tensor(x), el.tensor(t), **flags)
            theirs = F.cross_entropy(torch.tensor(x), torch.tensor(t), **flags)
            np.testing.assert_allclose(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("call,error,fragments", [
    (lambda: el.cross_entropy(el.ones(2, 3), el.tensor([0, 7])), IndexOutOfRange, ["cross_entropy", "7", "3"]),
    (lambda: el.cross_entropy(el.ones(2, 3), el.tensor([-1, 0])), IndexOutOfRange, ["cross_entropy", "-1", "3"]),
    (lambda: el.nll_loss(el.ones(2, 3), el.tensor([0, 3])), IndexOutOfRange, ["nll_loss", "3 classes"]),
    (lambda: el.cross_entropy(el.ones(2, 3, 2), el.tensor([[0, 5], [1, 1]])), IndexOutOfRange, ["5", "3"]),
    (lambda: el.cross_entropy(el.ones(2, 3), el.ones(2)), ShapeError, ["cross_entropy", "(2, 3)", "(2,)"]),
    (lambda: el.cross_entropy(el.ones(4, 10), el.zeros(3, dtype=el.int64)), ShapeError,
     ["cross_entropy", "(4, 10)", "(3,)"]),
    (lambda: el.cross_entropy(el.ones(2, 3), el.tensor([0, 1]), weight=el.ones(4)), ShapeError,
     ["cross_entropy", "(4,)", "(3,)"]),
    (lambda: el.cross_entropy(el.ones(2, 3), el.tensor([True, False])), DTypeError, ["cross_entropy", "bool"]),
    (lambda: el.nll_loss(el.ones(2, 3), el.ones(2)), DTypeError, ["nll_loss", "float32"]),
    (lambda: el.nll_loss(el.ones(2, 3, dtype=el.int64), el.tensor([0, 1])), DTypeError, ["nll_loss", "int64"]),
    (lambda: el.cross_entropy(el.ones(2, 3), el.tensor([0, 1]), reduction="avg"), ValueError, ["reduction", "avg"]),
    (lambda: el.cross_entropy(el.ones(2, 3), el.tensor([0, 1]), label_smoothing=1.5), ValueError, ["1.5"]),
    (lambda: el.binary_cross_entropy(el.tensor([0.5, 1.5]), el.tensor([0.0, 1.0])), ValueError,
     ["binary_cross_entropy", "between 0 and 1"]),
    (lambda: el.binary_cross_entropy(el.ones(2, 3) * 0.5, el.ones(3)), ShapeError, ["(3,)", "(2, 3)"]),
    (lambda: el.binary_cross_entropy_with_logits(el.ones(2, 3), el.ones(2)), ShapeError, ["(2,)", "(2, 3)"]),
    (lambda: el.mse_loss(el.ones(2, 3), el.ones(3, 2)), ShapeError, ["mse_loss", "(2, 3)", "(3, 2)"]),
    (lambda: el.mse_loss(el.ones(2, 3), el.ones(2, 3), weight=el.ones(3)), ShapeError, ["mse_loss", "(3,)"]),
    (lambda: el.kl_div(el.ones(2), el.ones(2), reduction="batch"), ValueError, ["kl_div", "batchmean"]),
    (lambda: el.cosine_embedding_loss(el.ones(2, 3), el.ones(2, 3), el.ones(3)), ShapeError,
     ["cosine_embedding_loss", "(3,)"]),
])
def test_loss_errors_name_the_loss_and_operands(call, error, fragments):
    with pytest.raises(error) as info:
        call()
    for frag in fragments:
        assert frag in str(info.value), (frag, str(info.value))


def test_broadcasting_target_warns_like_torch():
    with pytest.warns(UserWarning, match=r"mse_loss.*\(3, 1\).*\(3,\)"):
        out = el.mse_loss(el.ones(3), el.zeros(3, 1))
    assert out.item() == 1.0


# ---- regression losses, binary cross entropy, kl_div, cosine ---------------------------------------------------
def _away_from_kinks(rng, shape, kinks=(0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0)):
    d = rng.standard_normal(shape) * 2
    for k in kinks:
        d[np.abs(d - k) < 0.05] += 0.1
    return d


REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_regression_losses_match_torch(name, weighted, reduction, rng):
    t = rng.standard_normal((3, 4))
    kw = dict(reduction=reduction)
    if weighted:
        kw["weight"] = rng.uniform(0.1, 2.0, (3, 4))
    _compare(getattr(el, name), getattr(F, name), t + _away_from_kinks(rng, (3, 4)), t, **kw)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("param", [0.5, 1.0, 2.0])
def test_smooth_l1_and_huber_thresholds_match_torch(param, reduction, rng):
    t = rng.standard_normal((2, 5))
    x = t + _away_from_kinks(rng, (2, 5), kinks=(0.0, param, -param))
    _compare(el.smooth_l1_loss, F.smooth_l1_loss, x, t, reduction=reduction, beta=param)
    _compare(el.huber_loss, F.huber_loss, x, t, reduction=reduction, delta=param)


def test_smooth_l1_beta_zero_is_l1(rng):
    t = rng.standard_normal(6)
    x = t + _away_from_kinks(rng, 6)
    _compare(el.smooth_l1_loss, F.smooth_l1_loss, x, t, beta=0.0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_matches_torch(weighted, reduction, rng):
    kw = dict(reduction=reduction)
    if weighted:
        kw["weight"] = rng.uniform(0.5, 2.0, (4,))
    _compare(el.binary_cross_entropy, F.binary_cross_entropy, rng.uniform(0.02, 0.98, (3, 4)),
             rng.uniform(0, 1, (3, 4)), **kw)


def test_binary_cross_entropy_clamps_logs_at_minus_100_like_torch():
    x = np.array([0.0, 1.0, 1e-50, 1.0 - 1e-16, 0.5])
    t = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
    ours = el.binary_cross_entropy(el.tensor(x), el.tensor(t), reduction="none")
    theirs = F.binary_cross_entropy(torch.tensor(x), torch.tensor(t), reduction="none")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())
    assert ours.numpy()[0] == 100.0


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted,pos", [(False, False), (True, False), (False, True), (True, True)])
def test_bce_with_logits_matches_torch(weighted, pos, reduction, rng):
    kw = dict(reduction=reduction)
    if weighted:
        kw["weight"] = rng.uniform(0.5, 2.0, (3, 1))
    if pos:
        kw["pos_weight"] = rng.uniform(0.5, 3.0, (4,))
    _compare(el.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits, rng.standard_normal((3, 4)) * 3,
             rng.uniform(0, 1, (3, 4)), **kw)


def test_bce_with_logits_extreme_logits_are_finite_in_float32():
    x = el.tensor(np.array([1e4, -1e4, 80.0, -80.0], np.float32), requires_grad=True)
    t = el.tensor(np.array([0.0, 1.0, 1.0, 0.0], np.float32))
    loss = el.binary_cross_entropy_with_logits(x, t, reduction="none", pos_weight=el.tensor(np.float32(2.0)))
    assert loss.dtype is el.float32
    theirs = F.binary_cross_entropy_with_logits(torch.tensor(x.detach().numpy()), torch.tensor(t.numpy()),
                                                reduction="none", pos_weight=torch.tensor(2.0))
    np.testing.assert_allclose(loss.detach().numpy(), theirs.numpy(), rtol=1e-6)
    loss.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reduction, log_target, rng):
    logp = np.log(rng.dirichlet(np.ones(4), 3))
    q = rng.dirichlet(np.ones(4), 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both libraries warn about reduction='mean'
        _compare(el.kl_div, F.kl_div, logp, np.log(q) if log_target else q, reduction=reduction, log_target=log_target)


def test_kl_div_zero_target_contributes_zero(rng):
    logp = np.log(rng.dirichlet(np.ones(3), 2))
    q = np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    ours = el.kl_div(el.tensor(logp), el.tensor(q), reduction="batchmean")
    np.testing.assert_allclose(ours.item(), F.kl_div(torch.tensor(logp), torch.tensor(q), reduction="batchmean"))


@pytest.mark.parametrize("sa,sb,dim", [((3, 4), (3, 4), 1), ((2, 3), (3,), -1), ((2, 3, 2), (2, 3, 2), 0)])
def test_cosine_similarity_matches_torch(sa, sb, dim, rng):
    _compare(el.cosine_similarity, F.cosine_similarity, rng.standard_normal(sa), rng.standard_normal(sb), dim=dim)


@pytest.mark.parametrize("margin,reduction", [(0.0, "mean"), (0.3, "sum"), (-0.5, "none")])
def test_cosine_embedding_loss_matches_torch(margin, reduction, rng):
    y = np.array([1, -1, -1, 1, -1])
    _compare(el.cosine_embedding_loss, F.cosine_embedding_loss, rng.standard_normal((5, 3)),
             rng.standard_normal((5, 3)), y, margin=margin, reduction=reduction)


# ---- softmax ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,dim", [((3, 5), 1), ((3, 5), 0), ((2, 3, 4), -1), ((2, 3, 4), 1), ((4,), 0)])
def test_softmax_rows_sum_to_one_and_match_torch(shape, dim, rng):
    x = rng.standard_normal(shape) * 5
    out = _compare(lambda a: el.softmax(a, dim), lambda a: torch.softmax(a, dim), x)
    np.testing.assert_allclose(out.detach().numpy().sum(axis=dim), 1.0, rtol=1e-12)
    _compare(lambda a: el.log_softmax(a, dim), lambda a: torch.log_softmax(a, dim), x)


def test_softmax_extreme_inputs_stay_finite():
    x = np.array([[1e4, -1e4, 0.0], [-1e30, -1e30, -1e30], [-np.inf, 0.0, 1.0], [3e38, 3e38, 0.0]], np.float32)
    for fn, tfn in ((el.softmax, torch.softmax), (el.log_softmax, torch.log_softmax)):
        out = fn(el.tensor(x), 1)
        assert out.dtype is el.float32
        theirs = tfn(torch.tensor(x), 1).numpy()
        np.testing.assert_allclose(out.numpy(), theirs, rtol=1e-6)
        assert not np.isnan(out.numpy()).any()
    np.testing.assert_allclose(el.softmax(el.tensor(x), 1).numpy().sum(1), 1.0, rtol=1e-6)


def test_softmax_dtype_argument_casts_first():
    x = el.tensor([[1.0, 2.0, 3.0]])
    out = el.softmax(x, 1, dtype=el.float64)
    assert out.dtype is el.float64
    assert x.log_softmax(dim=1, dtype=el.float64).dtype is el.float64
    assert el.softmax(el.tensor([1, 2, 3]), 0).dtype is el.float32  # integers compute in the default float type


def test_softmax_implicit_dim_warns_like_torch():
    with pytest.warns(UserWarning, match="implicit dimension"):
        out = el.softmax(el.ones(2, 3))
    np.testing.assert_allclose(out.numpy(), np.full((2, 3), 1 / 3), rtol=1e-6)


def test_softmax_double_backward_matches_torch(rng):
    x_np = rng.standard_normal((3, 4))
    x, tx = _leaf(x_np)
    w = rng.standard_normal((3, 4))
    g, = el.autograd.grad([(el.softmax(x, 1) * el.tensor(w)).sum()], [x], create_graph=True)
    tg, = torch.autograd.grad((torch.softmax(tx, 1) * torch.tensor(w)).sum(), tx, create_graph=True)
    (g ** 2).sum().backward()
    (tg ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
