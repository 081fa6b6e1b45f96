"""Datasets: TensorDataset, Subset, ConcatDataset, StackDataset, ChainDataset, random_split, and the rules that
decide when `__getbatch__` may replace item-by-item fetching."""
import numpy as np
import pytest

import eagerlab as el
from eagerlab.data import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset,
                           TensorDataset, default_collate, random_split)
from eagerlab.data.dataset import batch_getter, fetch_collated
from eagerlab.errors import ShapeError


def xy(n=10):
    return el.arange(n * 3, dtype=el.float32).reshape(n, 3), el.arange(n)


class Squares(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return i * i


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def test_tensor_dataset_items_and_batches():
    x, y = xy()
    ds = TensorDataset(x, y)
    assert len(ds) == 10
    a, b = ds[3]
    np.testing.assert_array_equal(a.numpy(), [9, 10, 11])
    assert b.item() == 3 and b.shape == () and b.dtype == el.int64
    batch = ds.__getbatch__(np.array([4, 0, 4]))
    assert isinstance(batch, list)
    expected = default_collate([ds[4], ds[0], ds[4]])
    for got, want in zip(batch, expected):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert got.dtype == want.dtype
    np.testing.assert_array_equal(ds[-1][1].numpy(), 9)


def test_tensor_dataset_keeps_autograd_history():
    w = el.ones(4, 2, requires_grad=True)
    ds = TensorDataset(w)
    (row,) = ds[1]
    assert row.requires_grad
    (batch,) = ds.__getbatch__([0, 0, 3])
    batch.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy()[:, 0], [2, 0, 0, 1])
    with el.no_grad():
        assert not ds[1][0].requires_grad


def test_tensor_dataset_errors():
    with pytest.raises(ShapeError, match=r"\(3, 2\).*\(4,\)"):
        TensorDataset(el.ones(3, 2), el.ones(4))
    with pytest.raises(TypeError, match="argument 1 must be a Tensor.*ndarray"):
        TensorDataset(el.ones(3), np.ones(3))


def test_subset_maps_indices_and_batches():
    x, y = xy()
    sub = Subset(TensorDataset(x, y), [7, 2, 5])
    assert len(sub) == 3 and sub[0][1].item() == 7
    assert [s[1].item() for s in sub.__getitems__([2, 0])] == [5, 7]
    got = sub.__getbatch__(np.array([2, 0]))
    np.testing.assert_array_equal(got[1].numpy(), [5, 7])
    sub.indices = [1, 0]  # replaced indices are picked up by the batched path too
    np.testing.assert_array_equal(sub.__getbatch__([0])[1].numpy(), [1])


def test_subset_of_plain_dataset_and_list_index():
    sub = Subset(Squares(), [5, 1])
    np.testing.assert_array_equal(sub.__getbatch__(np.array([0, 1])).numpy(), [25, 1])
    assert sub[1] == 1


def test_concat_dataset():
    ds = ConcatDataset([Squares(), Squares()])
    assert len(ds) == 12 and ds.cumulative_sizes == [6, 12]
    assert [ds[i] for i in (0, 5, 6, 11, -1, -12)] == [0, 25, 0, 25, 25, 0]
    assert len(Squares() + Squares() + Squares()) == 18
    with pytest.raises(ValueError, match="should not exceed dataset length 12"):
        ds[-13]
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])
    with pytest.raises(TypeError, match="IterableDataset.*dataset 1"):
        ConcatDataset([Squares(), Stream(3)])


def test_chain_and_stack_datasets():
    chained = Stream(2) + Stream(3)
    assert isinstance(chained, ChainDataset) and list(chained) == [0, 1, 0, 1, 2] and len(chained) == 5
    with pytest.raises(TypeError, match="only supports IterableDataset"):
        list(ChainDataset([Squares()]))
    st = StackDataset(Squares(), Squares())
    assert st[2] == (4, 4) and len(st) == 6
    assert StackDataset(a=Squares(), b=Squares())[3] == {"a": 9, "b": 9}
    with pytest.raises(ValueError, match="size mismatch"):
        StackDataset(Squares(), Stream(2))
    with pytest.raises(ValueError, match="not both"):
        StackDataset(Squares(), b=Squares())


def test_base_classes_raise_not_implemented():
    with pytest.raises(NotImplementedError):
        Dataset()[0]
    with pytest.raises(NotImplementedError):
        iter(IterableDataset())


# ---- when __getbatch__ is used ------------------------------------------------------------------------------------
class Doubled(TensorDataset):
    def __getitem__(self, i):
        return tuple(2 * t for t in super().__getitem__(i))


class DoubledBatched(Doubled):
    def __getbatch__(self, indices):
        return [2 * t for t in super().__getbatch__(indices)]


class OptedOut(TensorDataset):
    __getbatch__ = None


def test_getbatch_is_skipped_when_a_subclass_overrides_getitem():
    x, y = xy(4)
    assert batch_getter(TensorDataset(x, y)) is not None
    assert batch_getter(Doubled(x, y)) is None
    assert batch_getter(DoubledBatched(x, y)) is not None
    assert batch_getter(OptedOut(x, y)) is None
    assert batch_getter(Squares()) is None
    got = fetch_collated(Doubled(x, y), np.array([1, 3]))  # the override is honoured
    np.testing.assert_array_equal(got[1].numpy(), [2, 6])
    np.testing.assert_array_equal(fetch_collated(DoubledBatched(x, y), [1, 3])[1].numpy(), [2, 6])


# ---- random_split -------------------------------------------------------------------------------------------------
def test_random_split_lengths_are_a_partition_and_reproducible():
    parts = random_split(range(10), [3, 7], generator=el.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [3, 7]
    assert sorted(parts[0].indices + parts[1].indices) == list(range(10))
    again = random_split(range(10), [3, 7], generator=el.Generator().manual_seed(1))
    assert again[0].indices == parts[0].indices
    el.manual_seed(5)
    a = random_split(range(10), [5, 5])[0].indices
    el.manual_seed(5)
    assert random_split(range(10), [5, 5])[0].indices == a


@pytest.mark.filterwarnings("ignore:Length of split")
def test_random_split_fractions_match_torch_sizes():
    torch = pytest.importorskip("torch")
    for n, fracs in [(10, [0.3, 0.7]), (11, [0.5, 0.5]), (7, [0.25, 0.25, 0.5]), (5, [0.1, 0.1, 0.8])]:
        ours = [len(p) for p in random_split(range(n), fracs)]
        theirs = [len(p) for p in torch.utils.data.random_split(range(n), fracs)]
        assert ours == theirs, (n, fracs)


def test_random_split_errors_and_warning():
    with pytest.raises(ValueError, match=r"sum of input lengths \(9\).*\(10\)"):
        random_split(range(10), [4, 5])
    with pytest.raises(ValueError, match="fraction at index 1"):
        random_split(range(10), [0.5, -0.5, 1.0])
    with pytest.warns(UserWarning, match="index 1 is 0"):
        random_split(range(1), [0.5, 0.5])


def test_subset_subclass_overriding_getitem_is_honoured():
    class Negated(Subset):
        def __getitem__(self, i):
            return -super().__getitem__(i)

    sub = Negated(Squares(), [1, 2, 3])
    assert batch_getter(sub) is None
    np.testing.assert_array_equal(fetch_collated(sub, np.array([0, 2])).numpy(), [-1, -9])
