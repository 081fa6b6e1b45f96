"""DistributedSampler (PyTorch's): each of num_replicas processes visits its own part of the dataset, the parts
disjoint and, padded by repeating indices from the start, of equal length (or trimmed with drop_last). With
shuffle, every process draws the same permutation from seed + epoch (set_epoch at each epoch's start) and takes
every num_replicas-th index from its rank on."""
import math

import numpy as np

from .sampler import _IndexSampler


class DistributedSampler(_IndexSampler):
    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None or rank is None:
            from .. import distributed

            if not distributed.is_initialized():
                raise RuntimeError("DistributedSampler: pass num_replicas and rank, or call "
                                   "eagerlab.distributed.init_process_group() first")
            num_replicas = distributed.get_world_size() if num_replicas is None else num_replicas
            rank = distributed.get_rank() if rank is None else rank
        if not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive int, got {num_replicas!r}")
        if not isinstance(rank, int) or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, int(seed), drop_last, 0
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)  # (PyTorch's count: trims the tail)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch):
        """The epoch whose permutation the next iteration draws (call it before each epoch: the same on every
        rank, different from epoch to epoch)."""
        self.epoch = int(epoch)

    def _epoch(self):
        from ..backend import Generator
        from ..ops.random import randperm

        n = len(self.dataset)
        if self.shuffle:
            indices = randperm(n, generator=Generator().manual_seed(self.seed + self.epoch))._host()
        else:
            indices = np.arange(n, dtype=np.int64)
        if self.drop_last:
            indices = indices[:self.total_size]
        elif self.total_size > n:  # pad by repeating from the start (several times over for tiny datasets)
            indices = np.concatenate([indices] * math.ceil(self.total_size / max(n, 1)))[:self.total_size]
        return indices[self.rank:self.total_size:self.num_replicas]

    def __len__(self):
        return self.num_samples

    def state_dict(self):
        """What resuming needs to draw the same order: the epoch and the seed (and, for a check, the world)."""
        return {"epoch": self.epoch, "seed": self.seed, "num_replicas": self.num_replicas, "shuffle": self.shuffle}

    def load_state_dict(self, state):
        self.epoch, self.seed = int(state["epoch"]), int(state["seed"])
