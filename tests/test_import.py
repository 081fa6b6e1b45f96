"""`import eagerlab` stays cheap: under 0.3 s and 60 MB (PyTorch: about 1.5 s and 220 MB), and never imports cupy,
torch, ml_dtypes (bfloat16, loaded on first use), the test helpers (eagerlab.testing) or the test tools (pytest,
hypothesis); eagerlab.testing itself imports no test tool either.

The time is the process's CPU time: on an idle machine it equals the wall time, and on a loaded one (CI, parallel
test runs) it does not count the time spent waiting for a core. The package is byte-compiled first, as `pip install`
does for a regular install: an editable checkout run with PYTHONDONTWRITEBYTECODE=1 would otherwise compile every
module from source on each import, which measures the compiler, not eagerlab."""
import json
import os
import subprocess
import sys

import eagerlab

CODE = """
import json, sys, time
t = time.process_time()
import eagerlab
dt = time.process_time() - t
# VmHWM (peak resident memory of this process image); ru_maxrss would include the parent's peak across exec
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
unwanted = {"cupy", "torch", "eagerlab.testing", "pytest", "hypothesis", "ml_dtypes"}
print(json.dumps({"seconds": dt, "max_rss_mb": hwm / 1024, "unwanted": sorted(set(sys.modules) & unwanted)}))
"""


def test_import_is_fast_and_small():
    package = os.path.dirname(eagerlab.__file__)
    subprocess.run([sys.executable, "-m", "compileall", "-q", package], check=True, capture_output=True)
    runs = [json.loads(subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                                      check=True).stdout) for _ in range(3)]
    best = min(r["seconds"] for r in runs)
    assert best < 0.3, runs
    assert max(r["max_rss_mb"] for r in runs) < 60, runs
    assert not any(r["unwanted"] for r in runs), runs


def test_the_test_helpers_load_on_first_use_and_import_no_test_tool():
    code = ("import sys, eagerlab; eagerlab.testing.assert_close(1.0, 1.0); "  # as torch.testing after import torch
            "print(sorted(set(sys.modules) & {'pytest', 'hypothesis', 'torch', 'cupy'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
