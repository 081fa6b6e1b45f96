"""A training-state record restores a run exactly: stopping, saving, reloading and training on gives the bits of
a run that never stopped (model, Adam moments, StepLR, dropout and shuffling RNGs)."""
import random

import numpy as np
import pytest

import eagerlab
import eagerlab.nn as nn
import eagerlab.optim as optim
from eagerlab.errors import SerializationError
from eagerlab.training.state import load_training_state, read_training_state, save_training_state
from eagerlab.training.step import make_train_step

X = np.random.default_rng(0).standard_normal((40, 5)).astype(np.float32)
Y = np.random.default_rng(1).integers(0, 3, 40)


def _fresh(seed):
    eagerlab.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 12), nn.ReLU(), nn.Dropout(0.3), nn.Linear(12, 3))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    return model, opt, sched, make_train_step(model, nn.CrossEntropyLoss(), opt)


def _epoch(step, sched):
    """Shuffled by numpy's global RNG, one sample dropped by Python's: every RNG the record holds is used."""
    order = np.random.permutation(len(X))
    order = np.delete(order, random.randrange(len(order)))
    for i in range(0, len(order), 16):  # batches of 16, 16 and 7
        idx = order[i:i + 16]
        step(eagerlab.tensor(X[idx]), eagerlab.tensor(Y[idx]))
    sched.step()


def _bits(model, opt):
    return ([p.detach().numpy().tobytes() for p in model.parameters()]
            + [v.numpy().tobytes() for s in opt.state.values() for v in s.values() if isinstance(v, eagerlab.Tensor)])


def _seed_all(seed):
    np.random.seed(seed)
    random.seed(seed)


def test_reload_and_continue_is_bit_identical_to_an_uninterrupted_run(tmp_path):
    _seed_all(7)
    model, opt, sched, step = _fresh(0)
    for _ in range(4):
        _epoch(step, sched)
    want = _bits(model, opt)

    _seed_all(7)
    model, opt, sched, step = _fresh(0)
    for epoch in range(2):
        _epoch(step, sched)
    path = tmp_path / "state.el"
    save_training_state(path, model, opt, sched, loop=dict(epoch=2, step=6), extra={"best": 0.25})
    for _ in range(2):  # saving changed nothing: carry on in the same process
        _epoch(step, sched)
    assert _bits(model, opt) == want

    _seed_all(99)  # another process: other weights, other RNG states
    model, opt, sched, step = _fresh(1)
    assert load_training_state(path, model, opt, sched) == {"epoch": 2, "step": 6}
    assert opt.param_groups[0]["lr"] == 1e-2 * 0.25
    for _ in range(2):
        _epoch(step, sched)
    assert _bits(model, opt) == want
    assert read_training_state(path)["extra"] == {"best": 0.25}


def test_a_record_without_optimizer_state_and_foreign_files(tmp_path):
    model, opt, sched, _ = _fresh(0)
    path = tmp_path / "model_only.el"
    save_training_state(path, model)
    assert load_training_state(path, model, restore_rng=False) == {}
    with pytest.raises(SerializationError, match="optimizer given, but .* holds no optimizer state"):
        load_training_state(path, model, opt)
    eagerlab.save(model.state_dict(), tmp_path / "weights.el")
    with pytest.raises(SerializationError, match="is not a training-state record"):
        load_training_state(tmp_path / "weights.el", model)
