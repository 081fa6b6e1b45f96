"""model.save("x.keras") / keras.models.load_model: the architecture (the JSON config of registered classes), the
weights and the compile state (optimizer config and state, loss, metric names) in one eagerlab.save file. Loading
runs no code from the file: class names resolve only to registered classes (keras.saving)."""
import json
import os

from ...errors import SerializationError
from ...serialization import load, save
from .. import losses as keras_losses
from .. import optimizers as keras_optimizers
from ..saving import get_registered, get_registered_name

FORMAT = "eagerlab.keras"


def _check_path(filepath, overwrite, suffix):
    path = os.fspath(filepath)
    if not path.endswith(suffix):
        raise ValueError(f"the file name must end in {suffix}, got {path!r}")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    return path


def save_model(model, filepath, overwrite=True):
    path = _check_path(filepath, overwrite, ".keras")
    record = {"format": FORMAT, "version": 1,
              "config": json.dumps({"class_name": get_registered_name(type(model)), "config": model.get_config()}),
              "weights": model.state_dict(), "compile": ""}
    if model.compiled:
        record["compile"] = json.dumps({"optimizer": keras_optimizers.serialize(model.optimizer),
                                        "loss": keras_losses.serialize(model.loss),
                                        "metrics": [m.name for m in model._metrics[1:]]})
        if model.optimizer.torch_optimizer is not None:
            record["optimizer_state"] = model.optimizer.torch_optimizer.state_dict()
    save(record, path)


def load_model(filepath, custom_objects=None, compile=True):
    """The model saved at filepath: rebuilt from its config, with its weights (and compiled, as it was saved)."""
    path = os.fspath(filepath)
    record = load(path)
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise SerializationError(f"{path}: not a model saved by keras Model.save (no {FORMAT!r} record)")
    spec = json.loads(record["config"])
    cls = (custom_objects or {}).get(spec["class_name"]) or get_registered(spec["class_name"])
    model = cls.from_config(spec["config"])
    model.load_state_dict(record["weights"])
    if compile and record["compile"]:
        settings = json.loads(record["compile"])
        model.compile(optimizer=keras_optimizers.get(settings["optimizer"]), loss=keras_losses.get(settings["loss"]),
                      metrics=settings["metrics"])
        if "optimizer_state" in record:
            model.optimizer.build(p for p in model.parameters() if p.requires_grad).load_state_dict(
                record["optimizer_state"])
    return model


def save_weights(model, filepath, overwrite=True):
    save(model.state_dict(), _check_path(filepath, overwrite, ""))  # (any name: Keras's .weights.h5 included)


def load_weights(model, filepath):
    model.load_state_dict(load(os.fspath(filepath)))
