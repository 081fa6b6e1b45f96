"""keras.mixed_precision: policies, the global policy, layers keeping float32 variables while computing in the
low dtype, LossScaleOptimizer put in by compile for mixed_float16, and fits that learn as float32 ones do."""
import numpy as np
import pytest

import eagerlab as el
from eagerlab import keras
from eagerlab.keras import mixed_precision


@pytest.fixture(autouse=True)
def _float32_afterwards():
    yield
    mixed_precision.set_global_policy("float32")


def test_policies():
    p = mixed_precision.Policy("mixed_bfloat16")
    assert (p.name, p.compute_dtype, p.variable_dtype) == ("mixed_bfloat16", "bfloat16", "float32")
    assert mixed_precision.DTypePolicy("float16").variable_dtype == "float16"
    assert mixed_precision.global_policy().name == "float32"
    with pytest.raises(ValueError, match="mixed_float16"):
        mixed_precision.Policy("mixed_float8")


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_layers_compute_in_the_low_dtype_and_keep_float32_variables(policy):
    mixed_precision.set_global_policy(policy)
    dense = keras.layers.Dense(4)
    last = keras.layers.Dense(2, dtype="float32")
    assert dense.dtype_policy.name == policy and dense.dtype == "float32" and last.compute_dtype == "float32"
    x = el.randn(3, 5)
    h = dense(x)
    low = getattr(el, mixed_precision.Policy(policy).compute_dtype)
    assert h.dtype is low and dense.kernel.dtype is el.float32 and dense.kernel.requires_grad
    out = last(h)
    assert out.dtype is el.float32  # a float32 layer casts its inputs back
    out.sum().backward()
    assert dense.kernel.grad.dtype is el.float32 and dense.bias.grad.dtype is el.float32
    assert dense.get_config()["dtype"] == policy
    assert keras.layers.Dense.from_config(dense.get_config()).dtype_policy.name == policy


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 10)).astype(np.float32)
    y = (x[:, :3].sum(1) > 0).astype(np.int64) + (x[:, 3] > 1)
    return x, y


def _fit(policy):
    mixed_precision.set_global_policy(policy)
    el.manual_seed(0)
    model = keras.Sequential([keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(3, activation="softmax", dtype="float32")])
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", ["accuracy"])
    x, y = _data()
    history = model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    return model, history.history


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_a_mixed_fit_learns_as_the_float32_one(policy):
    _, reference = _fit("float32")
    model, history = _fit(policy)
    assert isinstance(model.optimizer, mixed_precision.LossScaleOptimizer) == (policy == "mixed_float16")
    assert all(w.dtype == "float32" for w in model.get_weights())
    assert history["accuracy"][-1] > 0.85
    assert abs(history["accuracy"][-1] - reference["accuracy"][-1]) < 0.03
    assert abs(history["loss"][-1] - reference["loss"][-1]) < 0.05


def test_loss_scale_optimizer_skips_overflowing_steps_and_adapts_its_scale():
    mixed_precision.set_global_policy("mixed_float16")
    el.manual_seed(0)
    model = keras.Sequential([keras.layers.Dense(3, activation="softmax", dtype="float32")])
    opt = mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.1), initial_scale=2.0 ** 20,
                                             dynamic_growth_steps=2)
    model.compile(opt, "sparse_categorical_crossentropy")
    x, y = _data()
    x[0, 0] = np.inf  # the first batch's gradients are not finite: that step is skipped and the scale halves
    model.fit(x[:64], y[:64], epochs=1, batch_size=32, shuffle=False, verbose=0)
    assert opt.dynamic_scale == 2.0 ** 19
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_a_saved_mixed_float16_model_loads_with_its_loss_scale_and_goes_on_training(tmp_path):
    mixed_precision.set_global_policy("mixed_float16")
    el.manual_seed(0)
    model = keras.Sequential([keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3, dtype="float32")])
    opt = mixed_precision.LossScaleOptimizer(keras.optimizers.Adam(0.01), initial_scale=2.0 ** 20,
                                             dynamic_growth_steps=3)
    model.compile(opt, "sparse_categorical_crossentropy")
    x, y = _data()
    model.fit(x[:160], y[:160], epochs=1, batch_size=32, shuffle=False, verbose=0)
    assert opt.dynamic_scale < 2.0 ** 20  # float16 gradients overflowed at 2**20: the scale backed off
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.optimizer, mixed_precision.LossScaleOptimizer)
    assert loaded.optimizer.scaler.state_dict() == opt.scaler.state_dict()
    assert loaded.optimizer.get_config() == opt.get_config()
    model.fit(x[:64], y[:64], epochs=1, batch_size=32, shuffle=False, verbose=0)
    loaded.fit(x[:64], y[:64], epochs=1, batch_size=32, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
