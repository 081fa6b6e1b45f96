"""DataLoader: batches from a dataset, in the main process or in worker processes (PyTorch's arguments, checks
and semantics).

Fast path: with the default collate_fn, a map-style dataset that defines `__getbatch__` (TensorDataset, Subset of
one, MNIST) is asked for each whole batch at once, with the batch's indices as one int64 array sliced from the
epoch's order; otherwise every sample is fetched by `__getitem__` (or `__getitems__`) and collated.
"""
import math
import multiprocessing
import os
import sys
import warnings

from ..backend import default_generator
from .collate import default_collate, default_convert
from .dataset import IterableDataset, batch_getter, fetch_items
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, index_batches


class _InfiniteConstantSampler(Sampler):
    """The index sampler of an iterable dataset: None forever (the dataset's own iterator decides the end)."""

    def __iter__(self):
        while True:
            yield None


# ---- fetchers: index (or batch of indices) -> collated data ------------------------------------------------------
class _MapFetcher:
    def __init__(self, dataset, auto_collation, collate_fn):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.getbatch = batch_getter(dataset) if auto_collation and collate_fn is default_collate else None

    def fetch(self, index):
        if self.getbatch is not None:
            return self.getbatch(index)
        if self.auto_collation:
            return self.collate_fn(fetch_items(self.dataset, index))
        return self.collate_fn(self.dataset[index])


class _IterableFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.it = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.it))
        data = []
        for _ in index:
            try:
                data.append(next(self.it))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < len(index)):
            raise StopIteration
        return self.collate_fn(data)


def make_fetcher(dataset, iterable, auto_collation, collate_fn, drop_last):
    if iterable:
        return _IterableFetcher(dataset, auto_collation, collate_fn, drop_last)
    return _MapFetcher(dataset, auto_collation, collate_fn)


class _SingleProcessIter:
    """Iterates one epoch in the main process."""

    def __init__(self, loader):
        loader._draw_base_seed()  # drawn though unused, so the shuffle order does not depend on num_workers
        self._index_sampler = loader._index_sampler
        self._indices = loader._index_iter()
        self._fetcher = make_fetcher(loader.dataset, loader._iterable, loader._auto_collation, loader.collate_fn,
                                     loader.drop_last)

    def __iter__(self):
        return self

    def __next__(self):
        return self._fetcher.fetch(next(self._indices))

    def __len__(self):
        return len(self._index_sampler)


# ---- DataLoader ----------------------------------------------------------------------------------------------------
_FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")


class DataLoader:
    """Iterate a dataset in batches: `for x, y in DataLoader(ds, batch_size=32, shuffle=True): ...`.

    Arguments, defaults and their checks follow torch.utils.data.DataLoader. `pin_memory` is accepted and has no
    effect (numpy arrays need no pinning). With `num_workers > 0` batches come from worker processes (start method
    "fork" on Linux, else the platform's default; `multiprocessing_context` picks another), in sampler order; a
    worker's exception is re-raised here as a WorkerError that is also of the original type, naming the worker
    and carrying its traceback; a worker that dies or, with `timeout`, does not answer raises WorkerError.
    """

    _initialized = False

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False):
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers option should be a non-negative int (use num_workers=0 to "
                             f"disable multiprocessing), got {num_workers!r}")
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout!r}")
        if timeout > 0 and num_workers == 0:
            raise ValueError("DataLoader: timeout applies to worker processes; it needs num_workers > 0")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in multiprocessing. Let "
                             "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and (not isinstance(prefetch_factor, int) or prefetch_factor <= 0):
            raise ValueError(f"DataLoader: prefetch_factor option should be a positive int, got {prefetch_factor!r}")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (False, None):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                 f"shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got "
                                 f"sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler option, but "
                                 f"got batch_sampler={batch_sampler}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                 "sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is mutually exclusive "
                             "with drop_last")
        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = self._check_context(multiprocessing_context)
        self.generator = generator
        self.persistent_workers = persistent_workers
        self.collate_fn = collate_fn if collate_fn is not None else (
            default_collate if self._auto_collation else default_convert)
        self._iterator = None
        self._initialized = True
        self._check_worker_number()

    def _check_context(self, ctx):
        if ctx is None:
            return None
        if self.num_workers == 0:
            raise ValueError(f"DataLoader: multiprocessing_context can only be used with multi-process loading "
                             f"(num_workers > 0), but got num_workers={self.num_workers}")
        if isinstance(ctx, str):
            methods = multiprocessing.get_all_start_methods()
            if ctx not in methods:
                raise ValueError(f"DataLoader: multiprocessing_context option should specify a valid start method "
                                 f"in {methods!r}, but got multiprocessing_context={ctx!r}")
            return multiprocessing.get_context(ctx)
        if not isinstance(ctx, multiprocessing.context.BaseContext):
            raise TypeError(f"DataLoader: multiprocessing_context option should be a valid context object or a "
                            f"string specifying the start method, but got multiprocessing_context={ctx!r}")
        return ctx

    def _check_worker_number(self):
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        if cpus and self.num_workers > cpus:
            warnings.warn(f"This DataLoader will create {self.num_workers} worker processes in total. Our suggested "
                          f"max number of worker in current system is {cpus}, which is smaller than what this "
                          f"DataLoader is going to create.", stacklevel=3)

    def __setattr__(self, name, value):
        if self._initialized and name in _FROZEN:
            raise ValueError(f"{name} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def _index_iter(self):
        """This epoch's indices: batches of them (int64 arrays on the fast path) with auto-collation."""
        return index_batches(self.batch_sampler) if self._auto_collation else iter(self.sampler)

    def _draw_base_seed(self):
        """The workers' base seed, drawn (as in PyTorch) from `generator` at the start of every epoch's iterator."""
        gen = self.generator if self.generator is not None else default_generator()
        return int(gen.integers(0, 2**62, ()))

    def _mp_context(self):
        if self.multiprocessing_context is not None:
            return self.multiprocessing_context
        # fork on Linux: workers start in milliseconds and inherit the dataset without pickling it; elsewhere the
        # platform's default (spawn on macOS and Windows, where fork is unsafe or missing)
        return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)

    def __iter__(self):
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        from ._multiprocessing import MultiProcessIter

        if not self.persistent_workers:
            return MultiProcessIter(self)
        if self._iterator is None or self._iterator.is_shut_down:
            self._iterator = MultiProcessIter(self)
        else:
            self._iterator.reset(self)
        return self._iterator

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
            return n
        return len(self._index_sampler)
