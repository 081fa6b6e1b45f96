"""How eagerlab.save takes a whole nn.Module apart and eagerlab.load puts it back, without pickle
(torch.save(model, f) / torch.load(f)).

A Module is saved as its class's name and four groups: its parameters, buffers and child modules (by name, in
order) and its other attributes (the rest of its __dict__: training, hyperparameters, tensors kept as plain
attributes, an activation function held by name). Loading makes the instance with `cls.__new__(cls)`, sets up
Module's own bookkeeping, and fills it in; the class's `__init__` never runs. A Parameter inside a Module is saved
as its data and requires_grad, once however many modules hold it, so tied weights load tied."""
from .._tensor import Tensor
from ..errors import SerializationError
from ..serialization._objects import register_object_type, trust
from . import functional
from .modules.module import Module
from .parameter import Parameter

_REGISTRIES = {"parameters": "_parameters", "buffers": "_buffers", "modules": "_modules"}
_BOOKKEEPING = {"training": bool, "_non_persistent_buffers_set": set, "_forward_pre_hooks": list,
                "_forward_hooks": list}


def _module_state(m):
    slots = [name for c in type(m).__mro__ for name in _slots(c) if name not in ("__dict__", "__weakref__")]
    if slots:
        raise SerializationError(f"save: cannot save a {type(m).__name__}: its class declares __slots__ "
                                 f"({', '.join(slots)}), which eagerlab.save does not save yet; save its "
                                 "state_dict(), or keep those attributes in the instance __dict__")
    d = m.__dict__
    state = {group: d[registry] for group, registry in _REGISTRIES.items()}
    state["attributes"] = {k: v for k, v in d.items() if k not in _REGISTRIES.values()}
    return state


def _slots(cls):
    slots = cls.__dict__.get("__slots__", ())
    return (slots,) if isinstance(slots, str) else slots


def _new_module(cls):
    m = cls.__new__(cls)
    Module.__init__(m)  # Module's own bookkeeping only: the subclass's __init__ is not run
    return m


def _restore_module(m, state):
    _check(state["parameters"], Parameter, "parameter")
    _check(state["buffers"], Tensor, "buffer")
    _check(state["modules"], Module, "child module")
    attributes = state["attributes"]
    for name, kind in _BOOKKEEPING.items():
        if name in attributes and type(attributes[name]) is not kind:
            raise TypeError(f"attribute {name!r} must be a {kind.__name__}, got {type(attributes[name]).__name__}")
    for name in attributes.get("_non_persistent_buffers_set", ()):
        if name not in state["buffers"]:
            raise ValueError(f"non-persistent buffer {name!r} is not one of the buffers")
    names = {}
    for group in ("parameters", "buffers", "modules", "attributes"):
        for name in state[group]:
            if name in names or name in _REGISTRIES.values():
                raise ValueError(f"{name!r} is both {names.get(name, 'a registry')} and one of the {group}")
            names[name] = f"one of the {group}"
    for group, registry in _REGISTRIES.items():
        getattr(m, registry).update(state[group])
    m.__dict__.update(attributes)


def _check(entries, kind, what):
    for name, value in entries.items():
        if value is not None and not isinstance(value, kind):
            raise TypeError(f"{what} {name!r} must be a {kind.__name__} or None, got {type(value).__name__}")


def _parameter_state(p):
    return {"attributes": {"data": p.detach(), "requires_grad": p.requires_grad}}


def _rebuild_parameter(cls, state):
    data, requires_grad = state["attributes"].get("data"), state["attributes"].get("requires_grad")
    if type(data) is not Tensor or type(requires_grad) is not bool or len(state["attributes"]) != 2:
        raise TypeError("a Parameter's state must be its data (a Tensor) and requires_grad (a bool)")
    return Parameter.__new__(cls, data, requires_grad)  # Parameter's own constructor, not the subclass's


# Parameter first: it is a Tensor, and a Module never is, so the order only documents which is more specific.
register_object_type(Parameter, ("attributes",), _parameter_state, rebuild=_rebuild_parameter, nested_only=True)
register_object_type(Module, ("parameters", "buffers", "modules", "attributes"), _module_state, new=_new_module,
                     restore=_restore_module)
# Layers hold these by reference (TransformerEncoderLayer's activation=F.relu): files may name them.
trust(*(getattr(functional, name) for name in functional.__all__ if callable(getattr(functional, name))))
