"""eagerlab.multiprocessing: shared-memory tensors seen and written by children started by fork and by spawn, tensors
through Queues, Module.share_memory and a hogwild run (one model trained by two processes), spawn() and its error
reporting. Every child is bounded by a join timeout."""
import pickle

import numpy as np
import pytest

import eagerlab as el
import eagerlab.multiprocessing as mp
import eagerlab.nn as nn
import eagerlab.nn.functional as F
from eagerlab.errors import AutogradError, UnsupportedError

TIMEOUT_S = 60


def _run(ctx, target, *args):
    p = ctx.Process(target=target, args=args)
    p.start()
    p.join(TIMEOUT_S)
    if p.is_alive():
        p.terminate()
        pytest.fail(f"child {target.__name__} did not finish in {TIMEOUT_S} s")
    assert p.exitcode == 0, f"child {target.__name__} exited with {p.exitcode}"


def _add_one(t, view):
    t.add_(1.0)
    view.mul_(10.0)  # a view of a shared tensor writes into the same memory


def test_share_memory_and_is_shared():
    t = el.arange(6.0).reshape(2, 3)
    assert not t.is_shared()
    assert t.share_memory_() is t and t.is_shared() and t[0].is_shared()
    np.testing.assert_array_equal(t.numpy(), np.arange(6.0).reshape(2, 3))  # values kept
    t.share_memory_()  # again: nothing to do
    empty = el.zeros(0, 3).share_memory_()
    assert empty.is_shared() and empty.shape == (0, 3)
    base = el.zeros(2, 3)
    row = base[1]
    early = base[0]
    assert row.share_memory_() is row and row.is_shared() and base.is_shared()  # a view shares its base
    row.fill_(5.0)
    np.testing.assert_array_equal(base.numpy(), [[0, 0, 0], [5, 5, 5]])
    assert not early.is_shared()  # views made before keep the old memory (documented), and say so when sent
    with pytest.raises(UnsupportedError, match=r"view of a tensor \(shape \(2, 3\)\) that was moved to shared "
                                               r"memory after this view was taken"):
        early.share_memory_()
    with pytest.raises(UnsupportedError, match=r"view of a tensor \(shape \(3, 2\)\) that is not contiguous"):
        el.from_numpy(np.zeros((2, 3), np.float32).T)[0].share_memory_()
    with pytest.raises(UnsupportedError, match="Tensors cannot be pickled"):  # plain pickle still refuses
        pickle.dumps(t)


def test_module_share_memory_keeps_parameters_and_optimizer_working():
    model = nn.Linear(3, 2)
    w = model.weight
    before = w.detach().numpy().copy()
    opt = el.optim.SGD(model.parameters(), lr=0.1)
    assert model.share_memory() is model
    assert model.weight is w and all(p.is_shared() for p in model.parameters())
    np.testing.assert_array_equal(w.detach().numpy(), before)
    model(el.ones(4, 3)).sum().backward()
    opt.step()
    assert model.weight.is_shared() and not np.array_equal(w.detach().numpy(), before)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_children_write_into_the_parents_tensor(method):
    ctx = mp.get_context(method)
    t = el.zeros(2, 3)
    t.share_memory_()
    _run(ctx, _add_one, t, t[1])
    np.testing.assert_array_equal(t.numpy(), [[1, 1, 1], [10, 10, 10]])


def _echo(inbox, outbox):
    t = inbox.get(timeout=TIMEOUT_S)
    t += 1  # in place, into the shared memory
    outbox.put(el.full((2,), 7.0))  # a tensor made here travels back through shared memory
    outbox.put(t.is_shared())
    inbox.get(timeout=TIMEOUT_S)  # stay alive until the parent has what it sent (its descriptors live here)


def test_tensors_travel_through_queues_in_shared_memory():
    ctx = mp.get_context("spawn")
    inbox, outbox = ctx.Queue(), ctx.Queue()
    p = ctx.Process(target=_echo, args=(inbox, outbox))
    p.start()
    try:
        t = el.zeros(3)  # not shared yet: sending it moves it into shared memory, as in PyTorch
        inbox.put(t)
        back = outbox.get(timeout=TIMEOUT_S)
        assert outbox.get(timeout=TIMEOUT_S) is True
        assert t.is_shared() and back.is_shared()
        np.testing.assert_array_equal(t.numpy(), [1, 1, 1])
        np.testing.assert_array_equal(back.numpy(), [7, 7])
        inbox.put(None)
    finally:
        p.join(TIMEOUT_S)
        if p.is_alive():
            p.terminate()
    assert p.exitcode == 0


def test_a_non_leaf_requiring_grad_cannot_be_sent():
    ctx = mp.get_context("spawn")
    x = el.ones(2, requires_grad=True) * 2
    with pytest.raises(AutogradError, match=r"requires grad and is not a leaf cannot be sent.*t\.detach\(\)"):
        ctx.Process(target=_add_one, args=(x, x)).start()


# ---- hogwild: one model, several processes, each with its own optimizer and gradients ------------------------------
def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 4)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5], [3.0]], np.float32) + 0.25).astype(np.float32)
    return el.tensor(x), el.tensor(y)


def _hogwild_train(rank, model, steps):
    el.manual_seed(rank)
    x, y = _data()
    opt = el.optim.SGD(model.parameters(), lr=0.05)
    for i in range(steps):
        idx = el.randint(0, 256, (32,))
        opt.zero_grad()
        F.mse_loss(model(x[idx]), y[idx]).backward()
        opt.step()


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_hogwild_two_processes_train_the_parents_model(method):
    ctx = mp.get_context(method)
    model = nn.Linear(4, 1)
    model.share_memory()
    x, y = _data()
    with el.no_grad():
        start = F.mse_loss(model(x), y).item()
    procs = [ctx.Process(target=_hogwild_train, args=(rank, model, 60)) for rank in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(TIMEOUT_S)
        assert p.exitcode == 0
    with el.no_grad():
        end = F.mse_loss(model(x), y).item()
    assert model.weight.grad is None  # gradients stayed in the children
    assert end < 0.05 * start, (start, end)


# ---- spawn() -------------------------------------------------------------------------------------------------------
def _fill(i, t):
    t[i] = i + 1.0


def _fail(i):
    if i == 1:
        raise ValueError("rank 1 gives up")


def test_spawn_runs_fn_with_the_index_and_reports_failures():
    t = el.zeros(2).share_memory_()
    assert mp.spawn(_fill, args=(t,), nprocs=2) is None
    np.testing.assert_array_equal(t.numpy(), [1, 2])
    with pytest.raises(mp.ProcessRaisedException, match=r"(?s)Process 1 terminated with the following error.*"
                                                         r"ValueError: rank 1 gives up"):
        mp.spawn(_fail, nprocs=2, start_method="fork")
    ctx = mp.start_processes(_fill, args=(t,), nprocs=1, join=False, start_method="fork")
    assert len(ctx.pids()) == 1
    while not ctx.join(TIMEOUT_S):
        pass


def test_the_multiprocessing_api_and_sharing_strategies():
    import multiprocessing
    for name in ("Process", "Queue", "Pool", "get_context", "set_start_method", "cpu_count", "Manager"):
        assert name in mp.__all__ and getattr(mp, name) is getattr(multiprocessing, name)
    assert mp.get_sharing_strategy() == "file_descriptor" and mp.get_all_sharing_strategies() == {"file_descriptor"}
    mp.set_sharing_strategy("file_descriptor")
    with pytest.raises(ValueError, match="file descriptors only .* got 'file_system'"):
        mp.set_sharing_strategy("file_system")


class Marked(el.Tensor):  # a subclass defined after eagerlab.multiprocessing registered its reducers
    __slots__ = ()


def test_forking_pickler_round_trip_shares_memory_for_subclasses_defined_later():
    from multiprocessing.reduction import ForkingPickler

    t = Marked._make(np.zeros((2, 2), np.float32), el.device("cpu"), requires_grad=True).share_memory_()
    view = t.detach()[:, 1]
    back, back_view = ForkingPickler.loads(ForkingPickler.dumps((t, view)))
    assert type(back) is Marked and back.requires_grad and back.shape == (2, 2) and back_view.shape == (2,)
    back_view.fill_(3.0)
    np.testing.assert_array_equal(t.detach().numpy(), [[0, 3], [0, 3]])
