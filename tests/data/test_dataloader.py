"""DataLoader in the main process: argument checks and len() as PyTorch, batches equal to PyTorch's, the batched
fast path (used when allowed, same batches as item-by-item), iterable datasets, the eagerlab.utils.data alias."""
import json
import subprocess
import sys

import numpy as np
import pytest

import eagerlab as el
from eagerlab.data import (BatchSampler, DataLoader, Dataset, IterableDataset, SequentialSampler, TensorDataset,
                           default_collate)


class Pairs(Dataset):
    """Item by item: (float row, int label)."""

    def __init__(self, n=10):
        self.x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], i


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


class CountingTensorDataset(TensorDataset):
    def __init__(self, *tensors):
        super().__init__(*tensors)
        self.batch_calls = self.item_calls = 0

    def __getitem__(self, i):
        self.item_calls += 1
        return super().__getitem__(i)

    def __getbatch__(self, indices):
        self.batch_calls += 1
        return super().__getbatch__(indices)


def data(n=10):
    return el.arange(n * 2, dtype=el.float32).reshape(n, 2), el.arange(n)


# ---- argument checks and len ---------------------------------------------------------------------------------------
BAD_OPTIONS = [
    ({"num_workers": -1}, "num_workers"),
    ({"timeout": -1}, "timeout"),
    ({"prefetch_factor": 2}, "prefetch_factor"),
    ({"persistent_workers": True}, "persistent_workers"),
    ({"shuffle": True, "sampler": [0, 1]}, "mutually exclusive with shuffle"),
    ({"batch_sampler": [[0]], "batch_size": 2}, "batch_sampler option is mutually exclusive"),
    ({"batch_sampler": [[0]], "drop_last": True}, "batch_sampler option is mutually exclusive"),
    ({"batch_sampler": [[0]], "sampler": [0]}, "batch_sampler option is mutually exclusive"),
    ({"batch_size": None, "drop_last": True}, "batch_size=None option disables auto-batching"),
    ({"num_workers": 1, "prefetch_factor": -1}, "prefetch_factor"),
    ({"multiprocessing_context": "spawn"}, "num_workers > 0"),
    ({"num_workers": 1, "multiprocessing_context": "nope"}, "valid start method"),
]


@pytest.mark.parametrize("kwargs,message", BAD_OPTIONS, ids=[str(k) for k, _ in BAD_OPTIONS])
def test_bad_options_raise_value_error_like_torch(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DataLoader(TensorDataset(*data()), **kwargs)
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError):
        torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(10)), **kwargs)


def test_other_option_errors():
    with pytest.raises(ValueError, match="timeout applies to worker processes"):
        DataLoader(TensorDataset(*data()), timeout=1)
    with pytest.raises(TypeError, match="multiprocessing_context option should be a valid context"):
        DataLoader(TensorDataset(*data()), num_workers=1, multiprocessing_context=3)
    for kwargs in ({"shuffle": True}, {"sampler": [0]}, {"batch_sampler": [[0]]}):
        with pytest.raises(ValueError, match="DataLoader with IterableDataset: expected unspecified"):
            DataLoader(Stream(3), **kwargs)
    loader = DataLoader(TensorDataset(*data()))
    with pytest.raises(ValueError, match="batch_size attribute should not be set after DataLoader is initialized"):
        loader.batch_size = 3
    loader.num_workers = 0  # not frozen in PyTorch either


@pytest.mark.parametrize("kwargs", [{}, {"batch_size": 3}, {"batch_size": 3, "drop_last": True},
                                    {"batch_size": None}, {"batch_size": 4, "shuffle": True},
                                    {"batch_sampler": BatchSampler(SequentialSampler(range(10)), 4, False)}])
def test_len_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    ours = DataLoader(TensorDataset(*data()), **kwargs)
    theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(10)), **kwargs)
    assert len(ours) == len(theirs) == len(list(ours)) == len(iter(ours))


@pytest.mark.parametrize("kwargs", [{"batch_size": 3}, {"batch_size": 3, "drop_last": True}, {"batch_size": None}])
def test_len_of_iterable_dataset_matches_torch(kwargs):
    torch = pytest.importorskip("torch")

    class TorchStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(10))

        def __len__(self):
            return 10

    assert len(DataLoader(Stream(10), **kwargs)) == len(torch.utils.data.DataLoader(TorchStream(), **kwargs))
    assert len(list(DataLoader(Stream(10), **kwargs))) == len(DataLoader(Stream(10), **kwargs))


# ---- batches -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [{"batch_size": 4}, {"batch_size": 4, "drop_last": True}, {"batch_size": None}])
def test_batches_equal_torch(kwargs):
    torch = pytest.importorskip("torch")
    ours = list(DataLoader(Pairs(), **kwargs))
    theirs = list(torch.utils.data.DataLoader(Pairs(), **kwargs))
    assert len(ours) == len(theirs)
    for (xa, ya), (xb, yb) in zip(ours, theirs):
        np.testing.assert_array_equal(np.asarray(xa), xb.numpy())
        assert np.asarray(ya).tolist() == (yb.tolist() if isinstance(yb, torch.Tensor) else yb)


def test_fast_path_fetches_whole_batches():
    ds = CountingTensorDataset(*data())
    batches = list(DataLoader(ds, batch_size=4, shuffle=True))
    assert ds.batch_calls == 3 and ds.item_calls == 0
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate([b[1].numpy() for b in batches]).tolist()) == list(range(10))
    list(DataLoader(ds, batch_size=4, collate_fn=lambda items: items))  # a custom collate_fn: item by item
    assert ds.batch_calls == 3 and ds.item_calls == 10


@pytest.mark.parametrize("kwargs", [{"shuffle": True}, {"shuffle": True, "drop_last": True}, {}])
def test_fast_path_gives_the_item_by_item_batches(kwargs):
    class ItemByItem(TensorDataset):
        __getbatch__ = None

    x, y = data(23)
    fast = list(DataLoader(TensorDataset(x, y), batch_size=5, generator=el.Generator().manual_seed(2), **kwargs))
    slow = list(DataLoader(ItemByItem(x, y), batch_size=5, generator=el.Generator().manual_seed(2), **kwargs))
    assert len(fast) == len(slow)
    for a, b in zip(fast, slow):
        assert type(a) is type(b) is list
        for u, v in zip(a, b):
            assert u.dtype == v.dtype
            np.testing.assert_array_equal(u.numpy(), v.numpy())


def test_shuffle_is_reproducible_and_changes_every_epoch():
    loader = DataLoader(TensorDataset(*data(50)), batch_size=50, shuffle=True)
    el.manual_seed(11)
    first, second = [next(iter(loader))[1].tolist() for _ in range(2)]
    assert first != second and sorted(first) == list(range(50))
    el.manual_seed(11)
    assert next(iter(loader))[1].tolist() == first


def test_custom_sampler_and_batch_sampler():
    x, y = data()
    loader = DataLoader(TensorDataset(x, y), batch_size=2, sampler=[9, 8, 1])
    assert [b[1].tolist() for b in loader] == [[9, 8], [1]]
    loader = DataLoader(TensorDataset(x, y), batch_sampler=[[3, 3], [0]])
    assert [b[1].tolist() for b in loader] == [[3, 3], [0]]


def test_getitems_is_used_with_collate_fn():
    class Batched(Pairs):
        def __getitems__(self, indices):
            return [(self.x[i], -i) for i in indices]

    (x, y), = DataLoader(Batched(3), batch_size=3)
    assert y.tolist() == [0, -1, -2]


def test_batch_size_none_converts_without_batching():
    items = list(DataLoader(Pairs(3), batch_size=None))
    x, label = items[1]
    assert isinstance(x, el.Tensor) and x.shape == (2,) and label == 1


def test_iterable_dataset_batches():
    assert [b.tolist() for b in DataLoader(Stream(7), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.tolist() for b in DataLoader(Stream(7), batch_size=3, drop_last=True)] == [[0, 1, 2], [3, 4, 5]]
    assert list(DataLoader(Stream(3), batch_size=None)) == [0, 1, 2]
    assert list(DataLoader(Stream(0), batch_size=2)) == []


def test_collate_fn_receives_the_samples():
    seen = []
    loader = DataLoader(Pairs(4), batch_size=2, collate_fn=lambda b: seen.append(b) or len(b))
    assert list(loader) == [2, 2] and seen[0][1][1] == 1
    assert DataLoader(Pairs(), batch_size=2).collate_fn is default_collate


# ---- eagerlab.utils.data -------------------------------------------------------------------------------------------
def test_utils_data_alias_and_lazy_import():
    import eagerlab.data
    import eagerlab.utils.data

    assert eagerlab.utils.data is eagerlab.data and el.utils.data.DataLoader is DataLoader
    code = ("import json, sys, eagerlab; a = 'eagerlab.data' in sys.modules; d = eagerlab.utils.data.DataLoader; "
            "print(json.dumps([a, 'eagerlab.data' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [False, True]
