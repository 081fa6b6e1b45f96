"""The compiled train step gives the eager step's bits, traces once for every batch size, weights samples."""
import numpy as np
import pytest

import eagerlab
import eagerlab.nn as nn
import eagerlab.optim as optim
from eagerlab.training.step import is_finite, make_eval_step, make_train_step, reduce_loss


def _setup(run_eagerly, clip=None, reduction="mean"):
    eagerlab.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    step = make_train_step(model, nn.CrossEntropyLoss(reduction=reduction), opt, clip_grad_norm=clip,
                           run_eagerly=run_eagerly)
    return model, step


def _batch(i, n):
    rng = np.random.default_rng(i)
    return (eagerlab.tensor(rng.standard_normal((n, 6)).astype(np.float32)), eagerlab.tensor(rng.integers(0, 3, n)),
            eagerlab.tensor(rng.uniform(0.5, 2.0, n).astype(np.float32)))


def _bits(model):
    return [p.detach().numpy().tobytes() for p in model.parameters()]


@pytest.mark.parametrize("clip", [None, 0.5])
def test_compiled_equals_eager_bits_with_one_trace_for_two_batch_sizes(clip):
    eager_model, eager = _setup(True, clip)
    model, compiled = _setup(False, clip)
    for i, n in enumerate([32, 32, 17, 32, 17]):
        x, y, _ = _batch(i, n)
        (want, want_out), (got, got_out) = eager(x, y), compiled(x, y)
        assert got.shape == () and got.numpy().tobytes() == want.numpy().tobytes(), f"loss of step {i}"
        assert got_out.shape == (n, 3) and got_out.numpy().tobytes() == want_out.numpy().tobytes()
        assert not got_out.requires_grad
    assert compiled.trace_count == 1 and eager.trace_count == 0
    assert _bits(model) == _bits(eager_model)


def test_sample_weight_is_a_weighted_mean_and_compiles_once():
    eager_model, eager = _setup(True, reduction="none")
    model, compiled = _setup(False, reduction="none")
    x, y, w = _batch(0, 32)
    per_sample = nn.CrossEntropyLoss(reduction="none")(model(x), y).detach().numpy().astype(np.float64)
    want = (per_sample * w.numpy()).sum() / w.numpy().sum()
    assert compiled(x, y, w)[0].item() == pytest.approx(want, rel=1e-6)
    eager(x, y, w)
    for i, n in enumerate([17, 32], 1):
        x, y, w = _batch(i, n)
        assert compiled(x, y, w)[0].numpy().tobytes() == eager(x, y, w)[0].numpy().tobytes()
    assert compiled.trace_count == 1 and _bits(model) == _bits(eager_model)


def test_keras_weighting_divides_by_the_batch_size():
    model = nn.Linear(6, 3)
    step = make_eval_step(model, nn.CrossEntropyLoss(reduction="none"), weighting="sum_over_batch_size")
    x, y, w = _batch(0, 8)
    per_sample = nn.CrossEntropyLoss(reduction="none")(model(x), y).detach().numpy().astype(np.float64)
    loss, out = step(x, y, w)
    assert loss.item() == pytest.approx((per_sample * w.numpy()).sum() / 8, rel=1e-6)
    assert out.shape == (8, 3) and not out.requires_grad and step.trace_count == 1


def test_eval_step_changes_nothing_and_matches_eager():
    model, _ = _setup(False)
    before = _bits(model)
    compiled = make_eval_step(model, nn.CrossEntropyLoss())
    eager = make_eval_step(model, nn.CrossEntropyLoss(), run_eagerly=True)
    for n in (32, 17):
        x, y, _ = _batch(n, n)
        (lc, oc), (le, oe) = compiled(x, y), eager(x, y)
        assert lc.numpy().tobytes() == le.numpy().tobytes() and oc.numpy().tobytes() == oe.numpy().tobytes()
    assert compiled.trace_count == 1 and _bits(model) == before and all(p.grad is None for p in model.parameters())


def test_is_finite_and_errors():
    assert is_finite(eagerlab.tensor(1.5)) and not is_finite(eagerlab.tensor(float("nan")))
    assert not is_finite(eagerlab.tensor(float("inf")))
    model, step = _setup(True)
    x, y, w = _batch(0, 4)
    with pytest.raises(ValueError, match="reduction='none'"):
        step(x, y, w)
    with pytest.raises(TypeError, match="batch dimension; got int"):
        make_train_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))(x, 3)
    with pytest.raises(ValueError, match="weighting must be one of"):
        make_eval_step(model, nn.CrossEntropyLoss(), weighting="sum")
    with pytest.raises(ValueError, match="clip_grad_norm must be positive"):
        make_train_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), clip_grad_norm=0)


def test_per_element_losses_are_averaged_per_sample_first():
    losses = eagerlab.tensor([[1.0, 3.0], [2.0, 2.0], [0.0, 8.0]])  # per-sample means 2, 2, 4
    w = eagerlab.tensor([1.0, 1.0, 2.0])
    assert reduce_loss(losses).item() == np.float32(8.0 / 3.0)
    assert reduce_loss(losses, w).item() == 12.0 / 4.0
    assert reduce_loss(losses, w, "sum_over_batch_size").item() == 12.0 / 3.0
    assert reduce_loss(eagerlab.tensor(0.5)).item() == 0.5
