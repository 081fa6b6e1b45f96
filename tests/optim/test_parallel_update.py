"""Optimizer updates of large parameters run on several threads, each on a flat piece of the parameter, its gradient
and its state (backend/parallel.elementwise): the bits are those of the one-thread update, for every option."""
import threading

import numpy as np
import pytest

import eagerlab as el
from eagerlab.backend import parallel

OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("Adadelta", dict(lr=1.0, weight_decay=0.01)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.9, weight_decay=0.01)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.01)),
]


@pytest.fixture
def threads():
    before = el.get_num_threads()
    yield
    el.set_num_threads(before)


def _train(name, options, n_threads, steps=3):
    """Parameters after a few steps on fixed gradients: a large one, a small one and a 0-d one."""
    el.set_num_threads(n_threads)
    rng = np.random.default_rng(0)
    params = [el.nn.Parameter(el.tensor(rng.standard_normal(s).astype(np.float32))) for s in ((300, 70), (5,), ())]
    grads = [[rng.standard_normal(p.shape).astype(np.float32) for p in params] for _ in range(steps)]
    opt = getattr(el.optim, name)(params, **options)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = el.tensor(g)
        opt.step()
    return [p.detach().numpy().copy() for p in params]


@pytest.mark.parametrize("name,options", OPTIMIZERS, ids=lambda v: v if isinstance(v, str) else "-".join(v))
def test_two_threads_give_the_bits_of_one(threads, monkeypatch, name, options):
    monkeypatch.setattr(parallel, "ELEMENTWISE_MIN", 1000)  # the (300, 70) parameter is cut, the others are not
    one, two = _train(name, options, 1), _train(name, options, 2)
    for a, b in zip(one, two):
        assert a.tobytes() == b.tobytes()
    assert not np.array_equal(one[0], _train(name, options, 1, steps=2)[0])  # the steps did change it


def _pieces(monkeypatch, n_threads, *arrays):
    el.set_num_threads(n_threads)
    monkeypatch.setattr(parallel, "ELEMENTWISE_MIN", 64)
    calls = []

    def fn(*pieces):
        calls.append((threading.current_thread().name, [None if p is None else p.size for p in pieces]))
        for p in pieces:
            if p is not None:
                p += 1

    parallel.elementwise(fn, *arrays)
    return calls


def test_pieces_cover_every_array_once_on_cache_line_boundaries(threads, monkeypatch):
    a, b = np.zeros((10, 101), np.float32), np.zeros(1010, np.float32)
    calls = _pieces(monkeypatch, 2, a, None, b)
    assert len(calls) == 2 and {sizes[1] for _, sizes in calls} == {None}
    assert sorted(sizes[0] for _, sizes in calls) == [496, 514]  # cut at 505 rounded down to 16 elements
    assert (a == 1).all() and (b == 1).all()


@pytest.mark.parametrize("case", ["one thread", "small", "non-contiguous", "sizes differ"])
def test_whole_arrays_on_the_calling_thread_otherwise(threads, monkeypatch, case):
    a = np.zeros((40, 50), np.float32)
    other = {"one thread": np.zeros_like(a), "small": None, "non-contiguous": np.zeros((50, 40), np.float32).T,
             "sizes differ": np.zeros(2001, np.float32)}[case]
    arrays = (a[:1, :10], np.zeros(10, np.float32)) if case == "small" else (a, other)
    calls = _pieces(monkeypatch, 1 if case == "one thread" else 2, *arrays)
    assert calls == [(threading.current_thread().name, [x.size for x in arrays])]


def test_an_error_in_a_piece_reaches_the_caller(threads, monkeypatch):
    el.set_num_threads(2)
    monkeypatch.setattr(parallel, "ELEMENTWISE_MIN", 64)

    def fn(a):
        if a[0] == 1:
            raise FloatingPointError("piece failed")

    a = np.zeros(1000, np.float32)
    a[496:] = 1  # the second piece
    with pytest.raises(FloatingPointError, match="piece failed"):
        parallel.elementwise(fn, a)
