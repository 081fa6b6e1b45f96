"""Random draws from the device's generator (or a given eagerlab.Generator): rand, randn, randint, randperm.

They are creation functions for now; the graph-capture issue makes draws nodes so compiled code draws afresh.
"""
from .._tensor import Tensor
from ..backend import Device, as_dtype, default_generator, get_default_dtype
from ._registry import export
from .creation import _size


def _gen(generator, device):
    dev = Device(device) if device is not None else (generator.device if generator is not None else Device("cpu"))
    return (generator or default_generator(dev)), dev


def _finish(arr, dev, requires_grad):
    t = Tensor._make(arr, dev)
    return t.requires_grad_(True) if requires_grad else t


@export()
def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform [0, 1) samples of the given size (default float dtype)."""
    gen, dev = _gen(generator, device)
    dt = as_dtype(dtype) if dtype is not None else get_default_dtype()
    return _finish(gen.rng.random(_size(size), dtype=dt.np if dt.itemsize >= 4 else "float32").astype(dt.np, copy=False),
                   dev, requires_grad)


@export()
def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples of the given size (default float dtype)."""
    gen, dev = _gen(generator, device)
    dt = as_dtype(dtype) if dtype is not None else get_default_dtype()
    return _finish(gen.rng.standard_normal(_size(size), dtype=dt.np if dt.itemsize >= 4 else "float32")
                   .astype(dt.np, copy=False), dev, requires_grad)


@export()
def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Integers uniform in [low, high) (randint(high, size) also works), int64 by default."""
    if size is None:
        low, high, size = 0, low, high
    gen, dev = _gen(generator, device)
    dt = as_dtype(dtype) if dtype is not None else as_dtype("int64")
    return _finish(gen.rng.integers(low, high, size=tuple(size)).astype(dt.np), dev, requires_grad)


@export()
def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0..n-1 (int64 by default)."""
    gen, dev = _gen(generator, device)
    dt = as_dtype(dtype) if dtype is not None else as_dtype("int64")
    return _finish(gen.rng.permutation(int(n)).astype(dt.np), dev, requires_grad)


@export()
def rand_like(input, *, dtype=None, device=None, requires_grad=False):
    return rand(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad)


@export()
def randn_like(input, *, dtype=None, device=None, requires_grad=False):
    return randn(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad)
