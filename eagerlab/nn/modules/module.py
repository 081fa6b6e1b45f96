"""Module: the base class of layers and models (PyTorch's nn.Module).

Attributes that are Parameters, Modules or registered buffers are tracked in `_parameters`, `_modules` and
`_buffers`; everything that walks a model (parameters(), state_dict(), to(), train()) goes through those dicts.
Here: calling (hooks), attribute registration, walking the tree, modes, printing; the bodies of what converts,
saves and restores the state as a whole (_apply and to, state_dict, load_state_dict) are in module_state.py.
"""
from collections import OrderedDict, namedtuple

from ..._tensor import Tensor
from ...autograd.grad_slots import zero_grads
from ...autograd.hooks import _RemovableHandle
from ...autograd.interpreter import current
from ...errors import DeviceError, DTypeError, IndexOutOfRange, ShapeError
from ...graph.protocols import TracedModule
from ..parameter import Parameter
from . import module_state
from ._call_context import annotate_layer_error, call_depth

_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])
_LAYER_ERRORS = (ShapeError, DTypeError, DeviceError, IndexOutOfRange)


@TracedModule.register  # what graph capture relies on (eagerlab.graph.protocols)
class Module:
    """Base class for all layers and models: subclass it, create submodules/parameters in __init__, and
    define forward()."""

    training: bool

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", [])
        object.__setattr__(self, "_forward_hooks", [])

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def compile(self, **options):
        """Compile forward with eagerlab.function (same options), in place; returns None, as PyTorch's does."""
        from ...graph.function import compiled_forward

        object.__setattr__(self, "forward", compiled_forward(self, options))

    # ---- calling ------------------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        return self._call_forward(self.forward, args, kwargs)

    def _call_forward(self, forward, args, kwargs):
        """__call__ with a given forward (AutoGraph passes the converted one): hooks, then forward."""
        current().note_module(self)  # (a compiled function's trace depends on this module's training flag)
        if self._forward_pre_hooks:
            for hook in tuple(self._forward_pre_hooks):
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        with call_depth() as depth:
            try:
                out = forward(*args, **kwargs)
            except _LAYER_ERRORS as e:
                annotate_layer_error(e, self, outermost=depth == 1)
                raise
        if self._forward_hooks:
            for hook in tuple(self._forward_hooks):
                result = hook(self, args, out)
                if result is not None:
                    out = result
        return out

    def register_forward_pre_hook(self, hook):
        """hook(module, args) -> None or new args; runs before forward."""
        self._forward_pre_hooks.append(hook)
        return _RemovableHandle(self._forward_pre_hooks, hook)

    def register_forward_hook(self, hook):
        """hook(module, args, output) -> None or a new output; runs after forward."""
        self._forward_hooks.append(hook)
        return _RemovableHandle(self._forward_hooks, hook)

    def _describe(self):
        """A short description for error messages, e.g. 'Linear 128->10'."""
        return type(self).__name__

    # ---- attribute registration -------------------------------------------------------------------------
    def __setattr__(self, name, value):
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' (nn.Parameter or "
                                "None expected)")
            params[name] = None
        elif isinstance(value, Module):
            if self.__dict__.get("_modules") is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name)
            self._modules[name] = value
        elif self.__dict__.get("_modules") is not None and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' (nn.Module or "
                                "None expected)")
            self._modules[name] = None
        elif self.__dict__.get("_buffers") is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' (Tensor or None "
                                "expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        self.__dict__.pop(name, None)
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __getattr__(self, name):  # only called when normal lookup fails
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        if name in self._parameters or name in self._buffers or name in self._modules:
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    def _check_new_name(self, kind, name):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if "." in name or name == "":
            raise KeyError(f"{kind} name can't contain \".\" or be empty, got {name!r}")
        if hasattr(self, name) and name not in self._parameters and name not in self._buffers and \
                name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name, param):
        """Add a Parameter (or None, a placeholder) under `name`."""
        self._check_new_name("parameter", name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' (nn.Parameter "
                            "or None required)")
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Add a tensor that is state but not a parameter (running stats); persistent ones go in state_dict."""
        self._check_new_name("buffer", name)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' (Tensor or None "
                            "required)")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        """Add a child module under `name` (what attribute assignment does)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_new_name("module", name)
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target):
        """The module at a dotted path ('encoder.layers.0'); '' is self."""
        mod = self
        for part in target.split(".") if target else ():
            if part not in mod._modules:
                raise AttributeError(f"{type(mod).__name__} has no submodule `{part}` (looking up '{target}')")
            mod = mod._modules[part]
        return mod

    def get_parameter(self, target):
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if name not in mod._parameters:
            raise AttributeError(f"`{name}` is not an nn.Parameter of {type(mod).__name__} (looking up '{target}')")
        return mod._parameters[name]

    # ---- walking the tree -------------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        if memo is None:
            memo = set()
        if remove_duplicate:
            if self in memo:
                return
            memo.add(self)
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, child in self._modules.items():
            if child is not None and child not in seen:
                seen.add(child)
                yield name, child

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, registry, prefix, recurse, remove_duplicate):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, value in getattr(mod, registry).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(name, Parameter) pairs; a parameter shared by several modules is listed once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ---- modes and gradients ----------------------------------------------------------------------------
    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        zero_grads(self.parameters(), set_to_none)

    def apply(self, fn):
        """Call fn on every submodule (children first) and then on self, e.g. for custom initialisation."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- device and dtype (the bodies are in module_state.py) -------------------------------------------
    def _apply(self, fn):
        """Convert every parameter (in place, so optimizers keep their references), grad and buffer."""
        return module_state.convert_in_place(self, fn)

    def to(self, *args, **kwargs):
        """to(device), to(dtype), to(device, dtype), to(tensor): floating parameters and buffers take the dtype."""
        return self._apply(module_state.to_converter(args, kwargs))

    def cpu(self):
        return self.to("cpu")

    def share_memory(self):
        """Move every parameter and buffer into shared memory (Tensor.share_memory_), so processes started
        afterwards train this same model (the hogwild pattern; gradients stay per process)."""
        return self._apply(lambda t: t.share_memory_())

    def cuda(self, device=None):
        return self.to("cuda" if device is None else (f"cuda:{device}" if isinstance(device, int) else device))

    def float(self):
        return self._apply(lambda t: t.float() if t.is_floating_point() else t)

    def double(self):
        return self._apply(lambda t: t.double() if t.is_floating_point() else t)

    def half(self):
        return self._apply(lambda t: t.half() if t.is_floating_point() else t)

    def bfloat16(self):
        return self._apply(lambda t: t.bfloat16() if t.is_floating_point() else t)

    # ---- state dict (the bodies are in module_state.py) -------------------------------------------------
    def state_dict(self, *, destination=None, prefix="", keep_vars=False):
        """An ordered name -> tensor mapping of parameters and persistent buffers (detached unless keep_vars)."""
        return module_state.state_dict(self, destination, prefix, keep_vars)

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values from `state_dict` into this module's parameters and buffers (in place).

        Returns (missing_keys, unexpected_keys); with strict=True either being non-empty is an error, as is
        any shape mismatch."""
        return _IncompatibleKeys(*module_state.load_state_dict(self, state_dict, strict, assign))

    # ---- printing ---------------------------------------------------------------------------------------
    def extra_repr(self):
        """The text inside this module's parentheses in repr (e.g. in_features=..., out_features=...)."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = [line for line in self.extra_repr().split("\n") if line]
        children = [f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in self._modules.items()]
        if len(extra) == 1 and not children:
            return f"{self._get_name()}({extra[0]})"
        if not extra and not children:
            return f"{self._get_name()}()"
        return f"{self._get_name()}(\n  " + "\n  ".join(extra + children) + "\n)"
