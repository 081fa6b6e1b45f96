"""Distributed data-parallel training on an existing engine, with PyTorch's names: MPI through mpi4py for CPU
processes and hosts, NCCL through cupy for GPUs. Start the processes with a launcher (`python -m
eagerlab.distributed.run -n 2 train.py`, or `mpiexec -n 2 python train.py`), then init_process_group() in each;
eagerlab.nn.parallel.DistributedDataParallel averages gradients over them. See docs/distributed.md."""
from .collectives import (ReduceOp, Work, all_gather, all_gather_into_tensor, all_reduce, barrier, broadcast,
                          broadcast_object_list, reduce_scatter, reduce_scatter_tensor)
from .process_group import (WORLD, Backend, destroy_process_group, get_backend, get_rank, get_world_size,
                            init_process_group, is_available, is_initialized, is_mpi_available,
                            is_nccl_available)

__all__ = [
    "WORLD", "Backend", "ReduceOp", "Work", "all_gather", "all_gather_into_tensor", "all_reduce", "barrier",
    "broadcast", "broadcast_object_list", "destroy_process_group", "get_backend", "get_rank", "get_world_size",
    "init_process_group", "is_available", "is_initialized", "is_mpi_available", "is_nccl_available",
    "reduce_scatter", "reduce_scatter_tensor",
]
