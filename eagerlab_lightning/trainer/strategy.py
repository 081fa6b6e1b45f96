"""How many processes train, and what that changes: Trainer(strategy="ddp", devices=N, num_nodes=M) under a
launcher (mpiexec) runs one process per device. Each process trains on its shard of the data (a
DistributedSampler put into the loaders), gradients are averaged by DistributedDataParallel's hooks, and only
rank 0 writes checkpoints, logs, the progress bar and the model summary. The single-process strategy is the same
interface doing nothing."""
from eagerlab import distributed as dist
from eagerlab import tensor
from eagerlab.distributed._launch_env import LAUNCH_HINT, launched, under_mpi_launcher
from eagerlab.errors import DistributedError, UnsupportedError
from eagerlab.nn.parallel import DistributedDataParallel
from eagerlab.utils.data import DataLoader, DistributedSampler, RandomSampler

_REDUCE = {"mean": dist.ReduceOp.AVG, "sum": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX, "min": dist.ReduceOp.MIN}


class SingleProcess:
    name = "single_device"
    global_rank = local_rank = node_rank = 0
    world_size = 1
    is_global_zero = True

    def setup_model(self, model):
        pass

    def teardown(self):
        pass

    def shard(self, loader, shuffle):
        return loader

    def reduce(self, value, reduce_fx):
        return value

    def any(self, flag):
        return flag

    def barrier(self):
        pass

    def broadcast(self, objects):
        return objects


class DDP(SingleProcess):
    """One process per device, started by a launcher; joins (or reuses) the default process group."""

    name = "ddp"

    def __init__(self, devices, num_nodes):
        expected = None if devices == "auto" else devices * num_nodes
        if not under_mpi_launcher() and expected not in (None, 1):
            raise UnsupportedError(
                f"Trainer(strategy='ddp', devices={devices}, num_nodes={num_nodes}) runs one process per device "
                f"({expected} in all), but this process was started alone: {LAUNCH_HINT.replace('N', str(expected))}")
        if not dist.is_initialized():
            dist.init_process_group("mpi")
        self.world_size, self.global_rank = dist.get_world_size(), dist.get_rank()
        if expected is not None and expected != self.world_size:
            raise DistributedError(f"Trainer(devices={devices}, num_nodes={num_nodes}) expects {expected} processes, "
                                   f"but the launcher started {self.world_size}")
        env = launched()
        self.local_rank = env[2] if env is not None else 0
        self.node_rank = self.global_rank // (self.world_size // num_nodes) if self.world_size % num_nodes == 0 else 0
        self.is_global_zero = self.global_rank == 0
        self._ddp = None

    def setup_model(self, model):
        """Broadcast rank 0's weights and average gradients after every backward (DDP's hooks on the
        parameters: the loops call training_step on the module itself)."""
        self._ddp = DistributedDataParallel(model)

    def teardown(self):
        if self._ddp is not None:
            for handle in self._ddp._grad_hook_handles:
                handle.remove()
            self._ddp = None

    def shard(self, loader, shuffle):
        """The loader with a DistributedSampler (shuffled if the loader shuffled), as Lightning does."""
        if loader is None or isinstance(loader.sampler, DistributedSampler) or not hasattr(loader.dataset, "__len__"):
            return loader
        if loader.batch_size is None:
            raise UnsupportedError("Trainer(strategy='ddp'): a DataLoader with a custom batch_sampler cannot be "
                                   "sharded yet; give it a DistributedSampler yourself")
        shuffle = shuffle and isinstance(loader.sampler, RandomSampler)
        sampler = DistributedSampler(loader.dataset, self.world_size, self.global_rank, shuffle=shuffle)
        return DataLoader(loader.dataset, batch_size=loader.batch_size, sampler=sampler,
                          collate_fn=loader.collate_fn, drop_last=loader.drop_last, num_workers=loader.num_workers,
                          worker_init_fn=loader.worker_init_fn, persistent_workers=loader.persistent_workers)

    def reduce(self, value, reduce_fx):
        """self.log(..., sync_dist=True): the value combined over the processes (a copy: the loss is untouched)."""
        op = _REDUCE.get(reduce_fx)
        if op is None:
            raise ValueError(f"self.log(sync_dist=True): reduce_fx must be one of {sorted(_REDUCE)}, got {reduce_fx!r}")
        value = value.detach().clone() if hasattr(value, "detach") else tensor(float(value))
        dist.all_reduce(value, op)
        return value

    def any(self, flag):
        """Whether any process says yes (stop decisions must agree, or the others wait in a collective)."""
        t = tensor(1.0 if flag else 0.0)
        dist.all_reduce(t, dist.ReduceOp.MAX)
        return bool(t.item())

    def barrier(self):
        dist.barrier()

    def broadcast(self, objects):
        objects = list(objects)
        dist.broadcast_object_list(objects, src=0)
        return objects


def make_strategy(strategy, accelerator, devices, num_nodes):
    if accelerator not in ("auto", "cpu"):
        raise UnsupportedError(f"Trainer(accelerator={accelerator!r}): only CPU processes are supported yet (CUDA "
                               "tensors reach NCCL through eagerlab.distributed with DistributedDataParallel)")
    if devices in ("auto", [0]) or devices is None:
        devices = "auto" if strategy == "ddp" else 1
    if devices != "auto" and (not isinstance(devices, int) or devices < 1):
        raise ValueError(f"Trainer(devices={devices!r}): a positive number of processes, or 'auto'")
    if not isinstance(num_nodes, int) or num_nodes < 1:
        raise ValueError(f"Trainer(num_nodes={num_nodes!r}): a positive int")
    if strategy in ("auto", None, "single_device"):
        if devices in (1, "auto") and num_nodes == 1:
            return SingleProcess()
        strategy = "ddp"
    if strategy != "ddp":
        raise UnsupportedError(f"Trainer(strategy={strategy!r}) is not supported yet: 'ddp' (one process per device, "
                               "started by mpiexec) and 'auto' are")
    return DDP(devices, num_nodes)
