"""PyTorch's tensor repr: values (4 decimals, or integers with a dot, or scientific when magnitudes span more
than 1000x), summarized with `...` past 1000 elements, then dtype/device/grad_fn/requires_grad where informative."""
import math

import numpy as np

from ..backend import get_default_dtype

PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH = 4, 1000, 3, 80
_IMPLICIT = ("int64", "bool")


class _Formatter:
    """Chooses one width and notation for every element, from the values that will be shown."""

    def __init__(self, values):
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        values = values.reshape(-1)
        if not self.floating:
            self.width = max([len(str(v)) for v in values.tolist()] + [1])
            return
        vals = values.astype(np.float64)
        finite = vals[np.isfinite(vals) & (vals != 0)]
        if finite.size == 0:
            return
        mags = np.abs(finite)
        lo, hi = mags.min(), mags.max()
        self.int_mode = bool((finite == np.ceil(finite)).all())
        self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or (not self.int_mode and lo < 1.0e-4)
        if self.sci_mode:
            fmt, extra = "{:.%de}" % PRECISION, 0
        elif self.int_mode:
            fmt, extra = "{:.0f}", 1  # the trailing "."
        else:
            fmt, extra = "{:.%df}" % PRECISION, 0
        self.width = max(len(fmt.format(v)) + extra for v in finite.tolist())

    def format(self, value):
        if not self.floating:
            s = str(value)
        elif self.sci_mode:
            s = "{:{w}.{p}e}".format(value, w=self.width, p=PRECISION)
        elif self.int_mode:
            s = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            s = "{:.{p}f}".format(value, p=PRECISION)
        return " " * (self.width - len(s)) + s


def _summarized(arr):
    """Only the edge items of every dimension (the values a summarized repr shows)."""
    if arr.ndim == 0:
        return arr
    if arr.shape[0] > 2 * EDGEITEMS:
        arr = np.concatenate([arr[:EDGEITEMS], arr[-EDGEITEMS:]])
    if arr.ndim == 1:
        return arr
    return np.stack([_summarized(a) for a in arr])


def _vector(arr, indent, summarize, fmt):
    per_line = max(1, (LINEWIDTH - indent) // (fmt.width + 2))
    if summarize and arr.shape[0] > 2 * EDGEITEMS:
        items = ([fmt.format(v) for v in arr[:EDGEITEMS].tolist()] + [" ..."]
                 + [fmt.format(v) for v in arr[-EDGEITEMS:].tolist()])
    else:
        items = [fmt.format(v) for v in arr.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _body(arr, indent, summarize, fmt):
    if arr.ndim == 0:
        return fmt.format(arr.item())
    if arr.ndim == 1:
        return _vector(arr, indent, summarize, fmt)
    n = arr.shape[0]
    if summarize and n > 2 * EDGEITEMS:
        rows = ([_body(arr[i], indent + 1, summarize, fmt) for i in range(EDGEITEMS)] + ["..."]
                + [_body(arr[i], indent + 1, summarize, fmt) for i in range(n - EDGEITEMS, n)])
    else:
        rows = [_body(arr[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _with_suffixes(body, suffixes, indent):
    parts = [body]
    line = len(body) - body.rfind("\n") + 1
    for s in suffixes:
        if line + len(s) + 2 > LINEWIDTH:
            parts.append(",\n" + " " * indent + s)
            line = indent + len(s)
        else:
            parts.append(", " + s)
            line += len(s) + 2
    return "".join(parts) + ")"


def tensor_repr(t):
    arr = t._host()
    prefix = "tensor("
    suffixes = []
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    name = t.dtype.name
    if arr.size == 0:
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        if name != get_default_dtype().name:
            suffixes.append(f"dtype=eagerlab.{name}")
        body = "[]"
    else:
        if name != get_default_dtype().name and name not in _IMPLICIT:
            suffixes.append(f"dtype=eagerlab.{name}")
        summarize = arr.size > THRESHOLD
        if arr.dtype.itemsize == 2 and name in ("float16", "bfloat16"):  # formatted through float32, as PyTorch
            arr = arr.astype(np.float32)
        body = _body(arr, len(prefix), summarize, _Formatter(_summarized(arr) if summarize else arr))
    if t._node is not None:
        suffixes.append(f"grad_fn=<{t._node.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return prefix + _with_suffixes(body, suffixes, len(prefix))
