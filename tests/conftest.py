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
