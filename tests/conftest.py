import numpy as np
import pytest

import eagerlab


@pytest.fixture(autouse=True)
def _fresh_state():
    """Each test starts with grad mode on, the default dtype float32 and a fixed seed."""
    eagerlab.manual_seed(0)
    yield
    eagerlab.set_default_dtype(eagerlab.float32)
    eagerlab.set_grad_enabled(True)
    eagerlab.autograd.set_detect_anomaly(False)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def pytest_collection_modifyitems(config, items):
    has_gpu = eagerlab.cuda.is_available()
    for item in items:
        if "gpu" in item.keywords and not has_gpu:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU and cupy"))
    # the skip check runs after every other test of the session, so that it sees their skips
    items.sort(key=lambda item: item.nodeid.startswith("tests/test_skips.py"))


# ---- skips: each is logged with its reason for tests/test_skips.py, which runs last and fails on skips that a CI
# machine (every optional extra installed, no GPU) should not have
class SkipLog:
    """(test or collector id, reason) of every skip of this session (expected failures are not skips)."""

    def __init__(self):
        self.skips = []

    def note(self, report):
        if report.skipped and not hasattr(report, "wasxfail") and isinstance(report.longrepr, tuple):
            reason = report.longrepr[2]
            self.skips.append((report.nodeid, reason[len("Skipped: "):] if reason.startswith("Skipped: ") else reason))

    pytest_runtest_logreport = pytest_collectreport = note


SKIP_LOG = pytest.StashKey()


def pytest_configure(config):
    config.stash[SKIP_LOG] = log = SkipLog()
    config.pluginmanager.register(log, "eagerlab-skip-log")
