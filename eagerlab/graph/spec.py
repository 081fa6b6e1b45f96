"""TensorSpec: the shape (None for any size), dtype and device a function argument must have."""
from .._tensor import Tensor
from ..backend import Device, as_dtype
from ..errors import fmt_shape


class TensorSpec:
    """Describes a tensor argument: `TensorSpec([None, 784], eagerlab.float32)` accepts any batch size."""

    __slots__ = ("shape", "dtype", "device", "name")

    def __init__(self, shape, dtype=None, name=None, device=None):
        from ..backend import get_default_dtype

        self.shape = None if shape is None else tuple(None if s is None else int(s) for s in shape)
        if self.shape is not None and any(s is not None and s < 0 for s in self.shape):
            raise ValueError(f"TensorSpec: sizes must be non-negative or None, got {shape!r}")
        self.dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
        self.device = Device(device) if device is not None else None
        self.name = name

    @classmethod
    def from_tensor(cls, tensor, name=None):
        return cls(tuple(tensor.shape), tensor.dtype, name, tensor.device)

    def is_compatible_with(self, value):
        """True when `value` (a Tensor or a TensorSpec) fits this spec: same rank, equal sizes where this spec has
        one, same dtype, and the same device when this spec names one."""
        shape = tuple(value.shape) if isinstance(value, (Tensor, TensorSpec)) and value.shape is not None else None
        if not isinstance(value, (Tensor, TensorSpec)) or value.dtype is not self.dtype:
            return False
        if self.device is not None and getattr(value, "device", None) not in (None, self.device):
            return False
        if self.shape is None:
            return True
        return shape is not None and len(shape) == len(self.shape) and all(
            s is None or s == v for s, v in zip(self.shape, shape))

    def __eq__(self, other):
        return isinstance(other, TensorSpec) and (self.shape, self.dtype, self.device) == (
            other.shape, other.dtype, other.device)

    def __hash__(self):
        return hash((self.shape, self.dtype, self.device))

    def __repr__(self):
        shape = "None" if self.shape is None else fmt_shape(tuple("None" if s is None else s for s in self.shape))
        extra = f", device={self.device}" if self.device is not None else ""
        name = f", name={self.name!r}" if self.name is not None else ""
        return f"TensorSpec(shape={shape}, dtype=eagerlab.{self.dtype.name}{extra}{name})"
