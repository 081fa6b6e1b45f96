"""`eagerlab.amp.GradScaler`: dynamic loss scaling for float16 training, with PyTorch's API and arithmetic.

float16 gradients underflow to zero below ~6e-8; scaling the loss by a large factor moves them into range, and the
scaler divides them back before the optimizer sees them. A step whose gradients hold an inf or NaN (the scale was too
large) is skipped and the scale backs off; after `growth_interval` clean steps it grows again. The scale is kept in
float32 and updated with PyTorch's formulas, so a run gives the same scale sequence as `torch.amp.GradScaler`.
"""
import warnings

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..autograd.interpreter import Interpreter, current, installed
from ..backend import Device, cuda_available
from ..backend.dtypes import float16, float32
from ..ops.creation import full

_READY, _UNSCALED, _STEPPED = 0, 1, 2


def _all_finite(optimizer):
    """Whether every gradient of the optimizer's parameters is finite (read now: at the step, also in a compiled
    training step, where this runs when the graph reaches the step)."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            g = p.grad
            if g is not None and not bool(g._device.xp.isfinite(g._data).all()):
                return False
    return True


class _ScaledStep:
    """What the interpreter's optimizer_step sees of `GradScaler.step(optimizer)`: the optimizer's parameters
    (a compiled step stores their gradients before the step) and, as the step to run, the scaler's."""

    def __init__(self, optimizer):
        self.param_groups = optimizer.param_groups

    def _compiled_step(self, eager_step):
        return eager_step


class GradScaler:
    """Loss scaling: `scaler.scale(loss).backward(); scaler.step(optimizer); scaler.update()`."""

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self._device = Device(device)
        if enabled and self._device.type == "cuda" and not cuda_available():
            warnings.warn("eagerlab.amp.GradScaler is enabled, but CUDA is not available.  Disabling.",
                          UserWarning, stacklevel=2)
            enabled = False
        self._enabled = bool(enabled)
        if self._enabled:
            if growth_factor <= 1.0:
                raise ValueError(f"GradScaler: growth_factor must be > 1.0, got {growth_factor}")
            if not 0.0 < backoff_factor < 1.0:
                raise ValueError(f"GradScaler: backoff_factor must be in (0, 1), got {backoff_factor}")
            if int(growth_interval) != growth_interval or growth_interval <= 0:
                raise ValueError(f"GradScaler: growth_interval must be a positive int, got {growth_interval!r}")
        self._init_scale, self._growth_factor = float(init_scale), float(growth_factor)
        self._backoff_factor, self._growth_interval = float(backoff_factor), int(growth_interval)
        self._scale = None  # a float32 0-d tensor on the device, made at the first scale()
        self._growth_tracker = 0  # clean steps since the last change of the scale
        self._stages = {}  # id(optimizer) -> _READY / _UNSCALED / _STEPPED (the order of the calls, checked)
        self._found_inf = {}  # id(optimizer) -> whether its last step met an inf/NaN gradient (set as it steps)

    # ---- scaling ------------------------------------------------------------------------------------------------
    # Everything that reads a value (is a gradient finite? the next scale) happens in Python at the optimizer step
    # and in update(), both handed to the interpreter (optimizer_step, deferred_call): eagerly they run now, and in
    # an @eagerlab.function training step they run at their place in every run, so a compiled step scales too.
    def scale(self, outputs):
        """outputs (a tensor, or a list/tuple of them) times the current scale; unchanged when disabled."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            return outputs * self._scale_on(outputs._device)
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        raise TypeError(f"GradScaler.scale: outputs must be a Tensor or an iterable of Tensors, got "
                        f"{type(outputs).__name__}")

    def _scale_on(self, device):
        if self._scale is None or self._scale._device is not device:
            with installed(Interpreter()):  # real state, also when first asked inside a trace (then captured)
                self._scale = full((), self._init_scale if self._scale is None else self._scale.item(),
                                   dtype=float32, device=device)
        return self._scale

    def _stage(self, optimizer):
        return self._stages.get(id(optimizer), _READY)

    def unscale_(self, optimizer):
        """Divide the optimizer's gradients by the scale, in place. Call it before clipping gradients; step()
        calls it when you have not."""
        if not self._enabled:
            return
        stage = self._stage(optimizer)
        if stage == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if stage == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        if self._scale is None:
            raise RuntimeError("GradScaler.unscale_: no scale yet; call scaler.scale(loss).backward() first")
        with no_grad():
            inv_scale = self._scale.double().reciprocal().float()  # as PyTorch: the reciprocal in float64
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        if p.grad.dtype is float16:
                            raise ValueError("Attempting to unscale FP16 gradients.")
                        p.grad.mul_(inv_scale)
        self._stages[id(optimizer)] = _UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """unscale_ if not done, then optimizer.step(*args, **kwargs) unless a gradient is inf or NaN (the
        step is skipped). Returns what optimizer.step returned, or None when skipped."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        if self._stage(optimizer) == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if self._stage(optimizer) == _READY:
            self.unscale_(optimizer)
        self._stages[id(optimizer)] = _STEPPED

        def step_unless_inf():
            found = not _all_finite(optimizer)
            self._found_inf[id(optimizer)] = found
            return None if found else optimizer.step(*args, **kwargs)

        return current().optimizer_step(_ScaledStep(optimizer), step_unless_inf, (), {})

    def update(self, new_scale=None):
        """Set the scale for the next iteration: `new_scale` if given, else back off after a step with inf/NaN
        gradients, grow after growth_interval clean steps (PyTorch's _amp_update_scale_)."""
        if not self._enabled:
            return
        self._stages.clear()
        current().deferred_call("GradScaler.update", self._update_now, (new_scale,), {})

    def _update_now(self, new_scale):
        if new_scale is not None:
            self._set_scale(new_scale.item() if isinstance(new_scale, Tensor) else float(new_scale))
        elif self._scale is not None:
            if any(self._found_inf.values()):
                self._set_scale(self.get_scale() * self._backoff_factor)
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    grown = float(np.float32(self.get_scale() * self._growth_factor))
                    if np.isfinite(grown):
                        self._set_scale(grown)
                    self._growth_tracker = 0
        self._found_inf.clear()

    def _set_scale(self, value):
        value = float(np.float32(value))  # the scale is a float32, as PyTorch's
        if self._scale is None:
            self._init_scale = value
        else:
            with no_grad():
                self._scale.fill_(value)  # in place: a compiled step captured this tensor

    # ---- inspection and state ------------------------------------------------------------------------------
    def get_scale(self):
        """The current scale as a Python float (1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else self._scale.item()

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = int(new_interval)

    def is_enabled(self):
        return self._enabled

    def state_dict(self):
        """{scale, growth_factor, backoff_factor, growth_interval, _growth_tracker}; empty when disabled."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a disabled "
                               "instance of GradScaler.")
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])
        self._set_scale(float(state_dict["scale"]))

    def __repr__(self):
        return (f"GradScaler(device='{self._device}', scale={self.get_scale()}, enabled={self._enabled}, "
                f"growth_interval={self._growth_interval})")
