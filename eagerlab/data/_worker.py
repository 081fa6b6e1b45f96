"""The DataLoader worker process: its loop, seeding, get_worker_info, and how objects cross the process boundary.

Tensors refuse pickle (Tensor.__reduce__ raises), so everything a worker sends (batches) and everything a spawned
worker receives (dataset, collate_fn, worker_init_fn) goes through `dumps`/`loads`, a pickler that ships each
Tensor as its numpy array (plus device and requires_grad) and rebuilds a Tensor on the other side. Only
DataLoader's own processes use it; `pickle.dumps(tensor)` still raises.
"""
import io
import os
import pickle
import queue
import random
import sys
import traceback
from dataclasses import dataclass

import numpy as np

from .._tensor import Tensor
from ..backend import CPU, Device, array_to_device

POLL_S = 0.1  # how often a waiting worker checks that the main process is alive

_worker_info = None


@dataclass(frozen=True)
class WorkerInfo:
    """What `get_worker_info()` returns inside a worker: id (0..num_workers-1), num_workers, seed (the worker's
    base_seed + id, already applied to eagerlab, numpy and random), and dataset (this worker's copy)."""

    id: int
    num_workers: int
    seed: int
    dataset: object


def get_worker_info():
    """The WorkerInfo of the current DataLoader worker process, or None in the main process."""
    return _worker_info


class WorkerError(RuntimeError):
    """A DataLoader worker failed: it raised (then the error is also an instance of the original exception's type,
    so `except ValueError` still works), died, or did not answer within `timeout`. `worker_id` says which one;
    `original_traceback` holds the worker's traceback text when it raised."""

    def __init__(self, message, worker_id=None, original_traceback=None):
        super().__init__(message)
        self.worker_id = worker_id
        self.original_traceback = original_traceback

    def __str__(self):  # KeyError would print its message quoted
        return self.args[0]


_error_types = {}


def worker_exception(worker_id, exc_type, type_name, tb_text):
    """The exception to raise in the main process for one raised in worker `worker_id`."""
    msg = f"Caught {type_name} in DataLoader worker process {worker_id}.\nOriginal {tb_text}"
    cls = WorkerError
    if exc_type is not None and issubclass(exc_type, Exception) and not issubclass(exc_type, WorkerError):
        cls = _error_types.get(exc_type)
        if cls is None:
            try:
                cls = type(exc_type.__name__, (WorkerError, exc_type), {"__module__": __name__})
            except TypeError:  # incompatible layouts (OSError family, some C types): the base class only
                cls = WorkerError
            _error_types[exc_type] = cls
    try:
        return cls(msg, worker_id, tb_text)
    except Exception:  # an exception type whose __init__ needs other arguments
        return WorkerError(msg, worker_id, tb_text)


def error_reply():
    """A picklable description of the exception being handled, for the main process to re-raise."""
    exc = sys.exc_info()[1]
    etype = type(exc)
    try:
        pickle.dumps(etype)
    except Exception:  # a class defined inside a function: send its name only
        etype = None
    return (etype, type(exc).__name__, traceback.format_exc())


# ---- crossing the process boundary -----------------------------------------------------------------------------
def _rebuild_tensor(array, device, requires_grad):
    dev = Device(device)
    t = Tensor._make(array if dev is CPU else array_to_device(array, dev), dev)
    return t.requires_grad_(True) if requires_grad else t


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, Tensor):  # the array travels; the autograd graph does not
            return _rebuild_tensor, (obj._host(), str(obj._device), obj.requires_grad)
        return NotImplemented


def dumps(obj):
    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getbuffer()


def loads(data):
    return pickle.loads(data)


class Shipped:
    """Carries objects to a worker: a forked worker inherits them as they are; a spawned one receives them
    through `dumps`, so Tensors inside (a TensorDataset's) arrive as arrays rebuilt into Tensors."""

    def __init__(self, obj):
        self.obj = obj

    def __reduce__(self):
        return _unship, (bytes(dumps(self.obj)),)


def _unship(data):
    return Shipped(loads(data))


# ---- the worker loop ---------------------------------------------------------------------------------------------
def _seed(seed, base_seed, worker_id):
    """Distinct, reproducible streams per worker: eagerlab and random from base_seed + id, numpy's global
    generator from a SeedSequence of both (consecutive integer seeds would give correlated numpy streams)."""
    from ..backend import manual_seed

    random.seed(seed)
    manual_seed(seed)
    np.random.seed(np.random.SeedSequence([worker_id, base_seed]).generate_state(4))


def worker_loop(shipped, index_queue, result_conn, done_event, worker_id, num_workers, base_seed):
    """Answer (epoch, task, index) requests from `index_queue` on `result_conn` until None, the done event or the
    main process's death. A new epoch number restarts the fetcher (a fresh iterator of an iterable dataset)."""
    global _worker_info
    from .dataloader import make_fetcher

    try:
        dataset, iterable, auto_collation, collate_fn, drop_last, init_fn = shipped.obj
        seed = base_seed + worker_id
        _seed(seed, base_seed, worker_id)
        _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
        pending_error = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
        except Exception:
            pending_error = ("error", error_reply())  # reported with the first task, as in PyTorch
        parent, epoch, fetcher, ended = os.getppid(), None, None, False
        while True:
            try:
                task = index_queue.get(timeout=POLL_S)
            except queue.Empty:
                if done_event.is_set() or os.getppid() != parent:
                    return
                continue
            if task is None or done_event.is_set():
                return
            task_epoch, idx, index = task
            if task_epoch != epoch:
                epoch, fetcher, ended = task_epoch, None, False
            if ended:
                continue  # an exhausted iterable worker stays silent until the next epoch
            if pending_error is not None:
                reply, pending_error = pending_error, None
            else:
                try:
                    if fetcher is None:
                        fetcher = make_fetcher(dataset, iterable, auto_collation, collate_fn, drop_last)
                    reply = ("data", fetcher.fetch(index))
                except StopIteration:
                    if not iterable:
                        reply = ("error", error_reply())
                    else:
                        reply, ended = ("end", None), True
                except Exception:
                    reply = ("error", error_reply())
            try:
                payload = dumps((task_epoch, idx) + reply)
            except Exception:
                payload = dumps((task_epoch, idx, "error", error_reply()))
            result_conn.send_bytes(payload)
            del reply, payload, task, index
    except (KeyboardInterrupt, BrokenPipeError, EOFError, OSError):
        pass  # the main process went away or is shutting this worker down
