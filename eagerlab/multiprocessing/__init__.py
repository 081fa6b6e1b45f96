"""eagerlab.multiprocessing: PyTorch's torch.multiprocessing for CPU tensors.

Python's multiprocessing API (Process, Queue, Pool, get_context, set_start_method, ...), plus: tensors sent to other
processes (Process arguments under spawn/forkserver, Queues) travel through shared memory instead of being copied
(importing this module registers that), and `spawn(fn, args, nprocs)`. `Tensor.share_memory_()` / `is_shared()`
and `Module.share_memory()` put tensors into shared memory beforehand (needed for children started by fork).
"""
import multiprocessing as _mp

from ._reductions import register_reducers
from .spawn import ProcessContext, ProcessExitedException, ProcessRaisedException, spawn, start_processes

globals().update({name: getattr(_mp, name) for name in _mp.__all__})

_STRATEGIES = ("file_descriptor",)


def get_all_sharing_strategies():
    """The ways tensors can be shared: eagerlab has one, file descriptors of anonymous shared files."""
    return set(_STRATEGIES)


def get_sharing_strategy():
    return "file_descriptor"


def set_sharing_strategy(new_strategy):
    """Only "file_descriptor" is available (PyTorch also has "file_system", named files in /dev/shm)."""
    if new_strategy not in _STRATEGIES:
        raise ValueError(f"set_sharing_strategy: eagerlab shares tensors through file descriptors only "
                         f"('file_descriptor'), got {new_strategy!r}")


register_reducers()

__all__ = list(_mp.__all__) + ["get_all_sharing_strategies", "get_sharing_strategy", "set_sharing_strategy", "spawn",
                               "start_processes", "ProcessContext", "ProcessExitedException", "ProcessRaisedException"]
