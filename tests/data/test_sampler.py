"""Samplers: orders, lengths, reproducibility through generators and manual_seed, PyTorch's argument checks."""
import numpy as np
import pytest

import eagerlab as el
from eagerlab.data import (BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                           WeightedRandomSampler)
from eagerlab.data.sampler import index_batches


def test_sequential_sampler():
    s = SequentialSampler(range(5))
    assert list(s) == [0, 1, 2, 3, 4] and len(s) == 5
    assert all(type(i) is int for i in s)


def test_random_sampler_is_a_permutation_reproducible_by_generator_and_seed():
    s = RandomSampler(range(50), generator=el.Generator().manual_seed(3))
    first = list(s)
    assert sorted(first) == list(range(50)) and all(type(i) is int for i in first)
    assert list(RandomSampler(range(50), generator=el.Generator().manual_seed(3))) == first
    assert list(s) != first  # the generator advances: a new order every epoch
    el.manual_seed(7)
    a = list(RandomSampler(range(50)))
    el.manual_seed(7)
    assert list(RandomSampler(range(50))) == a


def test_random_sampler_num_samples_and_replacement():
    s = RandomSampler(range(4), num_samples=10)
    out = list(s)
    assert len(out) == len(s) == 10
    assert sorted(out[:4]) == [0, 1, 2, 3] and sorted(out[4:8]) == [0, 1, 2, 3]  # whole permutations, then a cut
    r = list(RandomSampler(range(3), replacement=True, num_samples=200))
    assert len(r) == 200 and set(r) == {0, 1, 2}


def test_random_sampler_errors_match_torch_wording():
    with pytest.raises(TypeError, match="replacement should be a boolean value"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, but got num_samples=0"):
        RandomSampler(range(0))
    with pytest.raises(ValueError, match="num_samples=-1"):
        RandomSampler(range(3), num_samples=-1)
    with pytest.raises(TypeError, match="generator must be an eagerlab.Generator"):
        list(RandomSampler(range(3), generator=np.random.default_rng()))


def test_subset_random_sampler():
    s = SubsetRandomSampler([10, 20, 30, 40], generator=el.Generator().manual_seed(0))
    out = list(s)
    assert sorted(out) == [10, 20, 30, 40] and len(s) == 4


def test_weighted_random_sampler():
    s = WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=el.Generator().manual_seed(0))
    counts = np.bincount(list(s), minlength=3)
    assert counts[0] == 0 and abs(counts[2] / counts[1] - 3) < 0.4 and len(s) == 4000
    no_rep = list(WeightedRandomSampler([1, 1, 1, 1], 4, replacement=False))
    assert sorted(no_rep) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        WeightedRandomSampler([1.0], 0)
    with pytest.raises(ValueError, match="replacement should be a boolean value"):
        WeightedRandomSampler([1.0], 1, replacement="yes")
    with pytest.raises(ValueError, match=r"1d sequence.*\(2, 2\)"):
        WeightedRandomSampler([[1.0, 2.0], [3.0, 4.0]], 1)


def test_batch_sampler_matches_torch_examples():
    assert list(BatchSampler(SequentialSampler(range(10)), 3, False)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert list(BatchSampler(SequentialSampler(range(10)), 3, True)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert len(BatchSampler(range(10), 3, False)) == 4 and len(BatchSampler(range(10), 3, True)) == 3
    assert list(BatchSampler([5, 6, 7], 2, False)) == [[5, 6], [7]]  # any iterable
    with pytest.raises(ValueError, match="batch_size should be a positive integer value, but got batch_size=0"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="batch_size=True"):
        BatchSampler(range(3), True, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean value"):
        BatchSampler(range(3), 2, 1)


@pytest.mark.parametrize("drop_last", [False, True])
def test_index_batches_slices_one_epoch_array(drop_last):
    bs = BatchSampler(RandomSampler(range(11), generator=el.Generator().manual_seed(4)), 4, drop_last)
    lists = list(bs)
    bs.sampler.generator.manual_seed(4)
    arrays = list(index_batches(bs))
    assert all(isinstance(a, np.ndarray) and a.dtype == np.int64 for a in arrays)
    assert [a.tolist() for a in arrays] == lists
    assert len(arrays) == len(bs)


def test_index_batches_defers_to_custom_samplers():
    class Evens(Sampler):
        def __iter__(self):
            return iter([0, 2, 4])

    class Reversed(SequentialSampler):
        def __iter__(self):
            return reversed(range(len(self.data_source)))

    assert list(index_batches(BatchSampler(Evens(), 2, False))) == [[0, 2], [4]]
    assert list(index_batches(BatchSampler(Reversed(range(3)), 2, False))) == [[2, 1], [0]]
    with pytest.raises(NotImplementedError):
        iter(Sampler())


def test_generic_subscripts_as_in_torch():
    from eagerlab.data import Dataset

    class Ints(Sampler[int]):
        def __iter__(self):
            return iter([1, 0])

    class Items(Dataset[tuple]):
        def __getitem__(self, i):
            return (i,)

    assert list(Ints()) == [1, 0] and Items()[3] == (3,) and issubclass(Items, Dataset)
