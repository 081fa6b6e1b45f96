"""The functional API: keras.Input, layers called on KerasTensors, keras.Model(inputs, outputs): running, fitting,
shared layers, several inputs and outputs, summary shapes, config and file round trips, graph errors."""
import numpy as np
import pytest

import eagerlab as el
from eagerlab import keras

rng = np.random.default_rng(0)
X = rng.standard_normal((64, 6)).astype(np.float32)
Y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)


def _branchy():
    el.manual_seed(0)
    inp = keras.Input(shape=(6,))
    a = keras.layers.Dense(8, activation="relu")(inp)
    b = keras.layers.Dense(8, activation="tanh")(inp)
    out = keras.layers.Dense(2, activation="softmax")(keras.layers.Concatenate()([a, b]))
    return keras.Model(inp, out), (inp, a, b, out)


def test_a_layer_call_on_keras_tensors_records_shapes_instead_of_computing():
    model, (inp, a, b, out) = _branchy()
    assert isinstance(inp, keras.layers.symbolic.KerasTensor) and inp.shape == (None, 6)
    assert a.shape == (None, 8) and out.shape == (None, 2)
    assert type(model).__name__ == "Functional" and isinstance(model, keras.Model)
    assert [layer.name.split("_")[0] for layer in model.layers] == ["input", "dense", "dense", "concatenate", "dense"]


def test_the_model_computes_what_its_layers_compute():
    model, _ = _branchy()
    dense_a, dense_b, head = model.layers[1], model.layers[2], model.layers[4]
    h = np.concatenate([np.maximum(X @ dense_a.kernel.detach().numpy() + dense_a.bias.detach().numpy(), 0),
                        np.tanh(X @ dense_b.kernel.detach().numpy() + dense_b.bias.detach().numpy())], 1)
    logits = h @ head.kernel.detach().numpy() + head.bias.detach().numpy()
    want = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(model.predict(X, verbose=0), want, rtol=1e-5, atol=1e-6)


def test_fit_and_a_file_round_trip():
    model, _ = _branchy()
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy", ["accuracy"])
    history = model.fit(X, Y, epochs=10, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save("/tmp/_functional_test.keras")
    again = keras.models.load_model("/tmp/_functional_test.keras")
    assert type(again).__name__ == "Functional"
    np.testing.assert_array_equal(again.predict(X, verbose=0), model.predict(X, verbose=0))


def test_a_shared_layer_is_one_set_of_weights_called_twice():
    el.manual_seed(0)
    left, right = keras.Input(shape=(4,)), keras.Input(shape=(4,))
    shared = keras.layers.Dense(3)
    out = keras.layers.Add()([shared(left), shared(right)])
    model = keras.Model([left, right], out)
    assert model.count_params() == 15 and len(shared._inbound_nodes) == 2
    a, b = X[:5, :4], X[5:10, :4]
    w, bias = shared.kernel.detach().numpy(), shared.bias.detach().numpy()
    np.testing.assert_allclose(model([a, b]).detach().numpy(), a @ w + b @ w + 2 * bias, rtol=1e-5, atol=1e-6)
    again = type(model).from_config(model.get_config())
    assert len(again.layers) == 4 and again.count_params() == 15


def test_several_inputs_and_outputs_train_with_lists():
    el.manual_seed(0)
    a, b = keras.Input(shape=(3,)), keras.Input(shape=(3,))
    h = keras.layers.Concatenate()([a, b])
    out = keras.layers.Dense(2, activation="softmax")(h)
    model = keras.Model(inputs=[a, b], outputs=out)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit([X[:, :3], X[:, 3:]], Y, epochs=1, batch_size=16, verbose=0)
    assert model.predict([X[:, :3], X[:, 3:]], verbose=0).shape == (64, 2)


def test_summary_shows_each_layers_output_shape(capsys):
    model, _ = _branchy()
    model.summary()
    out = capsys.readouterr().out
    assert "(None, 16)" in out and "(None, 2)" in out and "Total params: 146" in out  # 2 x (6*8+8) + 16*2+2


def test_a_disconnected_graph_names_the_missing_input():
    a, b = keras.Input(shape=(3,), name="first"), keras.Input(shape=(3,), name="second")
    out = keras.layers.Add()([a, b])
    with pytest.raises(ValueError, match="Graph disconnected: .*'second'"):
        keras.Model(a, out)


def test_two_outputs_with_losses_by_name_weights_and_per_output_logs(tmp_path):
    el.manual_seed(0)
    inp = keras.Input(shape=(6,))
    h = keras.layers.Dense(8, activation="relu")(inp)
    cls = keras.layers.Dense(2, activation="softmax", name="cls")(h)
    reg = keras.layers.Dense(1, name="reg")(h)
    model = keras.Model(inp, [cls, reg])
    model.compile("adam", loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5}, metrics={"cls": ["accuracy"]})
    target = X[:, :1] * 2
    logs = model.evaluate(X, [Y, target], verbose=0, return_dict=True)
    assert list(logs) == ["loss", "cls_loss", "reg_loss", "cls_accuracy"]
    assert logs["loss"] == pytest.approx(logs["cls_loss"] + 0.5 * logs["reg_loss"], rel=1e-5)
    probs, values = model.predict(X, verbose=0)
    assert logs["reg_loss"] == pytest.approx(float(((values - target) ** 2).mean()), rel=1e-5)
    history = model.fit(X, [Y, target], epochs=5, batch_size=16, verbose=0)
    assert history.history["reg_loss"][-1] < history.history["reg_loss"][0]
    model.save(tmp_path / "two.keras")
    again = keras.models.load_model(tmp_path / "two.keras")
    assert again.evaluate(X, [Y, target], verbose=0, return_dict=True) == pytest.approx(
        model.evaluate(X, [Y, target], verbose=0, return_dict=True))
    with pytest.raises(ValueError, match="loss has 3 entries for 2 outputs"):
        model.compile("adam", loss=["mse", "mse", "mse"])


def test_train_on_batch_with_two_inputs():
    a, b = keras.Input(shape=(3,)), keras.Input(shape=(3,))
    model = keras.Model([a, b], keras.layers.Dense(2, activation="softmax")(keras.layers.Add()([a, b])))
    model.compile("sgd", "sparse_categorical_crossentropy", ["accuracy"])
    loss, acc = model.train_on_batch([X[:10, :3], X[:10, 3:]], Y[:10])
    assert np.isfinite(loss) and 0 <= acc <= 1
    assert model.predict_on_batch([X[:10, :3], X[:10, 3:]]).shape == (10, 2)
