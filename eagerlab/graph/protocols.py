"""What graph capture asks of the objects it compiles, so it never imports the layers above it.

A module (nn.Module registers itself here) is a callable holding tensors: graph compiles its forward, guards a
trace on the training flags and the parameter/buffer tables of the modules it ran, calls a user subclass's
converted forward through `_call_forward` (so hooks still run), and names exported weights by
`named_parameters()` / `named_buffers()`.
"""
import abc


class TracedModule(abc.ABC):
    """The module protocol graph uses: `forward`, `training`, `modules()`, `named_parameters()`,
    `named_buffers()`, the `_parameters` / `_buffers` tables and `_call_forward(forward, args, kwargs)`."""
