"""One flat vector from a model's parameters, and back."""
from ...autograd.grad_mode import no_grad
from ...errors import DeviceError, ShapeError, fmt_shape


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated (differentiable), in iteration order."""
    from ...ops.join import cat

    params = list(parameters)
    devices = {p.device for p in params}
    if len(devices) > 1:
        raise DeviceError(f"parameters_to_vector: found parameters on several devices: {sorted(map(str, devices))}")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of `vec` into the parameters (in place)."""
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.shape[0] != total:
        raise ShapeError(f"vector_to_parameters: expected a vector of {total} elements for the parameters, got "
                         f"{fmt_shape(vec.shape)}")
    offset = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vec[offset:offset + n].reshape(p.shape))
            offset += n
