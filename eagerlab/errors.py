"""Typed errors. Each subclasses the builtin a Python or PyTorch user would catch, so `except ValueError` works."""


class ShapeError(ValueError):
    """Operand shapes that do not fit the op (broadcasting, matmul inner dims, reshape sizes, ...)."""


class DTypeError(TypeError):
    """An operand dtype the op does not accept (int tensor requiring grad, float index, ...)."""


class DeviceError(RuntimeError):
    """Operands on different devices, or a device that is not available."""


class AutogradError(RuntimeError):
    """Misuse of autograd: stale saved tensors, backward twice, in-place on a leaf that requires grad."""


class IndexOutOfRange(IndexError):
    """An index outside a dimension's size."""


class SerializationError(RuntimeError):
    """A file eagerlab.load cannot trust (bad magic, truncated, corrupt or hostile header), or an object eagerlab.save
    cannot represent. A RuntimeError because torch.load reports corrupt or truncated checkpoints as RuntimeError,
    so `except RuntimeError` around checkpoint loading keeps working."""


class ControlFlowVariableError(UnboundLocalError):
    """A variable that tensor-dependent control flow cannot carry (AutoGraph): defined in only one branch of a
    tensor `if`, or first defined inside a tensor loop and used after it. The message names the file and line."""


class UnsupportedError(RuntimeError):
    """A feature eagerlab does not support yet; the message says what."""


class FileFormatError(ValueError):
    """A file whose bytes do not match its format (bad magic number, truncated data, sizes that disagree) or whose
    checksum differs from the published one; the message names the file."""


class DistributedError(RuntimeError):
    """A collective that failed or timed out (the message names the ranks that did not respond), a process group
    used before init_process_group or set up inconsistently (world sizes or ranks that disagree), or a
    distributed engine (MPI, NCCL) that is missing."""


class TracingError(UnsupportedError):
    """Something @eagerlab.function cannot turn into a graph (a tensor's value needed while tracing, control flow
    AutoGraph cannot convert, an op whose output shape depends on data); the message says what to do instead."""


def fmt_shape(shape):
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
