"""DataLoader worker processes: sampler order, seeding, get_worker_info, iterable sharding, persistent workers,
errors re-raised with worker id and traceback, killed workers and timeouts raising instead of hanging, and no
worker process left behind after exhaustion, deletion or an error."""
import gc
import os
import pickle
import random
import signal
import time

import numpy as np
import pytest

import eagerlab as el
from eagerlab.data import (DataLoader, Dataset, IterableDataset, TensorDataset, WorkerError, get_worker_info)
from eagerlab.errors import UnsupportedError

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="these tests use the fork start method")


def assert_gone(pids, within=3.0):
    """Every pid has exited and been reaped (no orphan, no zombie)."""
    deadline = time.monotonic() + within
    while any(os.path.exists(f"/proc/{p}") for p in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not [p for p in pids if os.path.exists(f"/proc/{p}")]


class Pairs(Dataset):
    def __init__(self, n=20):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full(3, i, np.float32), i


class WhoAmI(Dataset):
    """Each sample says which worker made it and draws from every random source."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return {"id": info.id, "n": info.num_workers, "seed": info.seed, "same": info.dataset is self,
                "np": np.random.rand(), "el": el.rand(1).item(), "py": random.random()}


class Failing(Dataset):
    def __init__(self, bad, exc=ValueError):
        self.bad, self.exc = bad, exc

    def __len__(self):
        return 12

    def __getitem__(self, i):
        if i == self.bad:
            raise self.exc(f"bad sample {i}")
        return i


class Slow(Dataset):
    def __init__(self, seconds):
        self.seconds = seconds

    def __len__(self):
        return 100

    def __getitem__(self, i):
        time.sleep(self.seconds)
        return i


class Shards(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))


# ---- results -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("prefetch_factor", [1, 3])
def test_batches_in_sampler_order_equal_single_process(prefetch_factor):
    x, y = el.randn(37, 3), el.arange(37)
    kw = dict(batch_size=4, shuffle=True)
    single = list(DataLoader(TensorDataset(x, y), generator=el.Generator().manual_seed(5), **kw))
    multi = list(DataLoader(TensorDataset(x, y), generator=el.Generator().manual_seed(5), num_workers=2,
                            prefetch_factor=prefetch_factor, **kw))
    assert len(single) == len(multi) == 10
    for (a, b), (c, d) in zip(single, multi):
        np.testing.assert_array_equal(a.numpy(), c.numpy())
        np.testing.assert_array_equal(b.numpy(), d.numpy())
    c.add_(1)  # batches arrive as ordinary writable tensors


def test_item_by_item_path_and_collate_fn_in_workers():
    batches = list(DataLoader(Pairs(), batch_size=6, num_workers=2))
    assert [b[1].tolist() for b in batches] == [list(range(0, 6)), list(range(6, 12)), list(range(12, 18)),
                                                 [18, 19]]
    assert batches[0][0].dtype == el.float32
    sizes = list(DataLoader(Pairs(5), batch_size=2, num_workers=2, collate_fn=len))
    assert sizes == [2, 2, 1]


def test_tensors_cross_as_arrays_not_by_pickle():
    with pytest.raises(UnsupportedError):
        pickle.dumps(el.ones(2))
    out = list(DataLoader(Pairs(4), batch_size=None, num_workers=1, collate_fn=lambda s: {"t": el.ones(2) * s[1]}))
    assert [o["t"].tolist() for o in out] == [[0, 0], [1, 1], [2, 2], [3, 3]]


# ---- worker info and seeding ---------------------------------------------------------------------------------------
def test_worker_info_seeds_and_init_fn():
    assert get_worker_info() is None
    loader = DataLoader(WhoAmI(), batch_size=None, num_workers=2, generator=el.Generator().manual_seed(3),
                        worker_init_fn=_init_fn)
    rows = list(loader)
    assert [r["id"] for r in rows] == [0, 1] * 4 and all(r["n"] == 2 and r["same"] for r in rows)
    seeds = {r["id"]: r["seed"] for r in rows}
    assert seeds[1] == seeds[0] + 1  # base_seed + worker id, as in PyTorch
    for source in ("np", "el", "py"):
        assert rows[0][source] != rows[1][source], source  # distinct streams per worker
    again = list(DataLoader(WhoAmI(), batch_size=None, num_workers=2, generator=el.Generator().manual_seed(3),
                            worker_init_fn=_init_fn))
    assert again == rows  # reproducible from the loader's generator


def _init_fn(worker_id):
    assert get_worker_info().id == worker_id


def test_iterable_dataset_sharded_by_worker_info():
    got = [b.tolist() for b in DataLoader(Shards(11), batch_size=3, num_workers=2)]
    assert sorted(sum(got, [])) == list(range(11))
    assert got[:2] == [[0, 2, 4], [1, 3, 5]]  # round-robin over workers, each batch from one worker
    dropped = [b.tolist() for b in DataLoader(Shards(11), batch_size=3, num_workers=2, drop_last=True)]
    assert dropped == [[0, 2, 4], [1, 3, 5], [6, 8, 10]]  # each worker drops its own short last batch


# ---- errors --------------------------------------------------------------------------------------------------------
def test_worker_exception_is_reraised_typed_with_worker_id_and_traceback():
    it = iter(DataLoader(Failing(bad=5), batch_size=2, num_workers=2))
    pids = it.worker_pids
    assert [b.tolist() for b in (next(it), next(it))] == [[0, 1], [2, 3]]
    with pytest.raises(ValueError) as info:
        next(it)
    err = info.value
    assert isinstance(err, WorkerError) and err.worker_id == 0
    assert "Caught ValueError in DataLoader worker process 0" in str(err)
    assert 'raise self.exc(f"bad sample {i}")' in err.original_traceback and "bad sample 5" in str(err)
    assert_gone(pids)
    with pytest.raises(StopIteration):
        next(it)


def test_key_error_and_local_exception_types():
    with pytest.raises(KeyError) as info:
        list(DataLoader(Failing(bad=0, exc=KeyError), num_workers=1))
    assert str(info.value).startswith("Caught KeyError")  # not quoted as KeyError.__str__ would

    class Local(Exception):
        pass

    with pytest.raises(WorkerError, match="Caught Local in DataLoader worker process 0"):
        list(DataLoader(Failing(bad=0, exc=Local), num_workers=1))


def test_worker_init_fn_error_and_unpicklable_batch():
    def bad_init(worker_id):
        raise RuntimeError(f"init failed in {worker_id}")

    with pytest.raises(RuntimeError, match="init failed in 0"):
        list(DataLoader(Pairs(4), num_workers=1, worker_init_fn=bad_init))
    with pytest.raises(WorkerError, match="(?i)pickle"):
        list(DataLoader(Pairs(4), batch_size=None, num_workers=1, collate_fn=lambda s: lambda: s))


def test_killed_worker_raises_within_seconds():
    it = iter(DataLoader(Slow(0.05), num_workers=2))
    assert next(it).tolist() == [0]
    pids = it.worker_pids
    os.kill(pids[1], signal.SIGKILL)
    start = time.monotonic()
    with pytest.raises(WorkerError, match=r"worker 1 \(pid \d+\) exited unexpectedly \(killed by signal SIGKILL\)"):
        for _ in it:
            pass
    assert time.monotonic() - start < 10  # seconds, not a hang (generous for a loaded machine)
    assert_gone(pids)


def test_timeout_raises():
    it = iter(DataLoader(Slow(30.0), num_workers=1, timeout=0.2))
    pids = it.worker_pids
    start = time.monotonic()
    with pytest.raises(WorkerError, match="timed out after 0.2 seconds waiting for batch 0 from worker 0"):
        next(it)
    assert time.monotonic() - start < 10  # the timeout, long before the 30 s item
    assert_gone(pids)


# ---- shutdown ------------------------------------------------------------------------------------------------------
def test_workers_exit_after_exhaustion():
    it = iter(DataLoader(Pairs(6), batch_size=2, num_workers=2))
    pids = it.worker_pids
    assert len(list(it)) == 3
    assert_gone(pids)


def test_workers_exit_when_the_iterator_is_deleted_mid_epoch():
    it = iter(DataLoader(Slow(0.01), batch_size=2, num_workers=2))
    next(it)
    pids = it.worker_pids
    del it
    gc.collect()
    assert_gone(pids)


def test_persistent_workers_survive_epochs_and_restart_cleanly():
    loader = DataLoader(Pairs(10), batch_size=3, num_workers=2, persistent_workers=True)
    first = [b[1].tolist() for b in loader]
    pids = loader._iterator.worker_pids
    it = iter(loader)
    next(it)  # abandon this epoch after one batch: its answers in flight must not leak into the next one
    assert [b[1].tolist() for b in loader] == first
    assert loader._iterator.worker_pids == pids and all(os.path.exists(f"/proc/{p}") for p in pids)
    del loader, it
    gc.collect()
    assert_gone(pids)


def test_spawn_start_method():
    x = el.arange(12, dtype=el.float32).reshape(6, 2)
    loader = DataLoader(TensorDataset(x, el.arange(6)), batch_size=4, num_workers=1, multiprocessing_context="spawn")
    got = list(loader)
    np.testing.assert_array_equal(got[0][0].numpy(), x.numpy()[:4])
    assert got[1][1].tolist() == [4, 5]


def test_spawn_with_unpicklable_collate_fn_explains_the_pickling_error():
    loader = DataLoader(TensorDataset(el.arange(4)), num_workers=1, multiprocessing_context="spawn",
                        collate_fn=lambda batch: batch)
    with pytest.raises(Exception) as info:
        iter(loader)
    assert isinstance(info.value, (pickle.PicklingError, AttributeError, TypeError))
    assert any("must be picklable" in note for note in getattr(info.value, "__notes__", ["must be picklable"]))
