"""Every registered op, exported: each OpInfo sample, written by eagerlab.export as a function of the sample's tensors
and read back by eagerlab.load_exported, gives the eager result (structure, shapes, dtypes, values).

The samples that cannot be exported are listed in EXCLUDED with the reason, and each is checked to still fail for
that reason: a listed sample that exports now fails the test until it is taken off the list."""
import os
import pathlib
import re
import tempfile

import pytest

from eagerlab.errors import TracingError, UnsupportedError
from eagerlab.ops import OPS
from eagerlab.testing import check_exported, op_cases, samples


class Reason:
    """Why a sample cannot be exported, and the error that says so."""

    def __init__(self, why, error, match):
        self.why, self.error, self.match = why, error, match


DATA_DEPENDENT = Reason("an output (or an intermediate) shape depends on the values, which a graph fixes ahead of "
                        "time", TracingError, "its output shape depends on the data")
VALUE_AT_TRACE = Reason("a Python value is computed from the data (one_hot's class count is the largest index + 1)",
                        TracingError, "value is not known while the function is traced")
OWN_GENERATOR = Reason("the sample draws from its own Generator so that every eager call repeats; a file cannot carry "
                       "a generator's state (with the default generator the op exports and draws afresh per call)",
                       UnsupportedError, "draws from a user-made eagerlab.Generator")

ALL = None
# op -> {sample indices (ALL: every sample): reason}
EXCLUDED = {
    "argwhere": {ALL: DATA_DEPENDENT},
    "embedding": {(6, 7): DATA_DEPENDENT},  # max_norm renormalizes the unique() rows the indices name
    "index_tensor": {(10, 11): DATA_DEPENDENT},  # a boolean mask as the index
    "masked_select": {ALL: DATA_DEPENDENT},
    "nonzero": {ALL: DATA_DEPENDENT},
    "one_hot": {(0,): VALUE_AT_TRACE},
    "unique": {ALL: DATA_DEPENDENT},
    "where": {(3,): DATA_DEPENDENT},  # where(condition) alone is nonzero
    "bernoulli": {ALL: OWN_GENERATOR},
    "dropout": {(0, 1, 2, 3, 5): OWN_GENERATOR},
    "dropout1d": {(0, 1): OWN_GENERATOR},
    "dropout2d": {(0, 1): OWN_GENERATOR},
    "dropout3d": {(0, 1): OWN_GENERATOR},
    "multinomial": {ALL: OWN_GENERATOR},
    "normal": {ALL: OWN_GENERATOR},
    "rand": {ALL: OWN_GENERATOR},
    "randint": {ALL: OWN_GENERATOR},
    "randn": {ALL: OWN_GENERATOR},
    "randperm": {ALL: OWN_GENERATOR},
}


def _reason(name, i):
    for indices, reason in EXCLUDED.get(name, {}).items():
        if indices is ALL or i in indices:
            return reason
    return None


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    # export writes atomically and fsyncs: about 15 ms a file on disk, nothing on a RAM file system (/dev/shm)
    if os.path.isdir("/dev/shm"):
        with tempfile.TemporaryDirectory(dir="/dev/shm", prefix="exported_ops") as d:
            yield pathlib.Path(d)
    else:
        yield tmp_path_factory.mktemp("exported_ops")


@pytest.mark.filterwarnings("ignore::UserWarning")  # the samples' own warnings (kl_div's reduction)
@pytest.mark.parametrize("name,i", op_cases())
def test_exported_equals_eager(name, i, folder):
    path = str(folder / f"{name}-{i}.elx")
    reason = _reason(name, i)
    if reason is None:
        check_exported(name, i, path)
        return
    try:
        check_exported(name, i, path)
    except reason.error as e:
        assert re.search(reason.match, str(e)), f"{name} sample {i} fails for another reason than listed: {e}"
    else:
        pytest.fail(f"{name} sample {i} exports now: take it off EXCLUDED in {__file__}")


def test_every_exclusion_names_existing_samples():
    for name, entries in EXCLUDED.items():
        assert name in OPS, f"EXCLUDED names {name!r}, which is not a registered op"
        n = len(samples(name))
        for indices in entries:
            assert indices is ALL or all(0 <= i < n for i in indices), f"{name} has {n} samples, not {indices}"
