"""Layer paths in error messages: a shape error raised inside `model(x)` names the layer that raised it by its
path in the model, e.g. `fc2 (Linear 128->10) expected input (..., 128), got (32, 256)`.

The innermost Module.__call__ the error passes through marks it with its layer; each enclosing call prepends
the name under which it holds the previous one; the outermost call rewrites the message once.
"""
import threading

_state = threading.local()


class call_depth:
    """Counts nested Module calls in this thread (the context value is the depth, 1 for the outermost)."""

    __slots__ = ("depth",)

    def __enter__(self):
        self.depth = getattr(_state, "depth", 0) + 1
        _state.depth = self.depth
        return self.depth

    def __exit__(self, *exc):
        _state.depth = self.depth - 1


def _name_of(parent, child):
    for name, m in parent._modules.items():
        if m is child:
            return name
    for name, m in parent.named_modules():  # called a grandchild directly
        if m is child and name:
            return name
    return None


def annotate_layer_error(error, module, outermost):
    if getattr(error, "_layer_done", False):
        return
    if not hasattr(error, "_layer"):
        error._layer, error._layer_path, error._layer_last = module, [], module
    elif error._layer_last is not module:
        name = _name_of(module, error._layer_last)
        if name is not None:
            error._layer_path.insert(0, name)
        error._layer_last = module
    if outermost and error.args:
        layer, path = error._layer, ".".join(error._layer_path)
        prefix = f"{path} ({layer._describe()}) " if path else f"{layer._describe()}: "
        error.args = (prefix + str(error.args[0]),) + error.args[1:]
        error._layer_done = True
