"""Trainer(precision=...): Lightning's precision settings on eagerlab.amp.

"32-true" / "64-true": the module and the batches' floating tensors in float32 / float64. "16-mixed" /
"bf16-mixed": float32 weights, the steps run under eagerlab.autocast (float16 / bfloat16), and for float16 a
GradScaler scales the loss (in manual optimization too: manual_backward scales, the optimizers' step() unscales
and updates); its state goes into checkpoints, so a resumed fit scales as an uninterrupted one.
"16-true" / "bf16-true": the module and the batches in float16 / bfloat16 (no autocast, no scaler).
"""
import warnings
from contextlib import nullcontext

import eagerlab as el
from eagerlab.amp import GradScaler, autocast

_CANONICAL = ("32-true", "64-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true")
_LEGACY = {"32": "32-true", "64": "64-true", "16": "16-mixed", "bf16": "bf16-mixed"}
_TRUE_DTYPES = {"64-true": el.float64, "16-true": el.float16, "bf16-true": el.bfloat16}


def canonical(precision):
    """Lightning's spelling of a precision argument (32, "32", "16", "bf16", ... are its historical aliases)."""
    value = str(precision)
    if value in _CANONICAL:
        return value
    if value in _LEGACY:
        if value in ("16", "bf16"):
            warnings.warn(f"{precision!r} is supported for historical reasons but its usage is discouraged. "
                          f"Please set your precision to {_LEGACY[value]!r} instead!", UserWarning, stacklevel=3)
        return _LEGACY[value]
    raise ValueError(f"Trainer(precision={precision!r}) is not valid. Allowed precision values: "
                     f"{', '.join(_CANONICAL + tuple(_LEGACY))}")


class Precision:
    """What a precision setting does at each point of a training step."""

    def __init__(self, precision):
        self.name = canonical(precision)
        self.dtype = _TRUE_DTYPES.get(self.name)  # the module's dtype for the "-true" settings
        self.scaler = None
        self._unscaled = set()  # ids of the optimizers whose gradients are unscaled since the scaler's last update
        self._device_type = "cpu"

    @property
    def mixed(self):
        return self.name.endswith("-mixed")

    def setup(self, model):
        """At the start of a fit/validate/test/predict: the module in its dtype, the scaler for 16-mixed."""
        params = list(model.parameters())
        self._device_type = params[0].device.type if params else "cpu"
        if self.dtype is not None:
            model.to(self.dtype)
        if self.name == "16-mixed" and self.scaler is None:
            self.scaler = GradScaler(self._device_type)

    def forward_context(self):
        """The context training/validation/test/predict steps run in: autocast for the mixed settings."""
        if not self.mixed:
            return nullcontext()
        return autocast(self._device_type, dtype=el.float16 if self.name == "16-mixed" else el.bfloat16)

    def convert_input(self, batch):
        """The batch's floating tensors in the module's dtype (the "-true" settings), as Lightning converts them."""
        if self.dtype is None:
            return batch
        if isinstance(batch, el.Tensor):
            return batch.to(self.dtype) if batch.is_floating_point() else batch
        if isinstance(batch, (list, tuple)):
            return type(batch)(self.convert_input(b) for b in batch)
        if isinstance(batch, dict):
            return {k: self.convert_input(v) for k, v in batch.items()}
        return batch

    def backward(self, loss):
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def unscale(self, optimizer):
        """Before clipping or on_before_optimizer_step: the true gradients (once per step: manual optimization may
        clip, which unscales, before its optimizer step)."""
        if self.scaler is not None and id(optimizer) not in self._unscaled:
            self.scaler.unscale_(optimizer)
            self._unscaled.add(id(optimizer))

    def step(self, optimizer):
        if self.scaler is None:
            optimizer.step()
            return
        self.scaler.step(optimizer)  # skipped when a gradient is inf or NaN
        self.scaler.update()
        self._unscaled.clear()

    def state_dict(self):
        return {"precision": self.name, "scaler": self.scaler.state_dict() if self.scaler is not None else {}}

    def load_state_dict(self, state):
        if state.get("scaler") and self.scaler is not None:
            self.scaler.load_state_dict(state["scaler"])
