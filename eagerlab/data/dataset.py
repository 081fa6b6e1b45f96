"""Datasets (PyTorch's torch.utils.data names): Dataset, IterableDataset, TensorDataset, StackDataset, Subset,
ConcatDataset, ChainDataset and random_split.

Batched fetching. A map-style dataset may define `__getbatch__(indices)`: given a sequence of int indices (a numpy
int64 array on the DataLoader's fast path) it returns the whole batch already collated, exactly what
`default_collate([self[i] for i in indices])` would return, usually by one fancy-index per array. The DataLoader
calls it instead of N `__getitem__` calls plus a collate when its `collate_fn` is the default one.
`__getitems__(indices)` keeps its PyTorch meaning (a list of samples, handed to `collate_fn`). A subclass that
overrides `__getitem__` or `__getitems__` but not `__getbatch__` is fetched item by item, so an override is never
bypassed (likewise `__getitems__` is skipped when a subclass overrides `__getitem__`, where PyTorch's Subset
raises); `__getbatch__ = None` opts a class out.
"""
import bisect
import itertools
import math
import warnings
from types import GenericAlias

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import is_grad_enabled
from ..errors import ShapeError, fmt_shape


class Dataset:
    """A map from keys (usually ints 0..len-1) to samples: subclasses define `__getitem__` (and `__len__`)."""

    __class_getitem__ = classmethod(GenericAlias)  # `Dataset[int]` in annotations and bases, as with torch

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses define `__iter__`. With DataLoader workers every worker iterates its own
    copy; use `get_worker_info()` inside `__iter__` to give each worker its share."""

    def __iter__(self):
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other):
        return ChainDataset([self, other])


# ---- batched fetching ------------------------------------------------------------------------------------------
def _defining_class(cls, name):
    return next((c for c in cls.__mro__ if name in c.__dict__), None)


def _method_if_not_shadowed(dataset, name, per_item):
    """`dataset.<name>` unless it is None or a subclass overrides one of the `per_item` methods below the class
    that defines it (then that override would be bypassed)."""
    cls = type(dataset)
    owner = _defining_class(cls, name)
    if owner is None or owner.__dict__[name] is None:
        return None
    mro = cls.__mro__
    for other in per_item:
        defined = _defining_class(cls, other)
        if defined is not None and mro.index(defined) < mro.index(owner):
            return None
    return getattr(dataset, name)


def batch_getter(dataset):
    """`dataset.__getbatch__` when it may replace item-by-item fetching (see the module doc), else None."""
    return _method_if_not_shadowed(dataset, "__getbatch__", ("__getitem__", "__getitems__"))


def fetch_items(dataset, indices):
    """The list of samples for `indices`, through `__getitems__` when the dataset has one (PyTorch semantics)
    that no subclass's `__getitem__` overrides."""
    if isinstance(indices, np.ndarray):
        indices = indices.tolist()  # __getitem__ receives Python ints, as with PyTorch's samplers
    getitems = _method_if_not_shadowed(dataset, "__getitems__", ("__getitem__",))
    if getitems is not None:
        return getitems(indices)
    return [dataset[i] for i in indices]


def fetch_collated(dataset, indices):
    """`default_collate` of the samples at `indices`, in one `__getbatch__` call when the dataset allows it."""
    getbatch = batch_getter(dataset)
    if getbatch is not None:
        return getbatch(indices)
    from .collate import default_collate

    return default_collate(fetch_items(dataset, indices))


def _index_array(indices):
    return indices if isinstance(indices, np.ndarray) else np.asarray(indices, dtype=np.int64)


# ---- concrete datasets -----------------------------------------------------------------------------------------
class TensorDataset(Dataset):
    """Samples are `tuple(t[i] for t in tensors)`; all tensors share their first dimension."""

    def __init__(self, *tensors):
        for k, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: argument {k} must be a Tensor, got {type(t).__name__}")
        if tensors and any(t.ndim == 0 or t.shape[0] != tensors[0].shape[0] for t in tensors):
            shapes = ", ".join(fmt_shape(t.shape) for t in tensors)
            raise ShapeError(f"TensorDataset: size mismatch between tensors: every tensor needs the same first "
                             f"dimension, got shapes {shapes}")
        self.tensors = tensors

    def _raw(self):
        """True when indexing the raw arrays is exact: no tensor records autograd history."""
        return not (is_grad_enabled() and any(t.requires_grad for t in self.tensors))

    def __getitem__(self, index):
        if self._raw() and not isinstance(index, Tensor):
            # asarray: an int index of a 1-d array gives a numpy scalar, and a Tensor holds an array
            return tuple(Tensor._make(t._device.xp.asarray(t._data[index]), t._device) for t in self.tensors)
        return tuple(t[index] for t in self.tensors)

    def __getbatch__(self, indices):
        if not self._raw():
            from ..ops.creation import as_tensor

            idx = as_tensor(_index_array(indices))
            return [t[idx] for t in self.tensors]
        idx = _index_array(indices)
        return [Tensor._make(t._data.take(idx if t._device.xp is np else t._device.xp.asarray(idx), axis=0),
                             t._device) for t in self.tensors]

    def __len__(self):
        return self.tensors[0].shape[0] if self.tensors else 0


class StackDataset(Dataset):
    """Samples are tuples (positional datasets) or dicts (keyword datasets) of the datasets' samples."""

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("StackDataset: pass datasets either positionally (tuple samples) or by keyword (dict "
                             "samples), not both")
        if not (args or kwargs):
            raise ValueError("StackDataset: at least one dataset should be passed")
        self.datasets = args or kwargs
        parts = list(args) if args else list(kwargs.values())
        self._length = len(parts[0])
        if any(len(d) != self._length for d in parts):
            raise ValueError(f"StackDataset: size mismatch between datasets: lengths {[len(d) for d in parts]}")

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self):
        return self._length


class Subset(Dataset):
    """The samples of `dataset` at `indices` (a sequence of ints)."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices
        self._cache = (None, None)

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        return fetch_items(self.dataset, [self.indices[i] for i in indices])

    def __getbatch__(self, indices):
        if self._cache[0] is not self.indices:  # `indices` may be replaced by the user: re-read it then
            self._cache = (self.indices, _index_array(self.indices))
        return fetch_collated(self.dataset, self._cache[1][_index_array(indices)])

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """The samples of several map-style datasets, one after the other."""

    @staticmethod
    def cumsum(sequence):
        return list(itertools.accumulate(len(d) for d in sequence))

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for k, d in enumerate(self.datasets):
            if isinstance(d, IterableDataset):
                raise TypeError(f"ConcatDataset does not support IterableDataset (dataset {k}); use ChainDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError(f"ConcatDataset: absolute value of index {idx} should not exceed dataset length "
                                 f"{len(self)}")
            idx += len(self)
        k = bisect.bisect_right(self.cumulative_sizes, idx)
        return self.datasets[k][idx - (self.cumulative_sizes[k - 1] if k else 0)]


class ChainDataset(IterableDataset):
    """The samples of several iterable datasets, one stream after the other."""

    def __init__(self, datasets):
        self.datasets = datasets

    def _check(self, d):
        if not isinstance(d, IterableDataset):
            raise TypeError(f"ChainDataset only supports IterableDataset, got {type(d).__name__}")
        return d

    def __iter__(self):
        for d in self.datasets:
            yield from self._check(d)

    def __len__(self):
        return sum(len(self._check(d)) for d in self.datasets)


def random_split(dataset, lengths, generator=None):
    """Split `dataset` into non-overlapping random Subsets of the given lengths, or of fractions summing to 1
    (floor of each share, the remainder handed out one by one from the first split). `generator` (an
    eagerlab.Generator; default: the global one) makes the split reproducible."""
    from ..ops.random import randperm

    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1 (got {frac})")
            sizes.append(math.floor(n * frac))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.",
                              stacklevel=2)
        lengths = sizes
    if any(int(x) != x or x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be non-negative ints or fractions summing to 1, got {lengths}")
    if sum(lengths) != n:
        raise ValueError(f"random_split: sum of input lengths ({sum(lengths)}) does not equal the length of the "
                         f"input dataset ({n})")
    order = randperm(n, generator=generator)._host().tolist()
    return [Subset(dataset, order[end - size:end]) for end, size in zip(itertools.accumulate(lengths), lengths)]
