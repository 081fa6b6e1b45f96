import numpy as np
import pytest

import eagerlab as el
from eagerlab import keras

init = keras.initializers


@pytest.mark.parametrize("name, expected_std", [
    ("glorot_uniform", np.sqrt(2 / (200 + 300))), ("glorot_normal", np.sqrt(2 / (200 + 300))),
    ("he_uniform", np.sqrt(2 / 200)), ("he_normal", np.sqrt(2 / 200)), ("lecun_normal", np.sqrt(1 / 200)),
    ("random_normal", 0.05), ("random_uniform", 0.1 / np.sqrt(12))])
def test_variance_follows_keras_fans(name, expected_std):
    el.manual_seed(1)
    values = init.get(name)((200, 300)).numpy()
    assert values.dtype == np.float32 and values.shape == (200, 300)
    assert values.std() == pytest.approx(expected_std, rel=0.03)


def test_truncated_normals_stay_within_two_standard_deviations():
    values = init.get("he_normal")((3, 3, 64, 32)).numpy()  # fan_in = 3 * 3 * 64
    std = np.sqrt(2 / (3 * 3 * 64)) / 0.87962566103423978
    assert np.abs(values).max() <= 2 * std


def test_constant_ones_zeros_orthogonal():
    np.testing.assert_array_equal(init.Constant(2.5)((2,)).numpy(), [2.5, 2.5])
    assert init.get("ones")((3,)).numpy().tolist() == [1, 1, 1]
    assert not init.get("zeros")((3,)).numpy().any()
    q = init.get("orthogonal")((4, 12)).numpy()
    np.testing.assert_allclose(q @ q.T, np.eye(4), atol=1e-5)


def test_serialized_form_round_trips():
    original = init.VarianceScaling(scale=2.0, mode="fan_out", distribution="uniform")
    again = init.get(init.serialize(original))
    assert type(again) is init.VarianceScaling and again.get_config() == original.get_config()
    assert init.get(init.serialize(init.HeNormal())).get_config() == {"seed": None}
