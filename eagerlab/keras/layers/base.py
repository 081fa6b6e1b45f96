"""Layer: the Keras layer on eagerlab's nn.Module. Weights are created lazily by build(input_shape) on the first
call, laid out as Keras lays them out; call() computes with eagerlab ops, so autograd, hooks and graph capture
see an ordinary module."""
import functools
import inspect
import math
import re

import numpy as np

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ...autograd.interpreter import Interpreter, installed
from ...nn import Module, Parameter
from ...ops.creation import as_tensor
from ...errors import ShapeError
from ...backend.dtypes import LOW_PRECISION, as_dtype
from .. import initializers, mixed_precision, regularizers
from .symbolic import call_symbolic, is_symbolic

_NAME_COUNTS = {}


def _snake_case(name):
    """Keras's class-name -> layer-name rule: Dense -> dense, SimpleRNN -> simple_rnn, Conv2D -> conv2d."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(base):
    """base, base_1, base_2, ... in the order layers are created (Keras's naming)."""
    count = _NAME_COUNTS.get(base, 0)
    _NAME_COUNTS[base] = count + 1
    return base if count == 0 else f"{base}_{count}"


def reset_names():
    """Start layer names afresh (what keras.backend.clear_session does to them)."""
    _NAME_COUNTS.clear()


def _to_tensor(x, dtype):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (list, tuple)):
        return type(x)(_to_tensor(v, dtype) for v in x)
    array = np.asarray(x)
    if array.dtype.kind == "f":
        array = array.astype(dtype, copy=False)  # Keras computes in the layer's dtype whatever numpy hands it
    return as_tensor(array)


def _has_low_precision(x):
    if isinstance(x, (list, tuple)):
        return any(_has_low_precision(v) for v in x)
    return isinstance(x, Tensor) and x.dtype in LOW_PRECISION


def _cast_floats(x, dtype):
    if isinstance(x, (list, tuple)):
        return type(x)(_cast_floats(v, dtype) for v in x)
    return x.to(dtype) if isinstance(x, Tensor) and x.is_floating_point() and x.dtype is not dtype else x


def _shape_of(x):
    return [tuple(v.shape) for v in x] if isinstance(x, (list, tuple)) else tuple(x.shape)


def _marking_built(build):
    @functools.wraps(build)
    def build_and_mark(self, input_shape):
        result = build(self, input_shape)
        self.built = True
        return result

    return build_and_mark


class Layer(Module):
    """Base of Keras layers: subclasses implement build(input_shape) (add_weight), call(inputs[, training]),
    compute_output_shape(input_shape) and get_config()."""

    _call_takes_training = False

    def __init__(self, *, name=None, trainable=True, dtype=None, input_shape=None, input_dim=None,
                 batch_input_shape=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unrecognized keyword argument(s) {sorted(kwargs)}")
        super().__init__()
        self.name = name or unique_name(_snake_case(type(self).__name__))
        self.dtype_policy = mixed_precision.get(dtype)
        self.built = False
        self._inbound_nodes = []  # this layer's calls in functional models (layers.symbolic)
        self._trainable = bool(trainable)
        self._weight_info = {}  # weight name -> (trainable as added, regularizer)
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if input_shape is not None:
            batch_input_shape = (None, *input_shape)
        self._input_shape_arg = None if batch_input_shape is None else tuple(batch_input_shape)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._call_takes_training = "training" in inspect.signature(cls.call).parameters
        if "build" in cls.__dict__:  # as in Keras, a build() that returns has built the layer
            cls.build = _marking_built(cls.__dict__["build"])

    # ---- weights ------------------------------------------------------------------------------------------
    def add_weight(self, name=None, shape=(), initializer="glorot_uniform", regularizer=None, trainable=True,
                   dtype=None):
        """A new Parameter registered under `name` (non-trainable ones have requires_grad=False and stay in
        state_dict, as Keras's non-trainable variables stay in the weights). Without a name it takes the name of
        the attribute it is assigned to (`self.w = self.add_weight(shape=...)`), else "variable_<n>"."""
        value = initializers.get(initializer)(tuple(int(d) for d in shape), dtype or self.variable_dtype)
        param = Parameter(value, requires_grad=trainable and self._trainable)
        name = name or f"variable_{len(self._parameters)}"
        self.register_parameter(name, param)
        self._weight_info[name] = (trainable, regularizers.get(regularizer))
        return param

    def __setattr__(self, name, value):
        info = self.__dict__.get("_weight_info")
        old = next((k for k, p in self._parameters.items() if p is value), None) \
            if info and isinstance(value, Parameter) else None
        if old is None:
            super().__setattr__(name, value)
        elif old != name:  # a weight from add_weight, from now on named by its attribute (order kept)
            renamed = [(name if k == old else k, p) for k, p in self._parameters.items()]
            self._parameters.clear()
            self._parameters.update(renamed)
            self.__dict__["_weight_info"] = {(name if k == old else k): v for k, v in info.items()}

    def build(self, input_shape):
        """Create the weights for inputs of `input_shape` (batch dim included); sets `built`."""
        self.built = True

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        for layer in self._keras_layers():  # freezing a layer freezes its sublayers, as in Keras
            layer._trainable = bool(value)
            for name, (trainable, _) in layer._weight_info.items():
                layer._parameters[name].requires_grad_(trainable and layer._trainable)

    def _keras_layers(self):
        return [m for m in self.modules() if isinstance(m, Layer)]

    def _own_weights(self, trainable):
        return [self._parameters[name] for name, (t, _) in self._weight_info.items()
                if (t and self._trainable) == trainable]

    @property
    def trainable_weights(self):
        return [w for layer in self._keras_layers() for w in layer._own_weights(True)]

    @property
    def non_trainable_weights(self):
        return [w for layer in self._keras_layers() for w in layer._own_weights(False)]

    @property
    def weights(self):
        """Trainable weights, then non-trainable ones, each in creation order (Keras's order)."""
        return self.trainable_weights + self.non_trainable_weights

    def get_weights(self):
        return [w.detach().numpy().copy() for w in self.weights]

    def set_weights(self, weights):
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(f"Layer {self.name!r} expects {len(own)} weights, but the given list has "
                             f"{len(weights)} arrays")
        for w, value in zip(own, weights):
            value = np.asarray(value)
            if value.shape != tuple(w.shape):
                raise ShapeError(f"Layer {self.name!r}: weight shape {tuple(w.shape)} is not compatible with the "
                                 f"given array of shape {value.shape}")
            with no_grad():
                w.copy_(as_tensor(value, dtype=w.dtype, device=w.device))

    def count_params(self):
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on layer {self.name!r}, but the layer isn't built. "
                             "Build it first by calling it on data or with `layer.build(input_shape)`.")
        return sum(math.prod(w.shape) for w in self.weights)

    @property
    def losses(self):
        """The regularization penalties of the current weights (recomputed on each access)."""
        return [reg(layer._parameters[name]) for layer in self._keras_layers()
                for name, (_, reg) in layer._weight_info.items() if reg is not None]

    # ---- calling ------------------------------------------------------------------------------------------
    def __call__(self, inputs, *args, **kwargs):
        if is_symbolic(inputs):  # the functional API: record the call on KerasTensors
            if args:
                raise TypeError(f"{self.name}: a functional-API call passes its inputs as one argument")
            return call_symbolic(self, inputs, kwargs)
        inputs = _to_tensor(inputs, self.compute_dtype)
        if not self.built:
            self._build_eagerly(inputs)
        if not self._call_takes_training:
            kwargs.pop("training", None)
        if self.dtype_policy.name != "float32" or _has_low_precision(inputs):
            return self._call_in_compute_dtype(inputs, args, kwargs)
        return super().__call__(inputs, *args, **kwargs)

    def _call_in_compute_dtype(self, inputs, args, kwargs):
        """The call of a layer whose policy is not plain float32 (or that receives 16-bit inputs): floating inputs
        are cast to the compute dtype, as Keras autocasts them; under a mixed policy the layer's own float weights
        are read as compute-dtype casts for the length of the call (the float32 weights get the gradients)."""
        compute = as_dtype(self.compute_dtype)
        inputs = _cast_floats(inputs, compute)
        swapped = {}
        if self.dtype_policy.is_mixed:
            for name, p in self._parameters.items():
                if p is not None and p.is_floating_point() and p.dtype is not compute:
                    swapped[name] = p
                    self._parameters[name] = p.to(compute)
        try:
            return super().__call__(inputs, *args, **kwargs)
        finally:
            self._parameters.update(swapped)

    @property
    def dtype(self):
        """The dtype of the layer's variables (Keras 3's `layer.dtype`)."""
        return self.dtype_policy.variable_dtype

    @dtype.setter
    def dtype(self, value):
        """Set before the layer is built: its weights are created in the new dtype."""
        self.dtype_policy = mixed_precision.get(value)

    @property
    def variable_dtype(self):
        return self.dtype_policy.variable_dtype

    @property
    def compute_dtype(self):
        return self.dtype_policy.compute_dtype

    def _build_eagerly(self, inputs):
        """Weights are state, not part of a computation: a first call inside @eagerlab.function creates them with
        real values (as tf.init_scope does), and the trace captures them like any existing weight."""
        device = (inputs[0] if isinstance(inputs, (list, tuple)) else inputs).device
        with installed(Interpreter()):
            self.build(_shape_of(inputs))
            if device.type != "cpu":
                self.to(device)

    def forward(self, *args, **kwargs):
        return self.call(*args, **kwargs)

    def call(self, inputs):
        return inputs

    def _is_training(self, training):
        """Keras's `training=None`: follow the module's train()/eval() flag."""
        return self.training if training is None else bool(training)

    def compute_output_shape(self, input_shape):
        return input_shape

    # ---- config -------------------------------------------------------------------------------------------
    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype_policy.name}
        if self._input_shape_arg is not None:
            config["batch_input_shape"] = list(self._input_shape_arg)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _describe(self):
        return f"{type(self).__name__} {self.name!r}"

    def extra_repr(self):
        return f"name={self.name!r}"
