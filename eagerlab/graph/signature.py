"""What a call's arguments are, for the signature cache: input_signature checks, keys relaxed to None dims, and the
per-argument descriptions the retrace report and warning show."""
import inspect

from .._tensor import Tensor
from .pytree import flatten
from .spec import TensorSpec


def relaxed_key(key, poly_dims):
    """A cache key (treedef, grad mode, one entry per argument leaf) with the sizes of poly_dims made None."""
    parts = list(key)
    for i, d in poly_dims:
        shape, *rest = parts[2 + i]
        parts[2 + i] = (tuple(None if k == d else s for k, s in enumerate(shape)), *rest)
    return tuple(parts)


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


def describe(fn, leaves):
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        names = []
    out = []  # one entry per argument
    for i, x in enumerate(leaves):
        label = names[i] if i < len(names) else f"arg{i}"
        if isinstance(x, Tensor):
            out.append(f"{label}=Tensor{tuple(x.shape)} {x.dtype.name} {x.device}"
                       + (" requires_grad" if x.requires_grad else ""))
        else:
            out.append(f"{label}={x!r}" if isinstance(x, (bool, int, float, str)) else f"{label}={type(x).__name__}")
    return out


def what_changed(b, a):
    diffs = [f"{y} (was {x.split('=', 1)[-1]})" for x, y in zip(b, a) if x != y]
    if len(b) != len(a):
        diffs.append(f"{len(a)} arguments (was {len(b)})")
    return "; ".join(diffs)
