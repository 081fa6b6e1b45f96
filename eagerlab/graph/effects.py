"""Effects: the ordered side effects of a graph. Each is called by the generated code with raw arrays, at the
place the traced program performed it; passes never remove, merge or move them."""
from .._tensor import Tensor


class Assign:
    """`captured[...] = value`: an in-place op on a tensor from outside the function (a buffer, a parameter
    updated by hand under no_grad)."""

    __slots__ = ("tensor", "name")

    def __init__(self, tensor):
        self.tensor, self.name = tensor, "assign"

    def __call__(self, target, value):
        target[...] = value
        self.tensor._bump()

    def describe(self):
        return f"into captured {tuple(self.tensor.shape)}"


class ReadGrad:
    """The `.grad` of a leaf when the graph runs (zeros if it has none), for backward to accumulate into."""

    __slots__ = ("leaf", "name")

    def __init__(self, leaf):
        self.leaf, self.name = leaf, "read_grad"

    def __call__(self):
        g = self.leaf.grad
        if g is None:
            d = self.leaf._data
            return self.leaf._device.xp.zeros(d.shape, d.dtype)
        return g._data

    def describe(self):
        return f"of {tuple(self.leaf.shape)}"


class StoreGrad:
    """`leaf.grad = value` (or None), as backward and zero_grad do eagerly."""

    __slots__ = ("leaf", "name")

    def __init__(self, leaf):
        self.leaf, self.name = leaf, "store_grad"

    def __call__(self, value=None):
        self.leaf.grad = None if value is None else Tensor._make(value, self.leaf._device)

    def describe(self):
        return f"of {tuple(self.leaf.shape)}"


class Call:
    """A call back into eager Python code (an optimizer's or a scheduler's step) at this point of every run."""

    __slots__ = ("fn", "name", "label")

    def __init__(self, label, fn):
        self.fn, self.name, self.label = fn, "call", label

    def __call__(self):
        self.fn()

    def describe(self):
        return self.label


class CallOnTensors:
    """A call back into eager Python code that takes tensors (a collective): at run time each tensor argument is a
    tensor on a copy of the graph's array, which the call may change in place; the effect's outputs are those
    arrays."""

    __slots__ = ("fn", "args", "kwargs", "name", "label")

    def __init__(self, label, fn, args, kwargs):
        self.fn, self.kwargs, self.name, self.label = fn, kwargs, "call", label
        self.args = [_TensorSlot(a._device) if isinstance(a, Tensor) else a for a in args]

    def __call__(self, *arrays):
        # Copies: the call may write into them, and an operand may be a constant kept for every run, a
        # read-only broadcast or a view of another value.
        arrays = tuple(a.copy() for a in arrays)
        it = iter(arrays)
        args = [Tensor._make(next(it), a.device) if type(a) is _TensorSlot else a for a in self.args]
        self.fn(*args, **self.kwargs)
        return arrays[0] if len(arrays) == 1 else arrays

    def describe(self):
        return self.label


class _TensorSlot:
    """Where a tensor argument of a CallOnTensors goes (filled with the run's array)."""

    __slots__ = ("device",)

    def __init__(self, device):
        self.device = device
