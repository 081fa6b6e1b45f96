"""Layer checks: same weights as a PyTorch layer -> same outputs and gradients; float64 gradcheck of a layer."""
import numpy as np

from .. import autograd
from ..backend.dtypes import float64
from ..ops.creation import tensor
from ._compare import assert_close
from ._opinfo import require_torch


def load_into_torch(layer, torch_layer):
    """Copy the eagerlab layer's state into the PyTorch layer (the state_dict names are the same)."""
    torch = require_torch("load_into_torch")
    torch_layer.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in layer.state_dict().items()})


def compare_with_torch(layer, torch_layer, *inputs, rtol=1e-5, atol=1e-5, grad_inputs=True):
    """Give the PyTorch layer the eagerlab layer's weights, run both on the same inputs (numpy arrays) and compare
    the outputs, then the gradients of the inputs (float ones, unless grad_inputs=False) and of every parameter
    after a backward from the first output. Raises unittest.SkipTest when PyTorch is not installed."""
    torch = require_torch("compare_with_torch")
    load_into_torch(layer, torch_layer)
    ours = [tensor(x, requires_grad=grad_inputs and x.dtype.kind == "f") for x in inputs]
    theirs = [torch.tensor(x, requires_grad=grad_inputs and x.dtype.kind == "f") for x in inputs]
    out, want = layer(*ours), torch_layer(*theirs)
    out, want = (out if isinstance(out, tuple) else (out,)), (want if isinstance(want, tuple) else (want,))
    for i, (o, w) in enumerate(zip(out, want)):
        assert_close(o.detach().numpy(), w.detach().numpy(), rtol=rtol, atol=atol, equal_nan=True, msg=f"output {i}")
    seed = np.random.default_rng(0).standard_normal(out[0].shape).astype(out[0].dtype.np)
    out[0].backward(tensor(seed))
    want[0].backward(torch.from_numpy(seed))
    for i, (o, w) in enumerate(zip(ours, theirs)):
        if w.grad is not None:
            assert_close(o.grad.numpy(), w.grad.numpy(), rtol=rtol, atol=atol, equal_nan=True,
                         msg=f"gradient of input {i}")
    torch_params = dict(torch_layer.named_parameters())
    for name, p in layer.named_parameters():
        w = torch_params[name].grad
        if w is None:
            assert p.grad is None or not p.grad.numpy().any(), f"{name} has a gradient where PyTorch has none"
        else:
            assert_close(p.grad.numpy(), w.numpy(), rtol=rtol, atol=atol, equal_nan=True, msg=f"gradient of {name}")


def gradcheck_layer(layer, *inputs):
    """float64 gradcheck of the layer (converted to float64 in place) with respect to its inputs (numpy arrays; the
    float ones) and every parameter."""
    layer.double()
    xs = [tensor(x, dtype=float64, requires_grad=True) if x.dtype.kind == "f" else tensor(x) for x in inputs]
    params = list(layer.parameters())
    assert autograd.gradcheck(lambda *args: layer(*args[:len(xs)]), (*xs, *params))
