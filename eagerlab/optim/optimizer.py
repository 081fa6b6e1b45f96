"""Optimizer: parameter groups, per-parameter state, zero_grad, step hooks and PyTorch-layout state dicts.

The built-in optimizers update the raw arrays (`p._data`) with in-place numpy/cupy ufuncs; autograd never sees the
update, so `step` needs no grad-mode switch. A subclass's `step` is wrapped once, at class creation, to run the
step hooks (PyTorch patches it at construction instead).
"""
import copy
import functools
import warnings
from collections import defaultdict

from .._tensor import Tensor
from ..autograd import enable_grad
from ..autograd.grad_slots import zero_grads
from ..autograd.hooks import _RemovableHandle
from ..autograd.interpreter import current
from ..backend import array_to_device
from ..backend.dtypes import is_floating_np
from ..errors import DeviceError, DTypeError, ShapeError, fmt_shape
from ._update import _new_step


class _RequiredParameter:
    """Marks a default that every parameter group must set (SGD's `lr` in older PyTorch, custom optimizers)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()
_SET_ERROR = ("optimizer parameters need to be organized in ordered collections, but the ordering of tensors in sets "
              "will change between runs. Please use a list instead.")


def _with_step_hooks(step):
    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        if type(self).step is not wrapper:  # a super().step() inside a subclass's step: its hooks ran outside
            return step(self, *args, **kwargs)
        # (inside @eagerlab.function the step becomes an effect of the graph; eagerly it runs now)
        return current().optimizer_step(self, functools.partial(_step_with_hooks, self), args, kwargs)

    def _step_with_hooks(self, *args, **kwargs):
        self._opt_called = True  # lets an LRScheduler warn when it is stepped before its optimizer
        if not (self._step_pre_hooks or self._step_post_hooks):
            return step(self, *args, **kwargs)
        for hook in list(self._step_pre_hooks):
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(f"{type(self).__name__}.step pre-hook {hook!r} must return None or a tuple "
                                       f"(new_args, new_kwargs), got {type(result).__name__}")
                args, kwargs = result
        out = step(self, *args, **kwargs)
        for hook in list(self._step_post_hooks):
            hook(self, args, kwargs)
        return out

    return wrapper


def _update_step(self, closure=None):
    """step() of an optimizer whose update is `_update(pool)` (pool None eagerly; see Optimizer._compiled_step)."""
    loss = self._closure_loss(closure)
    self._update(None)
    return loss


class Optimizer:
    """Base class of all optimizers. `params`: an iterable of Tensors, of (name, Tensor) pairs, or of dicts
    (parameter groups with their own options); `defaults`: the options a group does not set.

    The protocol every built-in optimizer follows: `_update(pool)` makes the in-place update of every parameter
    with a gradient, taking its temporaries from `_scratch(pool, ...)`, and `step = _update_step`. Eagerly pool is
    None; a compiled training step calls `_update` with a pool it keeps across runs (see _compiled_step), so one
    update serves both, with the same bits. Closure-driven optimizers (LBFGS, which re-evaluates the model several
    times per step) are the exception: they override `step(closure)` itself; @eagerlab.function refuses a step
    with a closure, and runs any other overridden step eagerly at its place in the graph."""

    # State entries shaped like their parameter; load_state_dict checks them (custom optimizers may list theirs).
    _param_shaped_state = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None:
            step.__doc__ = step.__doc__ or Optimizer.step.__doc__
            cls.step = _with_step_hooks(step)

    def __init__(self, params, defaults):
        self.defaults = defaults
        self._step_pre_hooks = []
        self._step_post_hooks = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            "but got a Tensor; wrap it in a list: [tensor]")
        if isinstance(params, (set, frozenset)):  # PyTorch lets a top-level set through; its order is not stable
            raise TypeError(_SET_ERROR)
        self.state = defaultdict(dict)
        self.param_groups = []
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"

    # ---- groups ----------------------------------------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group of parameters (a dict with "params" and any per-group options) to `param_groups`."""
        index = len(self.param_groups)
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"parameter group {index} has no 'params' key; got keys {sorted(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(_SET_ERROR)
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        if names:
            if len(names) != len(params):
                raise ValueError(f"parameter group {index}: all optimizer params should be with/without names. "
                                 "Some param names are missing")
            params = [p[1] for p in params]
            param_group["param_names"] = names
        for i, p in enumerate(params):
            self._check_param(p, index, i)
        param_group["params"] = params

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group {index} didn't specify a value of required optimization "
                                 f"parameter {name}")
            param_group.setdefault(name, default)

        if len({id(p) for p in params}) != len(params):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        for j, group in enumerate(self.param_groups):
            if ("param_names" in param_group) != ("param_names" in group):
                raise ValueError("all optimizer param groups should be with/without names. cannot add param group "
                                 f"{'with' if 'param_names' in param_group else 'without'} names to the optimizer")
            taken = {id(p) for p in group["params"]}
            for i, p in enumerate(params):
                if id(p) in taken:
                    raise ValueError(f"some parameters appear in more than one parameter group: parameter {i} "
                                     f"(shape {fmt_shape(p.shape)}) of group {index} is already in group {j}")
        self.param_groups.append(param_group)

    @staticmethod
    def _check_param(p, group, i):
        where = f"parameter {i} of group {group}"
        if not isinstance(p, Tensor):
            raise TypeError(f"optimizer can only optimize Tensors, but {where} is a {type(p).__name__}")
        if not p.is_leaf and not p._retains_grad:
            raise ValueError(f"can't optimize a non-leaf Tensor: {where} (shape {fmt_shape(p.shape)}) was computed "
                             f"by {type(p.grad_fn).__name__}; optimize the leaf it comes from, or use "
                             "t.detach().requires_grad_()")
        if not p.is_floating_point():
            raise DTypeError(f"optimizer can only optimize floating point Tensors, but {where} has dtype "
                             f"{p.dtype} (shape {fmt_shape(p.shape)})")

    # ---- gradients and the step ---------------------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Reset the gradients: drop them (default), or zero them in place with `set_to_none=False`."""
        zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    def step(self, closure=None):
        """Update the parameters once; `closure` re-evaluates the model and returns the loss (returned here)."""
        raise NotImplementedError(f"{type(self).__name__} must implement step(closure=None)")

    def _compiled_step(self, eager_step):
        """What a compiled graph runs where the traced code called step(): the optimizer's own `_update(pool)`
        (the update step() makes, with scratch arrays kept across runs) when it has one and step() is its own,
        else `eager_step()` (the step with its hooks). Step hooks registered after tracing still run: then the
        eager step runs."""
        owner = next((c for c in type(self).__mro__ if "_update" in c.__dict__), None)
        if owner is None or owner.__dict__.get("step") is not type(self).step:
            return eager_step
        pool = {}

        def run():
            if self._step_pre_hooks or self._step_post_hooks:
                return eager_step()
            self._opt_called = True
            self._update(pool)

        return run

    @staticmethod
    def _closure_loss(closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _grads(self, group):
        """(param, param array, grad array) for each parameter of `group` that has a gradient; None grads are
        skipped, as in PyTorch. The arrays of a 0-d parameter come as 1-element views: numpy ufuncs return
        scalars for 0-d inputs, which out= and in-place updates cannot use (see _like)."""
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            pa, ga = p._data, g._data
            if ga.shape != pa.shape or g._device is not p._device or ga.dtype != pa.dtype:
                self._bad_grad(group, p, g)
            if not pa.ndim:
                pa, ga = pa.reshape(1), ga.reshape(1)
            yield p, pa, ga

    def _bad_grad(self, group, p, g):
        # by identity: == on tensors (and on groups holding them) is elementwise
        where = f"{type(self).__name__}.step: parameter {_index_of(p, group['params'])} of group " \
                f"{_index_of(group, self.param_groups)}"
        if g._device is not p._device:
            raise DeviceError(f"{where} is on {p.device} but its grad is on {g.device}")
        if g._data.dtype != p._data.dtype:
            raise DTypeError(f"{where} has dtype {p.dtype} but its grad has dtype {g.dtype}")
        raise ShapeError(f"{where} has shape {fmt_shape(p.shape)} but its grad has shape {fmt_shape(g.shape)}")

    # ---- hooks ------------------------------------------------------------------------------------------------
    def register_step_pre_hook(self, hook):
        """hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs), run before each step."""
        self._step_pre_hooks.append(hook)
        return _RemovableHandle(self._step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        """hook(optimizer, args, kwargs), run after each step."""
        self._step_post_hooks.append(hook)
        return _RemovableHandle(self._step_post_hooks, hook)

    # ---- state dicts ------------------------------------------------------------------------------------------
    def state_dict(self):
        """{"state": {param index: {...}}, "param_groups": [{options..., "params": [indices]}]}, as in PyTorch.
        The state tensors are the live ones (copy or save them to snapshot)."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {(index[id(k)] if isinstance(k, Tensor) else k): dict(v) for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load a `state_dict()`: same number of groups and of parameters per group; state tensors are copied
        onto each parameter's device (and float ones to its dtype; 'step' stays a float32 CPU tensor)."""
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= state_dict.keys():
            got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"load_state_dict expects a dict with 'state' and 'param_groups' keys, got {got}")
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, but this optimizer has "
                             f"{len(self.param_groups)}")
        id_map = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"loaded state dict contains a parameter group that doesn't match the size of "
                                 f"optimizer's group: group {i} has {len(saved['params'])} parameters in the state "
                                 f"dict and {len(group['params'])} in the optimizer")
            id_map.update(zip(saved["params"], group["params"]))

        state = defaultdict(dict)
        for key, value in state_dict["state"].items():
            # JSON-based checkpoint formats turn the integer keys into strings
            k = int(key) if isinstance(key, str) and key.isdigit() else key
            if k in id_map:
                state[id_map[k]] = self._load_param_state(id_map[k], k, value)
            else:
                state[k] = copy.deepcopy(value)
        for group, saved in zip(self.param_groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
        self.state, self.param_groups = state, saved_groups

    def _load_param_state(self, p, index, value):
        out = {}
        for key, v in value.items():
            if key == "step":
                # PyTorch keeps the step count a float32 CPU tensor (older checkpoints store a number)
                v = _new_step(v._host() if isinstance(v, Tensor) else v)
            elif isinstance(v, Tensor):
                if key in self._param_shaped_state and v._data.shape != p._data.shape:
                    raise ShapeError(f"load_state_dict: state[{index}][{key!r}] has shape {fmt_shape(v.shape)} but "
                                     f"parameter {index} has shape {fmt_shape(p.shape)}")
                arr = array_to_device(v._data, p._device)
                arr = arr.astype(p._data.dtype if is_floating_np(arr.dtype) else arr.dtype, copy=True)
                v = Tensor._make(arr, p._device)
            else:
                v = copy.deepcopy(v)
            out[key] = v
        return out


def _index_of(item, items):
    return next(i for i, x in enumerate(items) if x is item)
