"""SimpleRNN, LSTM and GRU with Keras's weights: kernel (in, gates * units), recurrent_kernel (units, gates * units),
bias, gates in Keras's order (LSTM i, f, c, o; GRU z, r, h).

When the layer's math is one the fused recurrent op computes (eagerlab.ops.rnn: the activations PyTorch's layers
use, GRU with reset_after, no recurrent dropout while training), the whole sequence is one fused op on the weights
seen in PyTorch's layout; otherwise the input projection of every step is one GEMM and the recurrent projection and
the gates run step by step."""
from ...autograd.grad_mode import no_grad
from ...errors import ShapeError
from ...nn import functional as F
from ...ops.creation import ones, tensor, zeros
from ...ops.index import index_select
from ...ops.join import stack
from ...ops.rnn import run_layers
from .. import activations, initializers, regularizers
from ..saving import register_builtin
from .core import KernelLayer, last_dim, positive_int


class _RNN(KernelLayer):
    gates = 1  # weight blocks per unit
    _state_count = 1  # state tensors carried between steps (LSTM: h and c)

    def __init__(self, units, activation="tanh", *, recurrent_initializer="orthogonal", recurrent_regularizer=None,
                 dropout=0.0, recurrent_dropout=0.0, return_sequences=False, return_state=False, go_backwards=False,
                 **kwargs):
        super().__init__(activation=activation, **kwargs)
        self.units = positive_int(type(self).__name__, "units", units)
        for name, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
                raise ValueError(f"{type(self).__name__}: `{name}` must be a number in [0, 1). Received: "
                                 f"{name}={rate!r}")
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards = bool(go_backwards)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ShapeError(f"{type(self).__name__} {self.name!r} expects inputs of shape (batch, timesteps, "
                             f"features), got input shape {tuple(input_shape)}")
        width = self.gates * self.units
        self.add_weight("kernel", (last_dim(self, input_shape), width), self.kernel_initializer,
                        self.kernel_regularizer)
        self.add_weight("recurrent_kernel", (self.units, width), self.recurrent_initializer,
                        self.recurrent_regularizer)
        if self.use_bias:
            self.add_weight("bias", self._bias_shape(), self.bias_initializer, self.bias_regularizer)

    def _bias_shape(self):
        return (self.gates * self.units,)

    def _input_bias(self):
        return self.bias if self.use_bias else None

    def _dropout_mask(self, rate, batch, width, like):
        """One mask per sequence, the same at every step (Keras's recurrent dropout, Gal & Ghahramani 2016)."""
        return F.dropout(ones((batch, width), dtype=like.dtype, device=like.device), rate, True)

    def call(self, inputs, training=None):
        if inputs.ndim != 3 or inputs.shape[1] == 0:
            raise ShapeError(f"{type(self).__name__} {self.name!r} expects inputs of shape (batch, timesteps, "
                             f"features) with at least one step, got input shape {tuple(inputs.shape)}")
        training = self._is_training(training)
        batch = inputs.shape[0]
        if training and self.dropout:
            inputs = inputs * self._dropout_mask(self.dropout, batch, inputs.shape[2], inputs).unsqueeze(1)
        recurrent_mask = self._dropout_mask(self.recurrent_dropout, batch, self.units, inputs) \
            if training and self.recurrent_dropout else None
        mode = self._fused_mode() if recurrent_mask is None else None
        if mode is not None:
            return self._call_fused(mode, inputs)
        projected = inputs.matmul(self.kernel)
        bias = self._input_bias()
        if bias is not None:
            projected = projected + bias
        state = tuple(zeros((batch, self.units), dtype=inputs.dtype, device=inputs.device)
                      for _ in range(self._state_count))
        steps = projected.unbind(1)
        outputs = []
        for x_t in (reversed(steps) if self.go_backwards else steps):
            if recurrent_mask is not None:
                state = (state[0] * recurrent_mask,) + state[1:]
            state = self._step(x_t, state)
            outputs.append(state[0])
        output = stack(outputs, 1) if self.return_sequences else outputs[-1]
        return [output, *state] if self.return_state else output

    def _fused_mode(self):
        """The fused op's mode ('LSTM', 'GRU', 'RNN_TANH', 'RNN_RELU') computing this layer's step, or None."""
        return None

    def _torch_weights(self):
        """[w_ih, w_hh] and, with a bias, [b_ih, b_hh] in PyTorch's layout (gates, features) and gate order."""
        weights = [self.kernel.T, self.recurrent_kernel.T]
        if self.use_bias:  # one bias in Keras: PyTorch's second is zero
            weights += [self.bias, zeros(self.bias.shape, dtype=self.bias.dtype, device=self.bias.device)]
        return weights

    def _call_fused(self, mode, inputs):
        x = inputs.flip(1) if self.go_backwards else inputs  # Keras returns the steps in the order it ran them
        states = [zeros((1, x.shape[0], self.units), dtype=x.dtype, device=x.device)
                  for _ in range(self._state_count)]
        params = self._torch_weights()
        sequence, *finals = run_layers(mode, x, states if self._state_count == 2 else states[0], params,
                                       len(params) == 4, 1, 0.0, False, False, True)
        finals = [s.squeeze(0) for s in finals]
        output = sequence if self.return_sequences else finals[0]
        return [output, *finals] if self.return_state else output

    def compute_output_shape(self, input_shape):
        batch = input_shape[0]
        output = (batch, input_shape[1], self.units) if self.return_sequences else (batch, self.units)
        return [output] + [(batch, self.units)] * self._state_count if self.return_state else output

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
                "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards}


@register_builtin
class SimpleRNN(_RNN):
    """h_t = activation(x_t @ kernel + bias + h_{t-1} @ recurrent_kernel)."""

    def _step(self, x_t, state):
        return (self.activation(x_t + state[0].matmul(self.recurrent_kernel)),)

    def _fused_mode(self):
        return {activations.tanh: "RNN_TANH", activations.relu: "RNN_RELU"}.get(self.activation)


class _GatedRNN(_RNN):
    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", **kwargs):
        super().__init__(units, activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)

    def _fused_mode(self):
        standard = self.activation is activations.tanh and self.recurrent_activation is activations.sigmoid
        return type(self).__name__ if standard else None

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation)}


@register_builtin
class LSTM(_GatedRNN):
    """Long short-term memory; unit_forget_bias starts the forget gate's bias at 1 (Jozefowicz et al., 2015).
    return_state gives [output, h, c]."""

    gates = 4
    _state_count = 2

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", *, unit_forget_bias=True, **kwargs):
        super().__init__(units, activation, recurrent_activation, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def build(self, input_shape):
        super().build(input_shape)
        if self.use_bias and self.unit_forget_bias:
            with no_grad():
                self.bias[self.units:2 * self.units].fill_(1.0)

    def _step(self, x_t, state):
        h, c = state
        i, f, g, o = (x_t + h.matmul(self.recurrent_kernel)).chunk(4, -1)
        sigma = self.recurrent_activation
        c = sigma(f) * c + sigma(i) * self.activation(g)
        return sigma(o) * self.activation(c), c

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


@register_builtin
class GRU(_GatedRNN):
    """Gated recurrent unit, h_t = z * h_{t-1} + (1 - z) * candidate. reset_after=True (Keras's default, cuDNN's
    form) applies the reset gate after the recurrent projection and keeps a second, recurrent bias: bias (2, 3 *
    units)."""

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", *, reset_after=True, **kwargs):
        super().__init__(units, activation, recurrent_activation, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _input_bias(self):
        if not self.use_bias:
            return None
        return self.bias[0] if self.reset_after else self.bias

    def _fused_mode(self):
        return super()._fused_mode() if self.reset_after else None  # (PyTorch's GRU is the reset_after form)

    def _torch_weights(self):
        """Keras's gates z, r, h in PyTorch's order r, z, n; bias[0] is the input bias, bias[1] the recurrent."""
        u = self.units
        order = tensor(list(range(u, 2 * u)) + list(range(u)) + list(range(2 * u, 3 * u)), device=self.kernel.device)
        weights = [index_select(w, -1, order).T for w in (self.kernel, self.recurrent_kernel)]
        if self.use_bias:
            weights += list(index_select(self.bias, -1, order).unbind(0))
        return weights

    def _step(self, x_t, state):
        (h,) = state
        x_z, x_r, x_h = x_t.chunk(3, -1)
        if self.reset_after:
            recurrent = h.matmul(self.recurrent_kernel)
            if self.use_bias:
                recurrent = recurrent + self.bias[1]
            h_z, h_r, h_h = recurrent.chunk(3, -1)
            z, r = self.recurrent_activation(x_z + h_z), self.recurrent_activation(x_r + h_r)
            candidate = self.activation(x_h + r * h_h)
        else:
            u = self.units
            h_z, h_r = h.matmul(self.recurrent_kernel[:, :2 * u]).chunk(2, -1)
            z, r = self.recurrent_activation(x_z + h_z), self.recurrent_activation(x_r + h_r)
            candidate = self.activation(x_h + (r * h).matmul(self.recurrent_kernel[:, 2 * u:]))
        return (z * h + (1 - z) * candidate,)

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}
