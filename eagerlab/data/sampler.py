"""Samplers (PyTorch's names and checks): the order in which a DataLoader visits a map-style dataset.

The index samplers here also draw an epoch as int64 arrays (`_chunks`: one array, or a stream of bounded chunks
when the epoch is drawn lazily), which `index_batches` slices into batches so the DataLoader's fast path never
touches Python ints; iterating a sampler yields Python ints as in PyTorch. Random samplers without a generator
draw a fresh seed from eagerlab's default generator per epoch, so `eagerlab.manual_seed` makes shuffling
reproducible.
"""
import itertools
from types import GenericAlias

import numpy as np

from ..backend import Generator, default_generator


class Sampler:
    """Base class: subclasses define `__iter__` (indices or lists of indices) and usually `__len__`."""

    __class_getitem__ = classmethod(GenericAlias)  # `Sampler[int]`, as with torch

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError


def _check_positive_int(owner, name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{owner}: {name} should be a positive integer value, but got {name}={value!r}")


def _epoch_generator(generator):
    """The generator for one epoch: the given one, or a new one seeded from the default generator."""
    if generator is not None:
        return generator
    return Generator().manual_seed(int(default_generator().integers(0, 2**62, ())))


# draws with replacement come in chunks of this many indices: a sampler of 1e10 draws (GPT training scripts ask
# for that) holds 8 MiB at a time, not 75 GiB
_CHUNK = 1 << 20


class _IndexSampler(Sampler):
    """A sampler whose epoch is int64 arrays of indices: `_epoch()` the whole of it, or `_chunks()` in pieces."""

    def _epoch(self):
        raise NotImplementedError

    def _chunks(self):
        yield self._epoch()

    def __iter__(self):
        for chunk in self._chunks():
            yield from chunk.tolist()


class SequentialSampler(_IndexSampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def _epoch(self):
        return np.arange(len(self.data_source), dtype=np.int64)

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(_IndexSampler):
    """A random permutation (repeated and cut to `num_samples`), or `num_samples` draws with replacement."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, but got "
                            f"replacement={replacement!r}")
        _check_positive_int("RandomSampler", "num_samples", self.num_samples)

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _epoch(self):
        return np.concatenate(list(self._chunks()))

    def _chunks(self):
        from ..ops.random import randint, randperm

        n, k = len(self.data_source), self.num_samples
        gen = _epoch_generator(self.generator)
        if self.replacement:  # drawn lazily, chunk by chunk, so num_samples may be huge
            for start in range(0, k, _CHUNK):
                yield randint(0, n, (min(_CHUNK, k - start),), generator=gen)._host()
            return
        perms = [randperm(n, generator=gen)._host() for _ in range(k // n + 1)]
        yield np.concatenate(perms)[:k]

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(_IndexSampler):
    """The given indices in a random order."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def _epoch(self):
        from ..ops.random import randperm

        order = randperm(len(self.indices), generator=_epoch_generator(self.generator))._host()
        return np.asarray(self.indices, dtype=np.int64).reshape(-1)[order]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(_IndexSampler):
    """`num_samples` indices drawn with probability proportional to `weights` (with or without replacement)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        from ..ops.creation import as_tensor

        _check_positive_int("WeightedRandomSampler", "num_samples", num_samples)
        if not isinstance(replacement, bool):
            raise ValueError(f"WeightedRandomSampler: replacement should be a boolean value, but got "
                             f"replacement={replacement!r}")
        weights = as_tensor(weights, dtype="float64")
        if weights.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1d sequence but given weights have shape "
                             f"{tuple(weights.shape)}")
        self.weights = weights
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def _epoch(self):
        from ..ops.random import multinomial

        return multinomial(self.weights, self.num_samples, self.replacement, generator=self.generator)._host()

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of `batch_size` (the last one shorter unless `drop_last`)."""

    def __init__(self, sampler, batch_size, drop_last):
        _check_positive_int("BatchSampler", "batch_size", batch_size)
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value, but got drop_last={drop_last!r}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        it = iter(self.sampler)
        if self.drop_last:
            return (list(b) for b in zip(*[it] * self.batch_size))
        return iter(lambda: list(itertools.islice(it, self.batch_size)), [])

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size


def index_batches(batch_sampler):
    """Iterate `batch_sampler`'s batches, as int64 array slices of one epoch array when it is a plain BatchSampler
    over one of the index samplers above (the DataLoader's fast path), else as it yields them."""
    if type(batch_sampler) is not BatchSampler or not isinstance(batch_sampler.sampler, _IndexSampler) \
            or type(batch_sampler.sampler).__iter__ not in (_IndexSampler.__iter__, SequentialSampler.__iter__):
        return iter(batch_sampler)
    return _batches(batch_sampler.sampler._chunks(), batch_sampler.batch_size, batch_sampler.drop_last)


def _batches(chunks, size, drop_last):
    """Slices of `size` from a stream of index chunks (a batch may span two chunks)."""
    rest = None
    for chunk in chunks:
        if rest is not None and len(rest):
            chunk = np.concatenate([rest, chunk])
        stop = len(chunk) - len(chunk) % size
        for i in range(0, stop, size):
            yield chunk[i:i + size]
        rest = chunk[stop:]
    if rest is not None and len(rest) and not drop_last:
        yield rest
