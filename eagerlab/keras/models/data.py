"""What fit / evaluate / predict accept as data, as batches of tensors: numpy arrays or tensors (with y and
sample_weight, batched here, shuffled per epoch), an eagerlab DataLoader, or a Python generator / iterable of
(x, y[, sample_weight]) batches. Floating numpy data becomes float32 (Keras's floatx), integer data int64."""
import math

import numpy as np

from ..._tensor import Tensor
from ...ops.creation import as_tensor
from ...ops.random import randperm


def as_array(x, what):
    """x as a numpy array (float data as float32): what Keras converts its inputs to."""
    if isinstance(x, Tensor):
        return x
    a = np.asarray(x)
    if a.dtype == object:
        raise TypeError(f"{what}: expected a numpy array, a tensor or nested lists of numbers, got {type(x).__name__}")
    if a.dtype.kind == "f" and a.dtype != np.float32:
        a = a.astype(np.float32)
    return a


def _to_tensor(a):
    return a if isinstance(a, Tensor) else as_tensor(np.ascontiguousarray(a))


class _Inputs:
    """Several input arrays (a multi-input model's x as a list) sliced together."""

    def __init__(self, arrays):
        self.arrays = [as_array(a, "x") for a in arrays]
        if len({len(a) for a in self.arrays}) > 1:
            raise ValueError(f"the inputs in x have different numbers of samples: {[len(a) for a in self.arrays]}")

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        return _Inputs([a[index] for a in self.arrays])


def _batch_tensor(a):
    return [_to_tensor(v) for v in a.arrays] if isinstance(a, _Inputs) else _to_tensor(a)


class ArrayBatches:
    """Batches of in-memory arrays: `len()` is the number of batches; iterating yields (x, y, sample_weight)."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False, steps=None):
        self.x = _Inputs(x) if isinstance(x, (list, tuple)) else as_array(x, "x")
        self.y = None if y is None else (_Inputs(y) if isinstance(y, (list, tuple)) else as_array(y, "y"))
        self.sample_weight = None if sample_weight is None else as_array(sample_weight, "sample_weight")
        n = len(self.x)
        for name, other in (("y", self.y), ("sample_weight", self.sample_weight)):  # (an _Inputs has a len too)
            if other is not None and len(other) != n:
                raise ValueError(f"x and {name} must have the same number of samples, got {n} and {len(other)}")
        self.n, self.batch_size, self.shuffle, self.steps = n, int(batch_size), shuffle, steps

    def __len__(self):
        full = math.ceil(self.n / self.batch_size)
        return full if self.steps is None else min(full, self.steps)

    def __iter__(self):
        # the permutation comes from eagerlab's generator, so eagerlab.manual_seed makes fit reproducible
        order = randperm(self.n).numpy() if self.shuffle else None
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            idx = slice(start, start + self.batch_size) if order is None else order[start:start + self.batch_size]
            yield tuple(None if a is None else _batch_tensor(a[idx]) for a in (self.x, self.y, self.sample_weight))

    def sample(self):
        """The first sample, as a batch of one: what builds an unbuilt model."""
        return _batch_tensor(self.x[:1])

    def split(self, fraction):
        """(training part, validation part): the last `fraction` of the samples, as Keras's validation_split."""
        if not 0 < fraction < 1:
            raise ValueError(f"validation_split must be between 0 and 1, got {fraction}")
        cut = int(self.n * (1 - fraction))
        parts = [(a[:cut] if a is not None else None, a[cut:] if a is not None else None)
                 for a in (self.x, self.y, self.sample_weight)]
        head = ArrayBatches(*(p[0] for p in parts), batch_size=self.batch_size, shuffle=self.shuffle)
        tail = ArrayBatches(*(p[1] for p in parts), batch_size=self.batch_size)
        return head, tail


class IterableBatches:
    """Batches from a DataLoader, a generator or any iterable of (x, y[, sample_weight]) tuples."""

    def __init__(self, source, steps=None):
        self.source, self.steps = source, steps

    def __len__(self):
        if self.steps is not None:
            return self.steps
        try:
            return len(self.source)
        except TypeError:
            return None  # an unbounded generator: the progress bar shows no total

    def sample(self):
        """The first input of a re-iterable source (a DataLoader); a generator cannot give one back."""
        it = iter(self.source)
        if it is self.source:
            raise ValueError("the model is not built and its data is a generator, which cannot be read ahead: "
                             "give the first layer input_shape=..., start with keras.Input(shape=...), or call "
                             "model.build((None, ...)) first")
        x = next(it)
        return _to_tensor(as_array(x[0] if isinstance(x, (tuple, list)) else x, "batch"))

    def __iter__(self):
        for i, batch in enumerate(self.source):
            if self.steps is not None and i >= self.steps:
                return
            if not isinstance(batch, (tuple, list)):
                batch = (batch,)
            if not 1 <= len(batch) <= 3:
                raise ValueError(f"a batch must be x, (x, y) or (x, y, sample_weight); got {len(batch)} items")
            x, y, sw = (*batch, None, None)[:3]
            yield tuple(None if a is None else _to_tensor(as_array(a, "batch")) for a in (x, y, sw))


def batches(x, y=None, sample_weight=None, batch_size=None, shuffle=False, steps=None):
    """The batches of fit/evaluate/predict's data arguments."""
    if isinstance(x, (np.ndarray, Tensor, list, tuple)):
        return ArrayBatches(x, y, sample_weight, batch_size or 32, shuffle, steps)
    if y is not None or sample_weight is not None:
        raise ValueError("y and sample_weight must be None when x is a DataLoader or a generator (it yields them)")
    return IterableBatches(x, steps)
