"""model.save("x.keras") / keras.models.load_model: the architecture (the JSON config of registered classes), the
weights and the compile state (optimizer config and state, a LossScaleOptimizer's scale, loss, metric names) in
one eagerlab.save file. Loading
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
        spec = model._compile_config
        losses = model.loss if isinstance(model.loss, list) else [model.loss]
        record["compile"] = json.dumps({"optimizer": keras_optimizers.serialize(model.optimizer),
                                        "loss": [keras_losses.serialize(fn) for fn in losses],
                                        "loss_weights": spec["loss_weights"],
                                        "metrics": _metric_names(spec["metrics"])})
        if model.optimizer.torch_optimizer is not None:
            record["optimizer_state"] = model.optimizer.torch_optimizer.state_dict()
        scaler = getattr(model.optimizer, "scaler", None)  # a LossScaleOptimizer's (mixed_float16): its scale
        if scaler is not None:
            record["loss_scale_state"] = scaler.state_dict()
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
        losses = [keras_losses.get(fn) for fn in settings["loss"]]
        model.compile(optimizer=keras_optimizers.get(settings["optimizer"]),
                      loss=losses if model._output_names() is not None else losses[0],
                      loss_weights=settings["loss_weights"], metrics=settings["metrics"])
        if "optimizer_state" in record or "loss_scale_state" in record:
            built = model.optimizer.build(p for p in model.parameters() if p.requires_grad)
            if "optimizer_state" in record:
                built.load_state_dict(record["optimizer_state"])
            if "loss_scale_state" in record:
                model.optimizer.scaler.load_state_dict(record["loss_scale_state"])
    return model


def _metric_names(spec):
    """compile's metrics argument with metric objects as their names (the file holds names, not code)."""
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, dict):
        return {k: _metric_names(v) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return [_metric_names(m) for m in spec]
    name = getattr(spec, "name", None)
    if name is None:
        raise ValueError(f"cannot save the metric {spec!r} in a model file: pass metrics by name or as "
                         "keras.metrics objects")
    return name


def save_weights(model, filepath, overwrite=True):
    save(model.state_dict(), _check_path(filepath, overwrite, ""))  # (any name: Keras's .weights.h5 included)


def load_weights(model, filepath):
    model.load_state_dict(load(os.fspath(filepath)))
