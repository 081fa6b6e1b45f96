"""The signature cache key of a call, and which of its dimensions a trace serves at any size.

The key holds the argument structure and grad mode; per tensor argument (shape, dtype, device, requires_grad);
Python scalars and strings by value; other objects by identity. An input_signature is checked against the call,
and its None dimensions (or, under reduce_retracing, the dimensions seen to vary) are relaxed out of the key."""
from .._tensor import Tensor
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.interpreter import current
from .pytree import flatten
from .spec import TensorSpec


def cache_key(leaves, treedef):
    mode = is_grad_enabled()
    autocast = current().autocast_settings()
    if autocast:  # a trace made under autocast holds its casts: it serves calls under the same autocast only
        mode = (mode, tuple(sorted((k, d.name) for k, d in autocast.items())))
    parts = [treedef, mode]
    for x in leaves:
        if isinstance(x, Tensor):
            d = x._data
            parts.append((d.shape, d.dtype, x._device, x.requires_grad))
        else:
            parts.append(key_part(x))
    return tuple(parts)


def key_part(x):
    """The cache key's entry for a non-tensor argument: Python scalars and strings by value, others by identity."""
    if x is None or isinstance(x, (bool, int, float, complex, str, bytes)):
        return (type(x), x)
    return ("object", id(x))


def relaxed_key(key, poly_dims):
    """A cache key (treedef, grad mode, one entry per argument leaf) with the sizes of poly_dims made None."""
    parts = list(key)
    for i, d in poly_dims:
        shape, *rest = parts[2 + i]
        parts[2 + i] = (tuple(None if k == d else s for k, s in enumerate(shape)), *rest)
    return tuple(parts)


class PolyDims:
    """Which (tensor leaf index, dim) pairs of a call may take any size: input_signature's None dims, or under
    reduce_retracing the dims whose size differed between calls of the same structure."""

    def __init__(self, input_signature, reduce_retracing):
        self.input_signature, self.reduce_retracing = input_signature, reduce_retracing
        self.seen = {}  # reduce_retracing: argument structure -> [first shapes, dims seen to vary]

    def __call__(self, leaves, treedef):
        if self.input_signature is not None:
            specs = iter(flatten(self.input_signature)[0])
            return [(i, d) for i, x in enumerate(leaves) if isinstance(x, Tensor)
                    for spec in (next(specs),) if spec.shape is not None
                    for d, s in enumerate(spec.shape) if s is None]
        if not self.reduce_retracing:
            return []
        structure = (treedef,) + tuple((x.ndim, x.dtype, x._device) if isinstance(x, Tensor) else ("py", x)
                                       for x in leaves)
        shapes = [tuple(x.shape) if isinstance(x, Tensor) else None for x in leaves]
        seen = self.seen.setdefault(structure, [shapes, set()])
        seen[1].update((i, d) for i, (a, b) in enumerate(zip(seen[0], shapes)) if a is not None
                       for d in range(len(a)) if a[d] != b[d])
        return sorted(seen[1])


def check_signature(signature):
    specs = tuple(signature)
    for s in flatten(specs)[0]:
        if not isinstance(s, TensorSpec):
            raise TypeError(f"input_signature: expected TensorSpec entries, got {type(s).__name__}")
    return specs


def match_signature(name, signature, leaves):
    specs = flatten(signature)[0]
    tensors = [x for x in leaves if isinstance(x, Tensor)]
    if len(specs) != len(tensors):
        raise TypeError(f"{name}: input_signature has {len(specs)} TensorSpec(s) but the call passes "
                        f"{len(tensors)} tensor(s)")
    for i, (spec, t) in enumerate(zip(specs, tensors)):
        if not spec.is_compatible_with(t):
            raise TypeError(f"{name}: argument {i} (Tensor{tuple(t.shape)} {t.dtype.name}) does not match "
                            f"input_signature {spec!r}")
