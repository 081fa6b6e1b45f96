"""Typed errors. Each subclasses the builtin a Python or PyTorch user would catch, so `except ValueError` works."""
from pickle import UnpicklingError  # only the exception class, which PyTorch's weights_only refusals raise


class ShapeError(ValueError):
    """Operand shapes that do not fit the op (broadcasting, matmul inner dims, reshape sizes, ...)."""


class DTypeError(TypeError):
    """An operand dtype the op does not accept (int tensor requiring grad, float index, ...)."""


class DeviceError(RuntimeError):
    """Operands on different devices, or a device that is not available."""


class AutogradError(RuntimeError):
    """Misuse of autograd: stale saved tensors, backward twice, in-place on a leaf that requires grad."""


class DivisionByZeroError(ZeroDivisionError, RuntimeError):
    """Integer division or remainder by zero. A ZeroDivisionError, as Python's own; also a RuntimeError, which is
    what PyTorch raises (with the message "ZeroDivisionError")."""


class IndexOutOfRange(IndexError):
    """An index outside a dimension's size."""


class SerializationError(RuntimeError):
    """A file eagerlab.load cannot trust (bad magic, truncated, corrupt or hostile header), or an object eagerlab.save
    cannot represent. A RuntimeError because torch.load reports corrupt or truncated checkpoints as RuntimeError,
    so `except RuntimeError` around checkpoint loading keeps working."""


class WeightsOnlyError(SerializationError, UnpicklingError):
    """eagerlab.load with weights_only=True (the default) met a class or function that is neither eagerlab's own
    nor allow-listed. Also an UnpicklingError, which is what torch.load raises there, so code that catches it to
    retry with weights_only=False keeps working. Nothing is unpickled: eagerlab never unpickles."""


class ControlFlowVariableError(UnboundLocalError):
    """A variable that tensor-dependent control flow cannot carry (AutoGraph): defined in only one branch of a
    tensor `if`, or first defined inside a tensor loop and used after it. The message names the file and line."""


class UnsupportedError(RuntimeError):
    """A feature eagerlab does not support yet; the message says what."""


class FileFormatError(ValueError):
    """A file whose bytes do not match its format (bad magic number, truncated data, sizes that disagree) or whose
    checksum differs from the published one; the message names the file."""


class ResourceLimitError(RuntimeError):
    """A graph loaded from a file (eagerlab.load_exported) would go past a limit its loader set: intermediates larger
    than `max_bytes` (refused at load), or more loop iterations in one call than `max_loop_iterations` (stopped when
    reached). The message names the limit and how to raise it for a file you trust."""


class DistributedError(RuntimeError):
    """A collective that failed or timed out (the message names the ranks that did not respond), a process group
    used before init_process_group or set up inconsistently (world sizes or ranks that disagree), or a
    distributed engine (MPI, NCCL) that is missing."""


class TracingError(UnsupportedError):
    """Something @eagerlab.function cannot turn into a graph (a tensor's value needed while tracing, control flow
    AutoGraph cannot convert, an op whose output shape depends on data); the message says what to do instead."""


def fmt_shape(shape):
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
