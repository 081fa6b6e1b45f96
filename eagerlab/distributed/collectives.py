"""Collectives on tensors (PyTorch's names and arguments): all_reduce, broadcast, all_gather, reduce_scatter and
barrier on the default group. They work on the tensors' own arrays: in place where the engine allows (MPI's
IN_PLACE all-reduce, a broadcast into the tensor), with a copy only for non-contiguous tensors. async_op=True
returns a Work to wait on; a blocking call waits with the group's timeout. Inside @eagerlab.function a collective
is a graph effect, run at its place in every call."""
import numpy as np

from ..autograd.interpreter import current
from ..backend import Device
from ..errors import DTypeError, ShapeError, UnsupportedError, fmt_shape
from .process_group import engine as _engine


_CPU = Device("cpu")


class ReduceOp:
    """How all_reduce / reduce_scatter combine the ranks' values."""

    SUM = "sum"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    AVG = "avg"

    _ALL = ("sum", "product", "min", "max", "avg")


class Work:
    """A collective in flight (async_op=True): wait() completes it (with the group's timeout), is_completed()
    polls it."""

    def __init__(self, engine, requests, finish, what):
        self._engine, self._requests, self._finish, self._what = engine, requests, finish, what
        self._done = False

    def is_completed(self):
        if not self._done and self._engine.test(self._requests):
            self._complete()
        return self._done

    def wait(self, timeout=None):
        """Block until done; timeout: seconds (or a timedelta) instead of the group's."""
        if not self._done:
            seconds = timeout.total_seconds() if hasattr(timeout, "total_seconds") else timeout
            self._engine.wait(self._requests, self._what, seconds)
            self._complete()
        return True

    def _complete(self):
        self._done = True
        if self._finish is not None:
            self._finish()


def _contiguous(array, xp):
    """The array itself when collectives can use its memory, else a contiguous copy (written back afterwards)."""
    return array if array.flags.c_contiguous else xp.ascontiguousarray(array)


def _check_op(what, op, tensor):
    if op not in ReduceOp._ALL:
        raise ValueError(f"{what}: op must be one of ReduceOp.SUM, PRODUCT, MIN, MAX, AVG, got {op!r}")
    if op == ReduceOp.AVG and tensor._data.dtype.kind not in "fc":
        raise DTypeError(f"{what}(op=ReduceOp.AVG) needs a floating-point tensor, got {tensor.dtype.name} of shape "
                         f"{fmt_shape(tensor.shape)}")


def _run(what, engine, start, finish, async_op):
    requests = start()
    work = Work(engine, requests, finish, what)
    if async_op:
        return work
    work.wait()
    return None


def _in_place(what, tensor, group, async_op, start_on):
    """A collective that changes one tensor in place: `start_on(engine, array)` -> requests."""
    engine = _engine(what, group)
    engine.check_device(tensor._device, what)
    if async_op:
        _eager_only(f"{what}(async_op=True)")
    state = {}

    def collective(t):
        xp = t._device.xp
        data = t._data
        buf = _contiguous(data, xp)

        def finish():
            extra = state.get("after")
            if extra is not None:
                extra(buf)
            if buf is not data:
                data[...] = buf
            t._bump()

        state["work"] = _run(what, engine, lambda: start_on(engine, buf, state), finish, async_op)

    current().deferred_call(what, collective, (tensor,), {})
    return state.get("work")


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine `tensor` over the ranks with `op`, in place on every rank."""
    _check_op("all_reduce", op, tensor)

    def start(engine, buf, state):
        if op == ReduceOp.AVG and (engine.name == "mpi" or engine.divides_avg):
            state["after"] = lambda b: b.__itruediv__(engine.size)
        return [engine.iallreduce(buf, op)]

    return _in_place("all_reduce", tensor, group, async_op, start)


def broadcast(tensor, src, group=None, async_op=False):
    """Rank `src`'s tensor, copied into `tensor` on every other rank."""
    def start(engine, buf, state):
        if not 0 <= src < engine.size:
            raise ValueError(f"broadcast: src={src} is not a rank of a world of {engine.size}")
        return [engine.ibroadcast(buf, src)]

    return _in_place("broadcast", tensor, group, async_op, start)


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every rank has reached its barrier (or the timeout names the ranks that did not)."""
    engine = _engine("barrier", group)
    return _run("barrier", engine, lambda: [engine.ibarrier()], None, async_op)


def _check_per_rank(what, list_name, tensors, ref_name, ref, size):
    """One tensor per rank, each of `ref`'s shape and dtype (all_gather's outputs, reduce_scatter's inputs)."""
    if len(tensors) != size:
        raise ValueError(f"{what}: {list_name} has {len(tensors)} tensors for a world of {size}")
    for i, t in enumerate(tensors):
        if tuple(t.shape) != tuple(ref.shape) or t.dtype != ref.dtype:
            raise ShapeError(f"{what}: {list_name}[{i}] is {t.dtype} of shape {fmt_shape(t.shape)}, the {ref_name} "
                             f"{ref.dtype} of shape {fmt_shape(ref.shape)}; they must match")


def _eager_only(what):
    """Refuse a collective whose result a graph cannot hold yet (a trace knows no values: static_value is None)."""
    interp = current()
    if interp.static_value(interp.constant(np.zeros((), np.float32), _CPU)) is None:
        raise UnsupportedError(f"{what} inside eagerlab.function is not supported yet (blocking all_reduce and "
                               "broadcast are: they become graph effects); call it outside the compiled function")


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Every rank's `tensor`, into tensor_list[rank] on each rank (one message: gathered into one buffer)."""
    engine = _engine("all_gather", group)
    _eager_only("all_gather")
    engine.check_device(tensor._device, "all_gather")
    _check_per_rank("all_gather", "tensor_list", tensor_list, "tensor", tensor, engine.size)
    xp = tensor._device.xp
    send = _contiguous(tensor._data, xp)
    recv = xp.empty((engine.size, *send.shape), send.dtype)

    def finish():
        for out, part in zip(tensor_list, recv):
            out._data[...] = part
            out._bump()

    return _run("all_gather", engine, lambda: [engine.iallgather(send, recv)], finish, async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Every rank's input, concatenated along dim 0 into output_tensor (world_size times input's first dim)."""
    engine = _engine("all_gather_into_tensor", group)
    _eager_only("all_gather_into_tensor")
    engine.check_device(input_tensor._device, "all_gather_into_tensor")
    want = (input_tensor.shape[0] * engine.size, *input_tensor.shape[1:]) if input_tensor.ndim else (engine.size,)
    if tuple(output_tensor.shape) != tuple(want):
        raise ShapeError(f"all_gather_into_tensor: output has shape {fmt_shape(output_tensor.shape)}, expected "
                         f"{fmt_shape(want)} for an input of shape {fmt_shape(input_tensor.shape)} on "
                         f"{engine.size} ranks")
    xp = input_tensor._device.xp
    send, out = _contiguous(input_tensor._data, xp), output_tensor._data
    recv = _contiguous(out, xp)

    def finish():
        if recv is not out:
            out[...] = recv
        output_tensor._bump()

    return _run("all_gather_into_tensor", engine, lambda: [engine.iallgather(send, recv)], finish, async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine input_list over the ranks with `op`; rank r receives the combination of every rank's
    input_list[r] in `output`."""
    engine = _engine("reduce_scatter", group)
    _check_op("reduce_scatter", op, output)
    _eager_only("reduce_scatter")
    engine.check_device(output._device, "reduce_scatter")
    _check_per_rank("reduce_scatter", "input_list", input_list, "output", output, engine.size)
    xp = output._device.xp
    send = xp.stack([p._data for p in input_list])  # (one message: the ranks' parts side by side)
    recv = _contiguous(output._data, xp)
    return _reduce_scatter(engine, "reduce_scatter", send, recv, output, op, async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """reduce_scatter with the ranks' parts concatenated along dim 0 of one input tensor."""
    engine = _engine("reduce_scatter_tensor", group)
    _check_op("reduce_scatter_tensor", op, output)
    _eager_only("reduce_scatter_tensor")
    engine.check_device(output._device, "reduce_scatter_tensor")
    if input.numel() != output.numel() * engine.size:
        raise ShapeError(f"reduce_scatter_tensor: input of shape {fmt_shape(input.shape)} must hold world_size "
                         f"({engine.size}) times the output's elements (output shape {fmt_shape(output.shape)})")
    xp = output._device.xp
    return _reduce_scatter(engine, "reduce_scatter_tensor", _contiguous(input._data, xp),
                           _contiguous(output._data, xp), output, op, async_op)


def _reduce_scatter(engine, what, send, recv, output, op, async_op):
    def finish():
        if op == ReduceOp.AVG and (engine.name == "mpi" or engine.divides_avg):
            recv[...] /= engine.size
        if recv is not output._data:
            output._data[...] = recv
        output._bump()

    return _run(what, engine, lambda: [engine.ireduce_scatter(send, recv, op)], finish, async_op)


def broadcast_object_list(object_list, src=0, group=None, device=None):
    """Rank `src`'s objects into object_list on every rank, in place. The objects travel as JSON (numbers,
    strings, booleans, None, lists and dicts of them), never pickled: a message cannot run code."""
    import json

    engine = _engine("broadcast_object_list", group)
    engine = getattr(engine, "mpi", engine)  # (host bytes: on NCCL's side channel, the MPI world)
    _eager_only("broadcast_object_list")
    if engine.rank == src:
        try:
            payload = json.dumps(list(object_list)).encode()
        except TypeError as e:
            raise TypeError(f"broadcast_object_list: the objects must be JSON values (numbers, strings, lists, "
                            f"dicts, None): {e}") from e
    else:
        payload = b""
    size = np.array([len(payload)], np.int64)
    engine.wait([engine.ibroadcast(size, src)], "broadcast_object_list")
    data = np.frombuffer(payload, np.uint8).copy() if engine.rank == src else np.empty(int(size[0]), np.uint8)
    engine.wait([engine.ibroadcast(data, src)], "broadcast_object_list")
    received = json.loads(data.tobytes().decode())
    if len(received) != len(object_list):
        raise ValueError(f"broadcast_object_list: rank {src} sent {len(received)} objects, this rank's list has "
                         f"{len(object_list)}")
    object_list[:] = received
