"""eagerlab.set_flush_denormal, observed on the FP environment: float32 results below 1.2e-38 become 0 (FTZ) and
denormal inputs read as 0 (DAZ) on the calling thread only, until it is switched off; eager and compiled code
agree in either mode (both run on the calling thread)."""
import platform
import sys
import threading

import numpy as np
import pytest

import eagerlab as el

SUPPORTED = sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")
TINY = np.float32(1e-38)  # normal; * 0.01 gives a denormal (1e-40)


@pytest.fixture
def flush():
    assert el.set_flush_denormal(True) is SUPPORTED
    yield
    el.set_flush_denormal(False)


def _denormal_product():
    return np.array([TINY], np.float32) * np.float32(0.01)


@pytest.mark.skipif(not SUPPORTED, reason="FTZ/DAZ through glibc's x86-64 fenv_t only")
def test_flush_denormal_flushes_results_and_inputs_until_switched_off(flush):
    assert _denormal_product()[0] == 0  # FTZ
    denormal = np.frombuffer(np.uint32(1).tobytes(), np.float32)  # the smallest denormal, made without arithmetic
    assert (denormal * np.float32(1))[0] == 0  # DAZ: read as 0 (compared as 0 too, so check bits below)
    assert (el.tensor([TINY]) * 0.01).item() == 0
    assert el.set_flush_denormal(False) is True
    assert _denormal_product()[0] == np.float32(1e-40)
    assert (denormal * np.float32(1)).view(np.uint32)[0] == 1


@pytest.mark.skipif(not SUPPORTED, reason="FTZ/DAZ through glibc's x86-64 fenv_t only")
def test_the_mode_belongs_to_the_calling_thread(flush):
    seen = []
    thread = threading.Thread(target=lambda: seen.append(_denormal_product()[0]))
    thread.start()
    thread.join()
    assert seen == [np.float32(1e-40)] and _denormal_product()[0] == 0


@pytest.mark.skipif(not SUPPORTED, reason="FTZ/DAZ through glibc's x86-64 fenv_t only")
@pytest.mark.parametrize("mode", [True, False])
def test_eager_and_compiled_code_agree_in_either_mode(mode):
    el.set_flush_denormal(mode)
    try:
        x = el.tensor([TINY, 1.0, -TINY])
        fn = lambda t: (t * 0.01 + t * 0.001) / 3  # noqa: E731
        eager, compiled = fn(x).numpy(), el.function(fn)(x).numpy()
        assert eager.tobytes() == compiled.tobytes()
        assert bool(eager[0] == 0) is mode
    finally:
        el.set_flush_denormal(False)


@pytest.mark.skipif(SUPPORTED, reason="the platform supports the modes")
def test_unsupported_platforms_say_so():
    assert el.set_flush_denormal(True) is False
    assert _denormal_product()[0] == np.float32(1e-40)
