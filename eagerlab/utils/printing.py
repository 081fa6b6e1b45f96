"""A PyTorch-like repr for tensors: values, then dtype/device/grad_fn/requires_grad where informative."""
import numpy as np

from ..backend import get_default_dtype

_IMPLICIT = ("int64", "bool")


def tensor_repr(t):
    arr = t._host()
    if arr.dtype.kind == "f":
        body = np.array2string(arr, separator=", ", prefix="tensor(", precision=4, floatmode="maxprec_equal",
                               threshold=1000, edgeitems=3)
    else:
        body = np.array2string(arr, separator=", ", prefix="tensor(", threshold=1000, edgeitems=3)
    extras = []
    if t.device.type != "cpu":
        extras.append(f"device='{t.device}'")
    name = t.dtype.name
    if (name != get_default_dtype().name and name not in _IMPLICIT) or arr.size == 0:
        extras.append(f"dtype=eagerlab.{name}")
    if t._node is not None:
        extras.append(f"grad_fn=<{t._node.name()}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    if arr.size == 0:
        body = "[]" if arr.ndim == 1 else body
        if arr.ndim > 1:
            extras.insert(0, f"size={tuple(arr.shape)}")
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"
