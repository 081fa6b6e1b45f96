"""pad against torch.nn.functional.pad: every mode, negative pads (crops), 1 to 3 padded dims, float32/float64,
forward and gradient, double backward, int inputs, errors."""
import numpy as np
import pytest

import eagerlab as el
from eagerlab.errors import ShapeError

torch = pytest.importorskip("torch")
F = torch.nn.functional

# (input shape, pad): torch pads 1 dim of 2-D/3-D inputs, 2 dims of 3-D/4-D, 3 dims of 4-D/5-D in non-constant modes
PADS = [((3, 5), (2, 1)), ((2, 3, 5), (0, 3)), ((2, 3, 5), (-1, 2)), ((2, 3, 5), (3, -2)), ((2, 3, 5), (-2, -1)),
        ((2, 4, 5), (1, 2, 3, 0)), ((1, 2, 4, 5), (-1, 1, 2, -2)), ((1, 2, 3, 4, 5), (1, 0, 2, 1, 1, 2)),
        ((2, 3, 3, 4), (2, 2, 1, 1, 0, 0)), ((2, 3, 5), (4, 4))]
MODES = ["constant", "reflect", "replicate", "circular"]


def _torch_accepts(mode, shape, pad):
    try:
        F.pad(torch.zeros(shape), pad, mode=mode)
        return True
    except (RuntimeError, NotImplementedError):
        return False


CASES = [(mode, shape, pad) for mode in MODES for shape, pad in PADS if _torch_accepts(mode, shape, pad)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode,shape,pad", CASES)
def test_pad_matches_torch(mode, shape, pad, dtype, rng):
    a = rng.standard_normal(shape).astype(dtype)
    x, tx = el.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    kw = dict(value=1.25) if mode == "constant" else {}
    out, tout = el.pad(x, pad, mode=mode, **kw), F.pad(tx, pad, mode=mode, **kw)
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
    seed = rng.standard_normal(tuple(out.shape)).astype(dtype)
    out.backward(el.tensor(seed))
    tout.backward(torch.tensor(seed))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_the_case_list_covers_every_mode():
    assert {c[0] for c in CASES} == set(MODES) and len(CASES) >= 30


@pytest.mark.parametrize("mode,pad", [("constant", (1, 2, -1, 1)), ("constant", (2, 1)), ("reflect", (2, 1, 1, 1)),
                                      ("replicate", (3, -1, 0, 2)), ("circular", (1, 2, 2, -1))])
def test_double_backward(mode, pad, rng):
    x = el.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    assert el.autograd.gradgradcheck(lambda x: el.pad(x, pad, mode=mode), [x])


def test_constant_gradient_is_a_view_of_the_output_gradient(rng):
    x = el.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    g = el.tensor(rng.standard_normal((4, 7)))
    (gx,) = el.autograd.grad([el.pad(x, (2, 2, 1, 1))], [x], [g])
    np.testing.assert_array_equal(gx.numpy(), g.numpy()[1:3, 2:5])
    assert np.shares_memory(gx.numpy(), g.numpy())


def test_int_input_truncates_the_value_like_torch():
    a = np.arange(6).reshape(2, 3)
    out = el.pad(el.tensor(a), (1, 1), value=2.7)
    assert out.dtype == el.int64
    np.testing.assert_array_equal(out.numpy(), F.pad(torch.tensor(a), (1, 1), value=2.7).numpy())


def test_non_constant_modes_pad_any_number_of_dims(rng):
    """Beyond torch's 2-D to 5-D combinations: a 1-D input, and 4 padded dims."""
    a = rng.standard_normal(5)
    np.testing.assert_array_equal(el.pad(el.tensor(a), (2, 1), mode="reflect").numpy(), np.pad(a, (2, 1), "reflect"))
    b = rng.standard_normal((3, 3, 3, 3))
    np.testing.assert_array_equal(el.pad(el.tensor(b), (1,) * 8, mode="circular").numpy(), np.pad(b, 1, "wrap"))


ERRORS = [
    (lambda: el.pad(el.ones(2, 3), (1, 2, 3)), ShapeError, ["pad", "divisible by 2", "3"]),
    (lambda: el.pad(el.ones(2, 3), (1,) * 6), ShapeError, ["pad", "padding length 6", "2 dims", "(2, 3)"]),
    (lambda: el.pad(el.ones(2, 3), (1, 1), mode="mirror"), ValueError, ["pad", "'mirror'", "'reflect'"]),
    (lambda: el.pad(el.ones(2, 3), (1, 1), mode="reflect", value=2.0), ValueError, ["pad", "reflect", "value"]),
    (lambda: el.pad(el.ones(1, 3, 4), (4, 0), mode="reflect"), ShapeError,
     ["pad", "reflect", "(4, 0)", "dim 2", "(1, 3, 4)", "size 4"]),
    (lambda: el.pad(el.ones(1, 3, 4), (5, 0), mode="circular"), ShapeError,
     ["pad", "circular", "more than once", "(5, 0)", "(1, 3, 4)"]),
    (lambda: el.pad(el.ones(1, 3, 4), (-5, 1)), ShapeError,
     ["pad", "(-5, 1)", "(1, 3, 4)", "crops more than the size 4"]),
    (lambda: el.pad(el.ones(1, 3, 4), (-2, -2), mode="replicate"), ShapeError, ["pad", "size of 0"]),
    (lambda: el.pad(el.ones(1, 0, 4), (0, 0, 1, 0), mode="replicate"), ShapeError, ["pad", "replicate", "empty"]),
    (lambda: el.pad(el.ones(2, 3), "ab"), TypeError, ["pad", "sequence of ints"]),
]


@pytest.mark.parametrize("call,error,fragments", ERRORS)
def test_errors_name_the_op_and_shapes(call, error, fragments):
    with pytest.raises(error) as info:
        call()
    for f in fragments:
        assert f in str(info.value), (f, str(info.value))
