"""keras.Sequential / Model: compile, fit, evaluate, predict, summary, save / load_model, hook order, compiled fit ==
run_eagerly fit."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import eagerlab as el
from eagerlab import keras

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
rng = np.random.default_rng(0)
X = rng.standard_normal((100, 6)).astype(np.float32)
Y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1).astype(np.int64)


def _model(seed=0, **compile_kw):
    el.manual_seed(seed)
    model = keras.Sequential([keras.layers.Dense(16, activation="relu", input_shape=(6,)),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(**{"optimizer": "adam", "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"],
                     **compile_kw})
    return model


def test_fit_learns_and_history_has_keras_keys():
    model = _model(optimizer=keras.optimizers.Adam(learning_rate=0.02))
    history = model.fit(X, Y, epochs=20, batch_size=16, verbose=0, validation_split=0.2)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history.history["loss"]) == 20 and history.history["loss"][-1] < history.history["loss"][0]
    loss, acc = model.evaluate(X, Y, verbose=0)
    assert acc > 0.7 and isinstance(loss, float)
    assert model.evaluate(X, Y, verbose=0, return_dict=True) == {"loss": loss, "accuracy": acc}


def test_epoch_metrics_are_sample_weighted_means_over_the_epoch():
    model = _model()
    model.fit(X, Y, epochs=1, batch_size=32, verbose=0)  # 100 = 3 x 32 + 4: the last batch is small
    loss, acc = model.evaluate(X, Y, batch_size=32, verbose=0)
    probs = model.predict(X, verbose=0)
    want_acc = float((probs.argmax(1) == Y).mean())
    want_loss = float(-np.log(np.clip(probs[np.arange(100), Y], 1e-7, 1 - 1e-7)).mean())
    assert acc == pytest.approx(want_acc) and loss == pytest.approx(want_loss, rel=1e-5)


def test_compiled_fit_gives_the_bits_of_run_eagerly():
    compiled, eager = _model(), _model(run_eagerly=True)
    for m in (compiled, eager):
        el.manual_seed(1)
        m.fit(X, Y, epochs=2, batch_size=32, verbose=0)
    for a, b in zip(compiled.get_weights(), eager.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert compiled._steps["train"].trace_count == 1  # the short last batch did not retrace


def test_predict_and_call_on_numpy():
    model = _model()
    probs = model.predict(X[:7], verbose=0)
    assert isinstance(probs, np.ndarray) and probs.shape == (7, 3)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-6)
    np.testing.assert_allclose(model(X[:7]).detach().numpy(), probs, atol=1e-6)


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattr__(self, name):
        if name.startswith("on_"):
            return lambda *args, **kwargs: self.calls.append(name)
        raise AttributeError(name)


def test_fit_calls_the_hooks_in_keras_order():
    rec = Recorder()
    _model().fit(X[:20], Y[:20], epochs=2, batch_size=10, verbose=0, validation_data=(X[:5], Y[:5]),
                 callbacks=[rec])
    epoch = ["on_epoch_begin"] + ["on_train_batch_begin", "on_train_batch_end"] * 2 + [
        "on_test_begin", "on_test_batch_begin", "on_test_batch_end", "on_test_end", "on_epoch_end"]
    assert rec.calls == ["on_train_begin"] + epoch * 2 + ["on_train_end"]


def test_early_stopping_stops_fit():
    model = _model()
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=100)
    history = model.fit(X, Y, epochs=10, verbose=0, callbacks=[stop])
    assert len(history.history["loss"]) == 2


def test_summary_counts_parameters_as_keras(capsys):
    _model().summary()
    out = capsys.readouterr().out
    assert "(None, 16)" in out and "(None, 3)" in out
    assert "Total params: 163 (652.00 B)" in out and "Trainable params: 163" in out  # 6*16+16 + 16*3+3


def test_a_model_without_input_shape_builds_on_its_first_batch():
    model = keras.Sequential()
    model.add(keras.layers.Flatten())
    model.add(keras.layers.Dense(3, activation="softmax"))
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.fit(X.reshape(100, 2, 3), Y, epochs=1, verbose=0)
    assert model.built and model.count_params() == 21


def test_save_and_load_model_in_a_fresh_process(tmp_path):
    model = _model()
    model.fit(X, Y, epochs=1, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    np.save(tmp_path / "x.npy", X[:5])
    code = textwrap.dedent(f"""
        import numpy as np
        from eagerlab import keras
        m = keras.models.load_model({path!r})
        np.save({str(tmp_path / 'p.npy')!r}, m.predict(np.load({str(tmp_path / 'x.npy')!r}), verbose=0))
        m.fit(np.load({str(tmp_path / 'x.npy')!r}), np.zeros(5, dtype=np.int64), epochs=1, verbose=0)
    """)
    env = {**os.environ, "PYTHONPATH": ROOT}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), model.predict(X[:5], verbose=0), atol=1e-6)


def test_load_model_restores_compile_and_optimizer_state(tmp_path):
    model = _model()
    model.fit(X, Y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    assert again.compiled and type(again.optimizer) is keras.optimizers.Adam
    assert again.metrics_names == ["loss", "accuracy"]
    for m in (model, again):
        el.manual_seed(2)
        m.fit(X, Y, epochs=1, verbose=0)
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)  # the Adam moments came back too


def test_errors_say_what_to_do():
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(6,))])
    with pytest.raises(RuntimeError, match="You must call compile"):
        model.fit(X, Y)
    with pytest.raises(ValueError, match="layer named 'dense_x' is already in the model"):
        keras.Sequential([keras.layers.Dense(2, name="dense_x"), keras.layers.Dense(2, name="dense_x")])


def test_predict_compiles_once_for_every_batch_size():
    model = _model()
    model.predict(X, batch_size=32, verbose=0)  # 3 x 32 + 4
    model.predict(X[:7], batch_size=5, verbose=0)
    assert model._steps["predict"].trace_count == 1


def test_a_keras_model_is_an_eagerlab_module_export_included(tmp_path):
    model = _model()
    assert isinstance(model, el.nn.Module) and all(k.endswith((".kernel", ".bias")) for k in model.state_dict())
    el.export(model, (el.tensor(X[:4]),), str(tmp_path / "m.elx"))
    served = el.load_exported(str(tmp_path / "m.elx"))
    np.testing.assert_allclose(served(el.tensor(X[:4])).numpy(), model.predict(X[:4], verbose=0), atol=1e-6)


def test_evaluate_and_predict_leave_the_fit_history_alone():
    model = _model()
    model.fit(X, Y, epochs=2, verbose=0)
    model.evaluate(X, Y, verbose=0)
    model.predict(X, verbose=0)
    assert len(model.history.history["loss"]) == 2
