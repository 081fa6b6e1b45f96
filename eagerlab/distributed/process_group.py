"""The default process group (PyTorch's names): which engine carries the collectives (MPI for CPU tensors, NCCL
for CUDA tensors), this process's rank, the world's size and the collectives' timeout. The launcher (mpiexec, or
`python -m eagerlab.distributed.run`) decides rank and size; init_process_group checks that every rank agrees."""
import datetime
import importlib.util
import sys

from ..errors import DistributedError, UnsupportedError
from ._launch_env import LAUNCH_HINT, launched

DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)  # PyTorch's default for the process group


class Backend:
    MPI = "mpi"
    NCCL = "nccl"


class _Group:
    """The default group ("WORLD"): the engine and what init_process_group was told."""

    def __init__(self, engine, excepthook):
        self.engine, self.excepthook = engine, excepthook
        self.rank, self.size = engine.rank, engine.size


_world = None


def is_available():
    """Whether collectives can run here: mpi4py (the 'mpi' backend) is installed."""
    return is_mpi_available()


def is_mpi_available():
    return importlib.util.find_spec("mpi4py") is not None


def is_nccl_available():
    """Whether the 'nccl' backend can start: cupy with NCCL, a GPU, and mpi4py to start the ranks."""
    if not is_mpi_available():
        return False
    from ..backend import Device
    from ._nccl import load_nccl

    try:
        load_nccl(Device("cuda"))
    except Exception:
        return False
    return True


def is_initialized():
    return _world is not None


def _seconds(timeout):
    if timeout is None:
        return DEFAULT_TIMEOUT.total_seconds()
    seconds = timeout.total_seconds() if isinstance(timeout, datetime.timedelta) else float(timeout)
    if seconds <= 0:
        raise ValueError(f"init_process_group: timeout must be positive, got {timeout!r}")
    return seconds


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name="", pg_options=None, device_id=None):
    """Join the processes the launcher started into the default group. backend: "mpi" (CPU tensors, the
    default) or "nccl" (CUDA tensors; the rank's GPU is cuda:<local rank> unless device_id says). world_size and
    rank, when given, must match the launcher's; timeout (seconds or a timedelta) bounds every collective."""
    global _world
    if _world is not None:
        raise DistributedError("trying to initialize the default process group twice!")
    backend = Backend.MPI if backend is None else str(backend).lower()
    if backend not in (Backend.MPI, Backend.NCCL):
        raise UnsupportedError(f"init_process_group(backend={backend!r}): eagerlab runs collectives on MPI "
                               "(backend='mpi', CPU tensors) and NCCL (backend='nccl', CUDA tensors) only")
    if store is not None or init_method not in (None, "env://"):
        raise UnsupportedError(f"init_process_group(init_method={init_method!r}, store=...): a rendezvous through a "
                               f"URL or a store is not supported yet; {LAUNCH_HINT}")
    seconds = _seconds(timeout)
    from ._mpi import MPIEngine, abort_on_uncaught_exception, load_mpi

    MPI = load_mpi()
    engine = MPIEngine(MPI, seconds)
    _check_world(engine, world_size, rank, backend)
    if backend == Backend.NCCL:
        from ..backend import Device
        from ._nccl import NCCLEngine

        env = launched()
        local = env[2] if env is not None else 0
        device = Device(device_id) if device_id is not None else Device(f"cuda:{local}")
        engine = NCCLEngine(engine, device)
    hook = abort_on_uncaught_exception(MPI) if engine.size > 1 else None
    _world = _Group(engine, hook)


def _check_world(engine, world_size, rank, backend):
    """The launcher's world (MPI's) against what this process was told, and every rank against the others."""
    if engine.size > 1:  # (first, so that every rank raises the same error rather than some waiting for others)
        told = engine.allgather_object((backend, world_size), "init_process_group")
        if len(set(told)) > 1:
            described = "; ".join(f"rank {r}: {t}" for r, t in enumerate(told))
            raise DistributedError(f"init_process_group: the ranks disagree on (backend, world_size): {described}")
    env = launched()
    if env is not None and (env[0], env[1]) != (engine.rank, engine.size):
        raise DistributedError(f"init_process_group: the environment ({env[3]}) says rank {env[0]} of {env[1]}, but "
                               f"MPI started this process as rank {engine.rank} of {engine.size}; {LAUNCH_HINT}")
    if world_size not in (-1, None) and world_size != engine.size:
        alone = " (this process was not started by an MPI launcher)" if engine.size == 1 else ""
        raise DistributedError(f"init_process_group(world_size={world_size}): the launcher started "
                               f"{engine.size} process{'es' if engine.size > 1 else ''}{alone}; {LAUNCH_HINT}")
    if rank not in (-1, None) and rank != engine.rank:
        raise DistributedError(f"init_process_group(rank={rank}): MPI started this process as rank {engine.rank}")


def _group(what, group=None):
    if group is not None and group is not WORLD:
        raise UnsupportedError(f"{what}(group=...): only the default group is supported yet (new_group is not)")
    if _world is None:
        raise DistributedError(f"{what}: the default process group has not been initialized; call "
                               "eagerlab.distributed.init_process_group() first")
    return _world


def get_rank(group=None):
    return _group("get_rank", group).rank


def get_world_size(group=None):
    return _group("get_world_size", group).size


def get_backend(group=None):
    return _group("get_backend", group).engine.name


def destroy_process_group(group=None):
    """Leave the default group (after the pending collectives of this rank); init_process_group may be called again
    (MPI itself stays initialized until the process ends, as mpi4py does)."""
    global _world
    world = _group("destroy_process_group", group)
    if hasattr(world.engine, "close"):
        world.engine.close()
    if world.excepthook is not None and sys.excepthook is world.excepthook:
        sys.excepthook = world.excepthook.previous
    _world = None


def engine(what, group=None):
    """The engine of the default group (for the collectives)."""
    return _group(what, group).engine


WORLD = "WORLD"  # PyTorch's group.WORLD: the default group
