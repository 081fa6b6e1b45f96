"""keras.mixed_precision: dtype policies ("float32", "mixed_float16", "mixed_bfloat16", ...), the global policy,
and LossScaleOptimizer.

A layer's policy says which dtype its variables are kept in (variable_dtype) and which it computes in
(compute_dtype): under "mixed_float16" weights stay float32 (the optimizer updates float32 numbers) while the
layer casts its floating inputs and, for the length of its call, its weights to float16; autograd carries the
gradients back to the float32 weights through those casts. The loss is computed in float32. `Model.compile` wraps
the optimizer in a LossScaleOptimizer when the model's policy is "mixed_float16" (float16 gradients underflow
without loss scaling), as Keras does; its dynamic scaling is eagerlab.amp.GradScaler's.
"""
from ..amp import GradScaler
from .._tensor import Tensor
from ..backend.dtypes import LOW_PRECISION, as_dtype
from . import optimizers

_NAMES = {"float32": ("float32", "float32"), "float64": ("float64", "float64"), "float16": ("float16", "float16"),
          "bfloat16": ("bfloat16", "bfloat16"), "mixed_float16": ("float16", "float32"),
          "mixed_bfloat16": ("bfloat16", "float32")}


class DTypePolicy:
    """A layer's dtype policy: `DTypePolicy("mixed_float16")`; compute_dtype and variable_dtype are dtype names."""

    def __init__(self, name="float32"):
        if isinstance(name, DTypePolicy):
            name = name.name
        if not isinstance(name, str) or name not in _NAMES:
            raise ValueError(f"Cannot convert {name!r} to a mixed precision DTypePolicy. Valid policies include "
                             f"{', '.join(repr(n) for n in _NAMES)}.")
        self._name = name
        self._compute_dtype, self._variable_dtype = _NAMES[name]

    @property
    def name(self):
        return self._name

    @property
    def compute_dtype(self):
        return self._compute_dtype

    @property
    def variable_dtype(self):
        return self._variable_dtype

    @property
    def is_mixed(self):
        return self._compute_dtype != self._variable_dtype

    def get_config(self):
        return {"name": self._name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        return f'<DTypePolicy "{self._name}">'


Policy = DTypePolicy  # Keras 2's name

_GLOBAL = [DTypePolicy("float32")]


def set_global_policy(policy):
    """The policy layers created from now on take when they are given no dtype (None resets to "float32")."""
    _GLOBAL[0] = DTypePolicy("float32" if policy is None else policy)


def global_policy():
    return _GLOBAL[0]


set_dtype_policy, dtype_policy = set_global_policy, global_policy  # Keras 3's names


def get(dtype):
    """The policy for a layer's `dtype` argument: None (the global policy), a policy, a policy name, or a plain
    dtype (an eagerlab/numpy dtype or its name)."""
    if dtype is None:
        return global_policy()
    if isinstance(dtype, DTypePolicy):
        return dtype
    if isinstance(dtype, str) and dtype in _NAMES:
        return DTypePolicy(dtype)
    return DTypePolicy(as_dtype(dtype).name)


def float32_outputs(output):
    """A model's output(s) with 16-bit float tensors cast to float32 (what losses and metrics compute on)."""
    if isinstance(output, (list, tuple)):
        return type(output)(float32_outputs(o) for o in output)
    if isinstance(output, dict):
        return {k: float32_outputs(v) for k, v in output.items()}
    return output.float() if isinstance(output, Tensor) and output.dtype in LOW_PRECISION else output


@optimizers.register_config_class
class LossScaleOptimizer(optimizers.Optimizer):
    """An optimizer with dynamic loss scaling: the loss is multiplied by the scale before backward, the gradients
    divided by it before the update; a step with an inf or NaN gradient is skipped and halves the scale, and
    `dynamic_growth_steps` finite steps in a row double it."""

    def __init__(self, inner_optimizer, initial_scale=2.0 ** 15, dynamic_growth_steps=2000, name=None):
        self.inner_optimizer = optimizers.get(inner_optimizer)
        if isinstance(self.inner_optimizer, LossScaleOptimizer):
            raise ValueError("LossScaleOptimizer: the inner optimizer is already a LossScaleOptimizer")
        self.name = name or "loss_scale_optimizer"
        self.initial_scale, self.dynamic_growth_steps = float(initial_scale), int(dynamic_growth_steps)
        self.scaler = None  # the GradScaler, made when the optimizer is bound to the model's weights

    def build(self, params):
        params = list(params)
        if self.scaler is None:
            device = params[0].device if params else "cpu"
            self.scaler = GradScaler(device, init_scale=self.initial_scale, growth_interval=self.dynamic_growth_steps)
        return self.inner_optimizer.build(params)

    @property
    def torch_optimizer(self):
        return self.inner_optimizer.torch_optimizer

    @property
    def global_clipnorm(self):
        return self.inner_optimizer.global_clipnorm

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.inner_optimizer.learning_rate = value

    lr = learning_rate

    @property
    def dynamic_scale(self):
        return self.scaler.get_scale() if self.scaler is not None else self.initial_scale

    def get_config(self):
        return {"name": self.name, "inner_optimizer": optimizers.serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale, "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["inner_optimizer"] = optimizers.get(config["inner_optimizer"])
        return cls(**config)
