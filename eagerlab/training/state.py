"""Training-state records: model, optimizer, scheduler, loop counters and RNG states in one file, written
atomically by eagerlab.save (a crash mid-write leaves the previous record), read without pickle.

Restoring a record and training on gives the same bits as never having stopped: the RNG states restored are
eagerlab's CPU generator (dropout, shuffling by eagerlab samplers), numpy's global RandomState and Python's
`random`. CUDA generators are not recorded yet.
"""
import random

import numpy as np

from ..backend.generator import default_generator
from ..errors import SerializationError
from ..serialization import load, save

FORMAT, VERSION = "eagerlab.training_state", 1


def rng_state():
    """The states of eagerlab's CPU generator, numpy's global RandomState and Python's random (eagerlab.save-able)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {"eagerlab": default_generator().get_state(),
            "numpy": {"kind": kind, "keys": keys, "pos": int(pos), "has_gauss": int(has_gauss),
                      "cached_gaussian": float(cached)},
            "python": {"version": version, "internal": np.array(internal, dtype=np.int64), "gauss_next": gauss_next}}


def set_rng_state(state):
    """Restore what rng_state() returned."""
    default_generator().set_state(state["eagerlab"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"], n["pos"], n["has_gauss"], n["cached_gaussian"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(i) for i in p["internal"].tolist()), p["gauss_next"]))


def save_training_state(path, model, optimizer=None, scheduler=None, loop=None, extra=None):
    """Write a record of model (and optimizer, scheduler) state, the loop's counters and the RNG states to path.

    loop: the loop's position, e.g. {"epoch": 3, "step": 1200}; extra: anything else eagerlab.save can store."""
    save({"format": FORMAT, "version": VERSION, "model": model.state_dict(),
          "optimizer": None if optimizer is None else optimizer.state_dict(),
          "scheduler": None if scheduler is None else scheduler.state_dict(),
          "loop": dict(loop or {}), "rng": rng_state(), "extra": extra}, path)


def read_training_state(path):
    """The record at path as a dict (model, optimizer, scheduler, loop, rng, extra), checked to be one."""
    record = load(path)
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise SerializationError(f"load_training_state: {path} is not a training-state record (no "
                                 f"format={FORMAT!r} entry); was it written by save_training_state?")
    if record["version"] != VERSION:
        raise SerializationError(f"load_training_state: {path} has record version {record['version']}; this "
                                 f"eagerlab reads version {VERSION}")
    return record


def load_training_state(path, model, optimizer=None, scheduler=None, restore_rng=True):
    """Restore model (and optimizer, scheduler, RNG states) from a record; returns its loop counters."""
    record = read_training_state(path)
    for name, obj in (("optimizer", optimizer), ("scheduler", scheduler)):
        if obj is not None and record[name] is None:
            raise SerializationError(f"load_training_state: {name} given, but {path} holds no {name} state "
                                     f"(save it with save_training_state(..., {name}=...))")
    model.load_state_dict(record["model"])
    if optimizer is not None:
        optimizer.load_state_dict(record["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(record["scheduler"])
    if restore_rng:
        set_rng_state(record["rng"])
    return record["loop"]
