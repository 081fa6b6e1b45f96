"""torch.onnx.export's keyword arguments for eagerlab.onnx.export: checked here, each with its meaning in eagerlab
(docs/onnx.md), so that a PyTorch script's call runs as written or stops with an error that says why."""
import contextlib
import enum

from ...errors import UnsupportedError

DEFAULT_OPSET = 17  # the oldest accepted: LayerNormalization is an opset-17 operator


class TrainingMode(enum.IntEnum):
    """torch.onnx.TrainingMode: the mode a Module is exported in (EVAL: switched to eval mode for the export)."""
    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


def opset(opset, opset_version):
    """`opset=` (eagerlab's name) or `opset_version=` (PyTorch's), not two different values."""
    if opset is not None and opset_version is not None and opset != opset_version:
        raise ValueError(f"onnx.export: opset={opset} and opset_version={opset_version} disagree; they are the same "
                         "setting: give one")
    chosen = opset if opset is not None else opset_version if opset_version is not None else DEFAULT_OPSET
    if chosen < DEFAULT_OPSET:
        raise ValueError(f"onnx.export: opset {chosen} is too old; LayerNormalization needs opset {DEFAULT_OPSET} "
                         "or newer")
    return chosen


def check_unsupported(export_params, keep_initializers_as_inputs):
    if not export_params:
        raise UnsupportedError("onnx.export: export_params=False is not supported yet: eagerlab always stores the "
                               "weights in the file, as initializers")
    if keep_initializers_as_inputs:
        raise UnsupportedError("onnx.export: keep_initializers_as_inputs=True is not supported yet: the weights "
                               "are initializers only, not also graph inputs")


@contextlib.contextmanager
def training_mode(model, training):
    """Trace a Module in the mode `training` asks for, restoring its own afterwards: EVAL (the default, as in
    PyTorch's signature) or False switch it to eval mode for the export; PRESERVE keeps its mode."""
    if training is True or training == TrainingMode.TRAINING:
        raise UnsupportedError("onnx.export: training=TrainingMode.TRAINING is not supported yet: eagerlab exports "
                               "inference graphs (eval-mode dropout and batch norm); use TrainingMode.EVAL")
    if training is None or training not in (False, TrainingMode.EVAL, TrainingMode.PRESERVE):
        raise ValueError(f"onnx.export: training must be TrainingMode.EVAL, TrainingMode.PRESERVE or False, got "
                         f"{training!r}")
    was_training = getattr(model, "training", None)
    switch = training != TrainingMode.PRESERVE and was_training is True and hasattr(model, "train")
    if switch:
        model.train(False)
    try:
        yield
    finally:
        if switch:
            model.train(was_training)


def dynamic_dims(dynamic_axes, dynamic_batch, in_names, in_ranks, out_names, out_ranks):
    """({axis: symbol} for each input, and for each output): from `dynamic_axes` when given ({name: {axis: symbol}}
    or {name: [axes]}, PyTorch's format and its automatic symbols `<name>_dynamic_axes_<k>`), else dim 0 of every
    input as "batch" when dynamic_batch."""
    if dynamic_axes is None:
        return [{0: "batch"} if dynamic_batch and rank else {} for rank in in_ranks], [{} for _ in out_ranks]
    if not isinstance(dynamic_axes, dict):
        raise TypeError(f"onnx.export: dynamic_axes must be a dict {{name: {{axis: dim name}} or [axes]}}, got "
                        f"{type(dynamic_axes).__name__}")
    ranks = dict(zip(out_names, out_ranks))
    ranks.update(zip(in_names, in_ranks))
    unknown = [name for name in dynamic_axes if name not in ranks]
    if unknown:
        raise ValueError(f"onnx.export: dynamic_axes names {unknown} are not inputs or outputs of the model; the "
                         f"inputs are {in_names} and the outputs {out_names} (input_names= and output_names= "
                         "rename them)")
    symbols = {name: _axis_symbols(name, axes, ranks[name]) for name, axes in dynamic_axes.items()}
    return [symbols.get(name, {}) for name in in_names], [symbols.get(name, {}) for name in out_names]


def _axis_symbols(name, axes, rank):
    if isinstance(axes, dict):
        pairs = list(axes.items())
    elif isinstance(axes, (list, tuple)):
        pairs = [(axis, f"{name}_dynamic_axes_{k + 1}") for k, axis in enumerate(axes)]
    else:
        raise TypeError(f"onnx.export: dynamic_axes[{name!r}] must be a dict {{axis: dim name}} or a list of axes, "
                        f"got {type(axes).__name__}")
    symbols = {}
    for axis, symbol in pairs:
        if isinstance(axis, bool) or not isinstance(axis, int) or not -rank <= axis < rank:
            raise ValueError(f"onnx.export: dynamic_axes[{name!r}] has axis {axis!r}, but {name!r} has {rank} "
                             f"dims (axes 0..{rank - 1})")
        if not isinstance(symbol, str) or not symbol:
            raise TypeError(f"onnx.export: dynamic_axes[{name!r}][{axis}] must be a dim name (a string), got "
                            f"{symbol!r}")
        symbols[axis % rank] = symbol
    return symbols
