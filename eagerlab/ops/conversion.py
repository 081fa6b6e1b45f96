"""Moving a tensor between devices and dtypes: the to_device primitive, Tensor.to, the shorthands built on it (cpu,
cuda, type, type_as, float/double/half/...) and pin_memory; `to_arguments` parses `to`'s positional forms for
Tensor.to and Module.to alike.

They sit in the op layer beside `to` rather than in _tensor.py, the data structure: a dtype change is
elementwise.cast and a device change the differentiable to_device below.
"""
from .._tensor import Tensor
from ..backend import CPU, Device, array_to_device, as_dtype
from ..errors import DeviceError
from ._registry import Aval, bind, method, primitive

_DTYPE_NAMES = {"float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool",
                "half", "float", "double", "short", "int", "long"}


def to_arguments(args, dtype=None, device=None):
    """(dtype, device) from `to`'s positional forms: a dtype (or its name), a device (or its string), a tensor (both);
    shared by Tensor.to and Module.to."""
    for a in args:
        if isinstance(a, Tensor):
            dtype, device = a.dtype, a.device
        elif isinstance(a, (str, Device)) and not (isinstance(a, str) and a in _DTYPE_NAMES):
            device = a
        else:
            dtype = a
    return dtype, device


# ---- moving between devices (differentiable) ---------------------------------------------------------------
def _to_device_infer(x, target, source):
    return Aval(x.shape, x.dtype, target)


to_device_p = primitive("to_device", _to_device_infer)(lambda xp, x, target, source: array_to_device(x, target))


@to_device_p.defvjp
def _(ctx, g):
    return to_device(g, ctx.attrs["source"]),


def to_device(x, device):
    """Copy x to `device`; gradients flow back to the source device."""
    device = Device(device)
    device.xp  # raises a clear DeviceError when CUDA is unavailable
    return bind(to_device_p, x, target=device, source=x.device)


@method("to")
def to(self, *args, dtype=None, device=None, copy=False, non_blocking=False):
    """`to(dtype)`, `to(device)`, `to(device, dtype)`, `to(other_tensor)`; differentiable."""
    from .elementwise import cast

    dtype, device = to_arguments(args, dtype, device)
    out = self
    if device is not None and Device(device) is not self._device:
        out = to_device(out, Device(device))
    if dtype is not None and as_dtype(dtype) is not out.dtype:
        out = cast(out, as_dtype(dtype))
    if copy and out is self:
        out = self.clone()
    return out


# ---- the shorthands ------------------------------------------------------------------------------------------
@method("cpu")
def cpu(self):
    return self.to(CPU)


@method("cuda")
def cuda(self, device=None):
    return self.to(Device("cuda", device) if isinstance(device, int) else Device(device or "cuda"))


@method("type")
def _type(self, dtype=None):
    """The type's name, or this tensor converted to `dtype` (a dtype, or a legacy type like FloatTensor)."""
    if dtype is None:
        return f"eagerlab.{self.dtype.name}"
    return self.to(getattr(dtype, "dtype", dtype) if isinstance(dtype, type) else dtype)


@method("type_as")
def type_as(self, other):
    return self.to(other.dtype)


@method("pin_memory")
def pin_memory(self, device=None):
    """This CPU tensor: eagerlab copies host arrays to the GPU from ordinary memory, so there is nothing to pin
    (DataLoader(pin_memory=True) is accepted the same way)."""
    if self._device.type != "cpu":
        raise DeviceError(f"pin_memory: cannot pin '{self._device}' memory; only CPU tensors can be pinned")
    return self


@method("is_pinned")
def is_pinned(self, device=None):
    return False


def _conversion(dtype_name):
    def convert(self):
        return self.to(dtype_name)

    # only __name__: __qualname__ keeps saying where the code is (docs/tensor_methods.md shows it)
    convert.__name__ = {"float32": "float", "float64": "double", "float16": "half", "bfloat16": "bfloat16",
                        "int64": "long", "int32": "int",
                        "int16": "short", "int8": "char", "uint8": "byte", "bool": "bool"}[dtype_name]
    convert.__doc__ = f"self.to(eagerlab.{dtype_name})"
    return convert


for _dt in ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"):
    _fn = _conversion(_dt)
    setattr(Tensor, _fn.__name__, _fn)
