"""In-place writes and aliasing in compiled functions: each test states the eager behaviour the compiled call must
match (writes into captured tensors and arguments; results that must not share memory with an argument, a capture or
the next call's results; writes into views, which eagerly land in the memory the view shares)."""
import numpy as np
import pytest

import eagerlab


def test_two_inplace_writes_into_a_captured_tensor_both_land():
    # an EMA / manual decay-then-add update: the second write must go into the captured tensor, not into the
    # intermediate value the first write produced
    w = eagerlab.ones(3)

    @eagerlab.function
    def f(a):
        with eagerlab.no_grad():
            w.mul_(2)
            w.add_(a)
        return a * 2

    f(eagerlab.ones(3))
    np.testing.assert_array_equal(w.numpy(), [3.0, 3.0, 3.0])
    f(eagerlab.ones(3))
    np.testing.assert_array_equal(w.numpy(), [7.0, 7.0, 7.0])


def test_times_one_of_an_argument_is_a_new_tensor():
    # `x * scale` with scale=1 is a new tensor eagerly: writing into the result leaves the argument alone
    @eagerlab.function
    def f(a, scale):
        return a * scale

    x = eagerlab.ones(3)
    r = f(x, 1)
    r.add_(5)
    np.testing.assert_array_equal(x.numpy(), [1.0, 1.0, 1.0])


def test_times_one_of_a_captured_tensor_keeps_the_value_before_a_later_write():
    w = eagerlab.ones(3)

    @eagerlab.function
    def f(a):
        before = w * 1
        with eagerlab.no_grad():
            w.add_(a)
        return w - before, before

    diff, before = f(eagerlab.ones(3))
    np.testing.assert_array_equal(diff.numpy(), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(before.numpy(), [1.0, 1.0, 1.0])


def test_a_returned_constant_is_not_shared_between_calls():
    @eagerlab.function
    def init(x):
        return x.sum(), eagerlab.zeros(3), eagerlab.tensor([1.0, 2.0]) * 2

    _, state, folded = init(eagerlab.ones(2))
    state.add_(5)  # the caller accumulates into the state it was given
    folded.mul_(10)
    _, state2, folded2 = init(eagerlab.ones(2))
    np.testing.assert_array_equal(state2.numpy(), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(folded2.numpy(), [2.0, 4.0])


# ---- writes into arguments and views: each case runs eagerly and compiled on equal inputs, twice (the second
# call reuses the trace), and the caller's tensors and the results must agree
def _add_(x):
    x.add_(1)
    return x.sum()


def _setitem(x):
    x[0] = 7
    return x * 2


def _into_a_slice(x):
    x[1:].add_(1)
    return x * 2


def _into_a_view_of_a_view(x):
    x.t()[0].mul_(3)
    return x.sum()


def _a_view_reads_the_write_into_its_base(x):
    row = x[0]
    x.add_(1)
    return row * 1


def _into_unbound_rows(x):
    a, b = x.unbind(0)
    b.zero_()
    a.add_(b + 1)
    return x + 0


def _into_a_reshaped_slice(x):
    x.reshape(-1)[2:4].fill_(5)
    return x.sum()


def _into_a_reshape_that_copies(x):
    x.t().reshape(-1).add_(1)  # eagerly a copy: x keeps its values
    return x.sum()


def _into_detached(x):
    x.detach().mul_(2)
    x.data.add_(1)
    return x.sum()


def _iadd(x):
    x += 1
    return x


def _a_local_tensors_view(x):
    a = x * 1
    a[1:].add_(1)
    return a * 2


def _index_put_(x):
    x.index_put_((eagerlab.tensor([0, 1]), eagerlab.tensor([2, 0])), eagerlab.tensor([9.0, 8.0]))
    return x.sum()


@pytest.mark.parametrize("fn", [_add_, _setitem, _into_a_slice, _into_a_view_of_a_view,
                                _a_view_reads_the_write_into_its_base, _into_unbound_rows, _into_a_reshaped_slice,
                                _into_a_reshape_that_copies, _into_detached, _iadd, _a_local_tensors_view,
                                _index_put_])
def test_inplace_writes_into_an_argument_or_a_view_match_eager(fn):
    compiled = eagerlab.function(fn)
    for shape in ((2, 3), (2, 3), (2, 5)):  # the second call reuses the trace, the third retraces
        x_eager, x_compiled = eagerlab.arange(float(np.prod(shape))).reshape(shape), \
            eagerlab.arange(float(np.prod(shape))).reshape(shape)
        version = x_compiled._version
        want, got = fn(x_eager), compiled(x_compiled)
        np.testing.assert_array_equal(x_compiled.numpy(), x_eager.numpy())
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert (x_compiled._version > version) == (x_eager._version > version)
    assert compiled.trace_count == 2


def test_an_argument_written_twice_in_a_row_accumulates_across_calls():
    f = eagerlab.function(_add_)
    x = eagerlab.zeros(3)
    f(x)
    f(x)
    np.testing.assert_array_equal(x.numpy(), [2.0, 2.0, 2.0])
    base = eagerlab.zeros(2, 3)
    f(base[1])  # the argument is itself a view: the write lands in the caller's base
    np.testing.assert_array_equal(base.numpy(), [[0, 0, 0], [1, 1, 1]])


def test_a_view_of_a_captured_tensor_written_in_place_reaches_it():
    w = eagerlab.zeros(3)

    @eagerlab.function
    def f(a):
        with eagerlab.no_grad():
            w[1:].add_(a)
        return a * 2

    f(eagerlab.ones(2))
    f(eagerlab.ones(2))
    np.testing.assert_array_equal(w.numpy(), [0.0, 2.0, 2.0])


def test_writes_into_arguments_with_gradients():
    # a buffer argument updated in place while the loss needs gradients: both are right, call after call
    def step(x, w):
        x.add_(1)
        return (x * w).sum()

    x, w = eagerlab.zeros(3), eagerlab.ones(3, requires_grad=True)
    f = eagerlab.function(step)
    for _ in range(2):
        f(x, w).backward()
    np.testing.assert_array_equal(x.numpy(), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 3.0, 3.0])  # 1 then 2

    def stale(x, w):  # backward needs x as it was: eagerly an error, and compiled too (not a silent wrong grad)
        loss = (x * w).sum()
        x.add_(1)
        return loss

    for fn in (stale, eagerlab.function(stale)):
        with pytest.raises(eagerlab.errors.AutogradError, match="modified by an inplace operation"):
            fn(eagerlab.zeros(3), eagerlab.ones(3, requires_grad=True)).backward()
    for fn in (_add_, eagerlab.function(_add_)):  # a leaf that requires grad cannot be written in place
        with pytest.raises(eagerlab.errors.AutogradError, match="leaf Variable that requires grad"):
            fn(eagerlab.ones(2, requires_grad=True))

    def stale_through_a_view(x, w):  # the write goes through a view of x: the same version counter, as eagerly
        loss = (x * w).sum()
        x.reshape(-1)[1:].add_(1)
        return loss

    def into_a_view_with_grad(x, w):  # an in-place op autograd must track, on a view: not supported, as eagerly
        x[0].add_(w)
        return x.sum()

    for fn in (stale_through_a_view, eagerlab.function(stale_through_a_view)):
        with pytest.raises(eagerlab.errors.AutogradError, match="modified by an inplace operation"):
            fn(eagerlab.zeros(2, 3), eagerlab.ones(3, requires_grad=True)).backward()
    for fn in (into_a_view_with_grad, eagerlab.function(into_a_view_with_grad)):
        with pytest.raises(eagerlab.errors.UnsupportedError, match="not supported yet on views"):
            fn(eagerlab.zeros(2, 3), eagerlab.ones(3, requires_grad=True))


def test_a_write_into_an_expanded_view_is_refused_as_eagerly():
    def f(x):
        x.unsqueeze(0).expand(2, 3)[0].add_(1)
        return x

    with pytest.raises(ValueError, match="read-only"):
        f(eagerlab.ones(3))
    with pytest.raises(ValueError, match="read-only"):
        eagerlab.function(f)(eagerlab.ones(3))


def test_an_exported_function_writes_into_its_argument_as_eagerly(tmp_path):
    eagerlab.export(_into_a_slice, (eagerlab.zeros(2, 3),), str(tmp_path / "w.elx"))
    f = eagerlab.load_exported(str(tmp_path / "w.elx"))
    x = eagerlab.zeros(2, 3)
    np.testing.assert_array_equal(f(x).numpy(), [[0, 0, 0], [2, 2, 2]])
    np.testing.assert_array_equal(x.numpy(), [[0, 0, 0], [1, 1, 1]])
    pytest.importorskip("onnx")
    with pytest.raises(eagerlab.errors.UnsupportedError, match="writes in place into argument 0.*cannot write"):
        eagerlab.onnx.export(_into_a_slice, (eagerlab.zeros(2, 3),), str(tmp_path / "w.onnx"))
