"""An op's operands as every interpreter sees them: abstract values, the one scan over the arguments (device and
needs-grad), and the typed errors that name the op and its operands."""
from .._tensor import Tensor
from ..backend import CPU, Device
from ..errors import (DeviceError, DivisionByZeroError, DTypeError, IndexOutOfRange, ShapeError, UnsupportedError,
                      fmt_shape)

TYPED_ERRORS = (ShapeError, DTypeError, IndexOutOfRange, DeviceError, UnsupportedError, DivisionByZeroError)


class Aval:
    """An abstract value: what is known about a tensor without its data."""

    __slots__ = ("shape", "dtype", "device")

    def __init__(self, shape, dtype, device=CPU):
        self.shape, self.dtype, self.device = tuple(shape), dtype, device

    @staticmethod
    def of(t):
        return Aval(t._data.shape, t.dtype, t._device)

    @property
    def ndim(self):
        return len(self.shape)

    def __eq__(self, other):
        return isinstance(other, Aval) and (self.shape, self.dtype, self.device) == (other.shape, other.dtype,
                                                                                     other.device)

    def __repr__(self):
        return f"Aval({fmt_shape(self.shape)}, {self.dtype.name}, {self.device})"


def scan_operands(prim, args, attrs):
    """(device, needs_grad, operands) of one op application: tensors must share a device (else DeviceError naming
    them all); each tensor becomes its `_data` (an array eagerly; a graph Value for a tensor computed while
    tracing), other arguments pass as constants. With no tensor argument the device comes from `attrs["device"]`
    (creation ops)."""
    dev = None
    grad = False
    operands = []
    for a in args:
        if isinstance(a, Tensor):
            if dev is None:
                dev = a._device
            elif a._device is not dev:
                raise device_mismatch(prim, args)
            if a.requires_grad:
                grad = True
            operands.append(a._data)
        else:
            operands.append(a)
    if dev is None:
        dev = Device(attrs.get("device", CPU))
    return dev, grad, operands


def describe(x):
    if isinstance(x, Tensor):
        return f"Tensor{fmt_shape(x.shape)} {x.dtype.name} on {x.device}"
    return repr(x)


def device_mismatch(prim, args):
    devs = [f"{describe(a)}" for a in args if isinstance(a, Tensor)]
    return DeviceError(f"{prim.name}: expected all tensors to be on the same device, but found tensors on "
                       f"different devices: {', '.join(devs)}")


def explain_failure(prim, args, attrs, exc):
    """A typed error for a failed impl: the infer rule's own message if it rejects the operands, else the
    backend's message prefixed with the op name and operand shapes/dtypes."""
    avals = [Aval.of(a) if isinstance(a, Tensor) else a for a in args]
    try:
        prim.infer(*avals, **attrs)
    except TYPED_ERRORS as e:
        # shared infer rules (broadcasting, ...) do not know which op called them: name it here
        return e if str(e).startswith(prim.name) else type(e)(f"{prim.name}: {e}")
    except Exception:
        pass
    if isinstance(exc, TYPED_ERRORS):
        return exc
    operands = ", ".join(describe(a) for a in args)
    return typed_error(exc, f"{prim.name}: {exc} (operands: {operands}" + (f"; {attrs}" if attrs else "") + ")")


def typed_error(exc, msg):
    """The typed error carrying `msg` for `exc`: of exc's own type when it is one, else by the builtin it is
    (IndexError -> IndexOutOfRange, TypeError -> DTypeError, ValueError -> ShapeError, others UnsupportedError)."""
    if isinstance(exc, TYPED_ERRORS):
        try:
            return type(exc)(msg)
        except Exception:  # a subclass with another constructor: keep it as it is
            return exc
    if isinstance(exc, IndexError):
        return IndexOutOfRange(msg)
    if isinstance(exc, TypeError):
        return DTypeError(msg)
    if isinstance(exc, ValueError):
        return ShapeError(msg)
    return UnsupportedError(msg)
