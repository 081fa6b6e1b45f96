"""The host allocator tuning is applied on Linux/glibc at import and can be switched off."""
import os
import subprocess
import sys

import pytest

CODE = "import eagerlab.backend.host_memory as h; print(h.TUNED)"


def _tuned(env_value):
    env = dict(os.environ)
    env.pop("EAGERLAB_KEEP_FREED_MEMORY", None)
    if env_value is not None:
        env["EAGERLAB_KEEP_FREED_MEMORY"] = env_value
    return subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_tuned_by_default_on_linux_and_opt_out():
    import ctypes

    try:
        ctypes.CDLL(None).mallopt
    except AttributeError:
        pytest.skip("not glibc")
    assert _tuned(None) == "True"
    assert _tuned("0") == "False"
