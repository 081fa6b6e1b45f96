"""matmul family, linear, einsum, tensordot: semantics against numpy and PyTorch, gradients, errors, dtypes."""
import numpy as np
import pytest

import eagerlab as el
from eagerlab.errors import DTypeError, ShapeError, UnsupportedError

torch = pytest.importorskip("torch")


def _pair(*arrays, grad=True):
    """The same float64 data as eagerlab and torch leaves."""
    ours = [el.tensor(a, requires_grad=grad) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=grad) for a in arrays]
    return ours, theirs


def _check_grads(out, tout, ours, theirs, seed=0):
    """Forward values, then gradients of <out, random seed> for every leaf."""
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(seed).standard_normal(tuple(out.shape))
    out.backward(el.tensor(g))
    tout.backward(torch.tensor(g))
    for a, b in zip(ours, theirs):
        got = np.zeros(tuple(a.shape)) if a.grad is None else a.grad.numpy()  # unused input: None vs torch's zeros
        np.testing.assert_allclose(got, b.grad.numpy(), rtol=1e-10, atol=1e-12)


MATMUL_SHAPES = [
    ((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)),
    ((5, 2, 3), (5, 3, 4)), ((2, 1, 2, 3), (4, 3, 2)), ((3,), (2, 3, 4)), ((2, 2, 3), (3,)), ((1, 2, 3), (6, 3, 1)),
    ((0, 3), (3, 2)), ((2, 0), (0, 3)),
]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul_matches_numpy_and_torch_with_gradients(sa, sb, rng):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    (x, y), (tx, ty) = _pair(a, b)
    out = x @ y
    assert out.shape == np.matmul(a, b).shape
    np.testing.assert_allclose(out.detach().numpy(), np.matmul(a, b), rtol=1e-12, atol=1e-12)
    _check_grads(out, tx @ ty, (x, y), (tx, ty))


def test_matmul_float32_stays_float32_in_forward_and_backward(rng):
    x = el.tensor(rng.standard_normal((4, 2, 3)).astype(np.float32), requires_grad=True)
    w = el.tensor(rng.standard_normal((3, 5)).astype(np.float32), requires_grad=True)
    out = x @ w
    assert out.dtype is el.float32
    out.sum().backward()
    assert x.grad.dtype is el.float32 and w.grad.dtype is el.float32


def test_rmatmul_with_numpy_left_operand(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 2))
    out = a @ el.tensor(b)
    assert isinstance(out, el.Tensor)
    np.testing.assert_allclose(out.numpy(), a @ b)


@pytest.mark.parametrize("call,fragments", [
    (lambda: el.ones(2, 3) @ el.ones(4, 5), ["matmul", "(2, 3) @ (4, 5)"]),
    (lambda: el.ones(3) @ el.ones(4, 5), ["matmul", "(3,) @ (4, 5)"]),
    (lambda: el.ones(2, 3) @ el.ones(4), ["matmul", "(2, 3) @ (4,)"]),
    (lambda: el.ones(2, 2, 3) @ el.ones(3, 3, 4), ["matmul", "(2, 2, 3)", "(3, 3, 4)"]),
    (lambda: el.mm(el.ones(2, 3, 1), el.ones(1, 2)), ["mm", "(2, 3, 1)"]),
    (lambda: el.bmm(el.ones(2, 3, 4), el.ones(3, 4, 2)), ["bmm", "(2, 3, 4)", "(3, 4, 2)"]),
    (lambda: el.bmm(el.ones(3, 4), el.ones(4, 2)), ["bmm", "(3, 4)"]),
    (lambda: el.mv(el.ones(2, 3), el.ones(2, 3)), ["mv", "(2, 3)"]),
    (lambda: el.dot(el.ones(3), el.ones(4)), ["dot", "(3,)", "(4,)"]),
    (lambda: el.linear(el.ones(2, 3), el.ones(4, 5)), ["linear", "(2, 3)", "(4, 5)"]),
    (lambda: el.linear(el.ones(2, 3), el.ones(4, 3), el.ones(5)), ["linear", "(5,)", "(2, 4)"]),
    (lambda: el.tensordot(el.ones(2, 3), el.ones(4, 5), dims=1), ["tensordot", "(2, 3)", "(4, 5)"]),
    (lambda: el.addmm(el.ones(3, 3), el.ones(2, 4), el.ones(4, 3)), ["addmm", "(3, 3)", "(2, 3)"]),
    (lambda: el.einsum("ij,jk->ik", el.ones(2, 3), el.ones(4, 5)), ["einsum", "'j'", "(2, 3)", "(4, 5)"]),
    (lambda: el.einsum("ij,jk", el.ones(2, 3)), ["einsum", "2 operands", "1"]),
    (lambda: el.einsum("ijk->i", el.ones(2, 3)), ["einsum", "'ijk'", "(2, 3)"]),
    (lambda: el.einsum("ij->ik", el.ones(2, 3)), ["einsum", "'ik'"]),
])
def test_shape_errors_name_op_and_shapes(call, fragments):
    with pytest.raises(ShapeError) as info:
        call()
    for frag in fragments:
        assert frag in str(info.value), (frag, str(info.value))


def test_dtype_mismatch_is_an_error_not_a_silent_upcast():
    x32, x64 = el.ones(2, 3), el.ones(3, 2, dtype=el.float64)
    for call in (lambda: x32 @ x64, lambda: el.mm(x32, x64), lambda: el.linear(x32, x64.T),
                 lambda: el.einsum("ij,jk", x32, x64)):
        with pytest.raises(DTypeError, match="float32.*float64"):
            call()


def test_einsum_sublist_format_is_unsupported():
    with pytest.raises(UnsupportedError):
        el.einsum(el.ones(2), [0])


# ---- linear -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("xs,bias", [((4, 3), True), ((4, 3), False), ((2, 5, 3), True), ((3,), True),
                                     ((2, 2, 2, 3), False), ((0, 3), True)])
def test_linear_matches_torch_with_gradients(xs, bias, rng):
    arrays = [rng.standard_normal(xs), rng.standard_normal((4, 3))] + ([rng.standard_normal(4)] if bias else [])
    ours, theirs = _pair(*arrays)
    _check_grads(el.linear(*ours), torch.nn.functional.linear(*theirs), ours, theirs)


def test_linear_is_one_primitive_and_keeps_float32(rng):
    x = el.tensor(rng.standard_normal((8, 3)).astype(np.float32), requires_grad=True)
    w = el.tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    b = el.tensor(rng.standard_normal(4).astype(np.float32), requires_grad=True)
    out = el.linear(x, w, b)
    assert out.grad_fn.name() == "LinearBackward0"
    assert out.dtype is el.float32
    out.sum().backward()
    assert {t.grad.dtype for t in (x, w, b)} == {el.float32}


def test_linear_double_backward_matches_torch(rng):
    arrays = [rng.standard_normal((3, 4)), rng.standard_normal((2, 4)), rng.standard_normal(2)]
    (x, w, b), (tx, tw, tb) = _pair(*arrays)
    gx, = el.autograd.grad([el.linear(x, w, b).tanh().sum()], [x], create_graph=True)
    tgx, = torch.autograd.grad(torch.nn.functional.linear(tx, tw, tb).tanh().sum(), tx, create_graph=True)
    (gx * gx).sum().backward()
    (tgx * tgx).sum().backward()
    for a, t in ((x, tx), (w, tw), (b, tb)):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---- einsum -----------------------------------------------------------------------------------------------------
EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]), ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]), ("ij->", [(2, 3)]), ("ij->ji", [(2, 3)]), ("i,j", [(3,), (2,)]), ("i,i", [(4,), (4,)]),
    ("...ij,...jk", [(2, 1, 2, 3), (2, 3, 2)]), ("...ij->...ji", [(2, 3, 4)]), ("ij,ij->ij", [(1, 3), (2, 3)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]), ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 3, 4)]),
    ("iij->j", [(2, 2, 3)]), ("ij,k->ikj", [(2, 3), (2,)]), ("i->", [(0,)]), (" ij , jk -> ik ", [(2, 3), (3, 2)]),
    ("Ab,bC->AC", [(2, 3), (3, 2)]), ("ijk->ik", [(2, 3, 4)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM_CASES)
def test_einsum_matches_torch_with_gradients(eq, shapes, rng):
    arrays = [rng.standard_normal(s) for s in shapes]
    ours, theirs = _pair(*arrays)
    out = el.einsum(eq, *ours)
    tout = torch.einsum(eq, *theirs)
    assert tuple(out.shape) == tuple(tout.shape)
    _check_grads(out, tout, ours, theirs)


def test_einsum_accepts_an_operand_list_and_keeps_float32(rng):
    a = el.tensor(rng.standard_normal((2, 3)).astype(np.float32))
    out = el.einsum("ij,jk->ik", [a, a.T])
    assert out.dtype is el.float32
    np.testing.assert_allclose(out.numpy(), a.numpy() @ a.numpy().T, rtol=1e-5)


def test_einsum_gradgradcheck():
    a = el.tensor(np.random.default_rng(1).standard_normal((3, 3)), requires_grad=True)
    b = el.tensor(np.random.default_rng(2).standard_normal((3,)), requires_grad=True)
    assert el.autograd.gradgradcheck(lambda x, y: el.einsum("ii,i->i", x, y), [a, b])


# ---- tensordot, addmm, baddbmm, mv, dot, outer --------------------------------------------------------------------
@pytest.mark.parametrize("sa,sb,dims", [((2, 3, 4), (3, 4, 5), 2), ((2, 3, 4), (4, 3, 5), ([1, 2], [1, 0])),
                                        ((2, 3), (4,), 0), ((3, 4), (4, 2), 1), ((2, 3), (3, 2), ([-1], [0])),
                                        ((2, 3), (2, 3), 2)])
def test_tensordot_matches_torch(sa, sb, dims, rng):
    ours, theirs = _pair(rng.standard_normal(sa), rng.standard_normal(sb))
    _check_grads(el.tensordot(*ours, dims=dims), torch.tensordot(*theirs, dims=dims), ours, theirs)


@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0.0, 1.0), (1.0, 0.0)])
def test_addmm_and_baddbmm_match_torch(beta, alpha, rng):
    ours, theirs = _pair(rng.standard_normal(3), rng.standard_normal((2, 4)), rng.standard_normal((4, 3)))
    _check_grads(el.addmm(*ours, beta=beta, alpha=alpha), torch.addmm(*theirs, beta=beta, alpha=alpha), ours, theirs)
    ours, theirs = _pair(rng.standard_normal((2, 1, 3)), rng.standard_normal((2, 2, 4)), rng.standard_normal((2, 4, 3)))
    _check_grads(el.baddbmm(*ours, beta=beta, alpha=alpha), torch.baddbmm(*theirs, beta=beta, alpha=alpha), ours,
                 theirs)


def test_addmm_beta_zero_ignores_nan_in_input():
    out = el.addmm(el.full((2, 2), float("nan")), el.ones(2, 3), el.ones(3, 2), beta=0)
    assert np.isfinite(out.numpy()).all()


def test_vector_products_and_methods(rng):
    a, b, m = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal((2, 3))
    x, y, mat = el.tensor(a), el.tensor(b), el.tensor(m)
    np.testing.assert_allclose(x.dot(y).numpy(), a @ b)
    np.testing.assert_allclose(x.outer(y).numpy(), np.outer(a, b))
    np.testing.assert_allclose(mat.mv(x).numpy(), m @ a)
    np.testing.assert_allclose(mat.mm(mat.T).numpy(), m @ m.T)
    np.testing.assert_allclose(el.ones(2, 2).addmm(mat, mat.T).numpy(), 1 + m @ m.T)


def test_einsum_that_only_rearranges_returns_new_memory():
    import eagerlab as el

    x = el.arange(9.0).reshape(3, 3)
    diag, t = el.einsum("ii->i", x), el.einsum("ij->ji", x)
    x.add_(100)  # einsum is not a view op: its results must not follow later writes into x
    assert diag.tolist() == [0.0, 4.0, 8.0] and t[0].tolist() == [0.0, 3.0, 6.0]
