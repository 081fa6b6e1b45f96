"""Shared checks for layers: same weights as a PyTorch layer -> same outputs and gradients; float64 gradcheck."""
import numpy as np

import eagerlab as el


def load_into_torch(torch, layer, torch_layer):
    """Copy the eagerlab layer's state into the PyTorch layer (the state_dict names are the same)."""
    state = {k: torch.from_numpy(v.numpy().copy()) for k, v in layer.state_dict().items()}
    torch_layer.load_state_dict(state)


def compare_with_torch(torch, layer, torch_layer, *inputs, rtol=1e-5, atol=1e-5, grad_inputs=True):
    """Run both layers on the same inputs (numpy arrays) and compare outputs, input grads and param grads."""
    load_into_torch(torch, layer, torch_layer)
    ours = [el.tensor(x, requires_grad=grad_inputs and x.dtype.kind == "f") for x in inputs]
    theirs = [torch.tensor(x, requires_grad=grad_inputs and x.dtype.kind == "f") for x in inputs]
    out, want = layer(*ours), torch_layer(*theirs)
    out, want = (out if isinstance(out, tuple) else (out,)), (want if isinstance(want, tuple) else (want,))
    for o, w in zip(out, want):
        np.testing.assert_allclose(o.detach().numpy(), w.detach().numpy(), rtol=rtol, atol=atol)
    seed = np.random.default_rng(0).standard_normal(out[0].shape).astype(out[0].dtype.np)
    out[0].backward(el.tensor(seed))
    want[0].backward(torch.from_numpy(seed))
    for o, w in zip(ours, theirs):
        if w.grad is not None:
            np.testing.assert_allclose(o.grad.numpy(), w.grad.numpy(), rtol=rtol, atol=atol)
    torch_params = dict(torch_layer.named_parameters())
    for name, p in layer.named_parameters():
        w = torch_params[name].grad
        if w is None:
            assert p.grad is None or not p.grad.numpy().any(), name
        else:
            np.testing.assert_allclose(p.grad.numpy(), w.numpy(), rtol=rtol, atol=atol, err_msg=name)


def gradcheck_layer(layer, *inputs):
    """float64 gradcheck with respect to the inputs (numpy float arrays) and every parameter."""
    layer.double()
    xs = [el.tensor(x, dtype=el.float64, requires_grad=True) if x.dtype.kind == "f" else el.tensor(x) for x in inputs]
    params = list(layer.parameters())
    assert el.autograd.gradcheck(lambda *args: layer(*args[:len(xs)]), (*xs, *params))
