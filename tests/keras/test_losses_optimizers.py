"""keras.losses against Keras's formulas (numpy), keras.optimizers: Keras's defaults and names over eagerlab's."""
import numpy as np
import pytest

import eagerlab as el
from eagerlab import nn
from eagerlab.errors import ShapeError, UnsupportedError
from eagerlab.keras import losses, optimizers

rng = np.random.default_rng(0)
P = rng.dirichlet(np.ones(4), size=6).astype(np.float32)  # probabilities, rows sum to 1
Y = np.array([0, 3, 1, 1, 2, 0])
EPS = 1e-7


def _value(t):
    return float(t.item())


@pytest.mark.parametrize("name,y_true,want", [
    ("sparse_categorical_crossentropy", Y, -np.log(np.clip(P[np.arange(6), Y], EPS, 1 - EPS)).mean()),
    ("categorical_crossentropy", np.eye(4)[Y], -np.log(np.clip(P[np.arange(6), Y], EPS, 1 - EPS)).mean()),
    ("mse", np.eye(4)[Y], ((P - np.eye(4)[Y]) ** 2).mean()),
    ("mae", np.eye(4)[Y], np.abs(P - np.eye(4)[Y]).mean()),
])
def test_losses_by_name_match_keras_formulas(name, y_true, want):
    assert _value(losses.get(name)(y_true, P)) == pytest.approx(want, rel=1e-5)


def test_binary_crossentropy_clips_probabilities_and_averages_the_last_axis():
    p = np.array([[0.9, 0.0], [0.2, 1.0]], np.float32)
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    q = np.clip(p, EPS, 1 - EPS)
    want = (-(y * np.log(q) + (1 - y) * np.log(1 - q))).mean()
    assert _value(losses.get("binary_crossentropy")(y, p)) == pytest.approx(want, rel=1e-5)


def test_from_logits_equals_the_probability_form():
    logits = rng.standard_normal((6, 4)).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    a = losses.SparseCategoricalCrossentropy(from_logits=True)(Y, logits)
    b = losses.SparseCategoricalCrossentropy()(Y, probs.astype(np.float32))
    assert _value(a) == pytest.approx(_value(b), rel=1e-5)


def test_sample_weight_sums_over_the_batch_size_as_keras():
    per = -np.log(P[np.arange(6), Y])
    w = np.array([1, 0, 2, 0, 1, 1], np.float32)
    got = losses.SparseCategoricalCrossentropy()(Y, P, sample_weight=w)
    assert _value(got) == pytest.approx((per * w).sum() / 6, rel=1e-5)


def test_labels_of_shape_n_match_predictions_of_shape_n_1():
    y, p = np.array([1.0, 2.0]), np.array([[1.5], [2.0]], np.float32)
    assert _value(losses.get("mse")(y, p)) == pytest.approx(0.125)
    with pytest.raises(ShapeError, match="mean_squared_error: y_true of shape \\(3,\\) and y_pred of shape"):
        losses.get("mse")(np.ones(3), p)


def test_loss_config_round_trip_and_unknown_names():
    loss = losses.Huber(delta=2.0)
    again = losses.get(losses.serialize(loss))
    assert type(again) is losses.Huber and again.delta == 2.0
    with pytest.raises(ValueError, match="Could not interpret loss identifier: 'nope'"):
        losses.get("nope")


def test_optimizers_take_keras_defaults_and_build_eagerlab_optimizers():
    model = nn.Linear(3, 2)
    adam = optimizers.get("adam")
    torch_adam = adam.build(model.parameters())
    assert isinstance(torch_adam, el.optim.Adam) and torch_adam.defaults["eps"] == 1e-7
    assert adam.build(model.parameters()) is torch_adam  # built once
    assert optimizers.get("sgd").learning_rate == 0.01
    rms = optimizers.RMSprop(learning_rate=0.01, rho=0.8).build(model.parameters())
    assert rms.defaults["alpha"] == 0.8 and rms.defaults["eps"] == 1e-7
    adam.learning_rate = 0.5
    assert torch_adam.param_groups[0]["lr"] == 0.5


def test_optimizer_config_round_trip_and_errors():
    sgd = optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True)
    again = optimizers.get(optimizers.serialize(sgd))
    assert type(again) is optimizers.SGD and again.get_config() == sgd.get_config()
    with pytest.raises(TypeError, match="unexpected arguments \\['betas'\\]"):
        optimizers.Adam(betas=(0.9, 0.99))
    with pytest.raises(UnsupportedError, match="clipnorm / clipvalue"):
        optimizers.Adam(clipnorm=1.0)
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier"):
        optimizers.get("adamax")


def test_precision_recall_auc_mae_by_name_match_numpy_over_batches():
    from eagerlab.keras import metrics

    rng = np.random.default_rng(1)
    y = (rng.random(50) > 0.5).astype(np.float32).reshape(-1, 1)
    p = np.clip(y * 0.6 + rng.random((50, 1)) * 0.5, 0, 1).astype(np.float32)
    found = {}
    for name in ("precision", "recall", "auc", "mae"):
        m = metrics.get(name)
        for start in (0, 20, 40):  # batches of 20, 20, 10
            m.update_state(el.tensor(y[start:start + 20]), el.tensor(p[start:start + 20]))
        found[m.name] = m.result()
    pred = p > 0.5
    assert found["precision"] == pytest.approx((pred & (y == 1)).sum() / pred.sum())
    assert found["recall"] == pytest.approx((pred & (y == 1)).sum() / (y == 1).sum())
    assert found["mae"] == pytest.approx(np.abs(p - y).mean(), rel=1e-5)
    pos, neg = p[y == 1], p[y == 0]
    exact_auc = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    assert found["auc"] == pytest.approx(exact_auc, abs=0.01)  # 200 thresholds: close to the exact area
