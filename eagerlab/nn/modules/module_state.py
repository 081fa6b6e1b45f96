"""A module's state as a whole (its parameters, their gradients, its buffers): converted in place by Module.to and
its shorthands (cpu, cuda, float, ..., share_memory, all through Module._apply), and saved and restored by
state_dict / load_state_dict (the mapping checked first: keys, types, shapes).

Module keeps the methods, so subclasses override them and state_dict walks a tree through each child's own
method; their bodies live here, as keras/models keeps Model's saving and loops beside model.py, so that module.py
holds what every module call and attribute access goes through.
"""
from collections import OrderedDict

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ...backend import as_dtype
from ...errors import fmt_shape
from ...ops.conversion import to_arguments
from ..parameter import Parameter


# ---- device and dtype ------------------------------------------------------------------------------------------
def convert_in_place(module, fn):
    """Module._apply: fn on every parameter (its data replaced in place, so optimizers keep their references), grad
    and buffer of the tree."""
    for mod in module.modules():
        with no_grad():
            for p in mod._parameters.values():
                if p is None:
                    continue
                new = fn(p)
                if new is not p:
                    p._data, p._device = new._data, new._device
                    p._bump()
                if p.grad is not None:
                    p.grad = fn(p.grad)
            for name, b in mod._buffers.items():
                if b is not None:
                    mod._buffers[name] = fn(b)
    return module


def to_converter(args, kwargs):
    """Module.to's arguments as the function _apply runs on each tensor: floating tensors take the dtype."""
    dtype, device = to_arguments(args, kwargs.get("dtype"), kwargs.get("device"))
    if dtype is not None:
        dtype = as_dtype(dtype)
        if not dtype.is_floating_point:
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}")

    def convert(t):
        if device is not None:
            t = t.to(device)
        return t.to(dtype) if dtype is not None and t.is_floating_point() else t

    return convert


# ---- state dict ------------------------------------------------------------------------------------------------
def state_dict(module, destination, prefix, keep_vars):
    """Module.state_dict: parameters, then persistent buffers, then each child's state_dict under its name."""
    out = OrderedDict() if destination is None else destination
    for name, p in module._parameters.items():
        if p is not None:
            out[prefix + name] = p if keep_vars else p.detach()
    for name, b in module._buffers.items():
        if b is not None and name not in module._non_persistent_buffers_set:
            out[prefix + name] = b if keep_vars else b.detach()
    for name, child in module._modules.items():
        if child is not None:
            child.state_dict(destination=out, prefix=f"{prefix}{name}.", keep_vars=keep_vars)
    return out


def load_state_dict(module, state_dict, strict, assign):
    """Module.load_state_dict: (missing keys, unexpected keys); every problem is reported at once, before anything
    is copied."""
    own = module.state_dict(keep_vars=True)
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    errors = []
    for key, target in own.items():
        if key not in state_dict:
            continue
        value = state_dict[key]
        if not isinstance(value, Tensor):
            errors.append(f'While copying the parameter named "{key}", expected a Tensor in the state dict, '
                          f"got {type(value).__name__}.")
        elif tuple(value.shape) != tuple(target.shape):
            errors.append(f"size mismatch for {key}: copying a param with shape {fmt_shape(value.shape)} from "
                          f"checkpoint, the shape in current model is {fmt_shape(target.shape)}.")
    if strict:
        if missing:
            errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        if unexpected:
            errors.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
    if errors:
        raise RuntimeError(f"Error(s) in loading state_dict for {type(module).__name__}:\n\t" + "\n\t".join(errors))
    with no_grad():
        for key, target in own.items():
            if key in state_dict:
                _load_one(module, key, target, state_dict[key], assign)
    return missing, unexpected


def _load_one(module, key, target, value, assign):
    path, _, name = key.rpartition(".")
    owner = module.get_submodule(path)
    if assign:
        if name in owner._parameters:
            owner._parameters[name] = Parameter(value.detach(), requires_grad=target.requires_grad)
        else:
            owner._buffers[name] = value.detach()
    else:
        target.copy_(value)
