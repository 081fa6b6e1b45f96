"""The shared acceptance scenarios (../shared/scenarios, beside the repository) of the styles built so far, each in
a fresh process; skipped where the checkout has no shared folder beside it (a bare clone)."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIOS = os.path.join(ROOT, "..", "shared", "scenarios")


@pytest.mark.parametrize("name, line", [("torch_seed", "torch_seed: ok"), ("graph_seed", "graph_seed: ok")])
def test_scenario_passes(name, line):
    script = os.path.join(SCENARIOS, name + ".py")
    if not os.path.exists(script):
        pytest.skip(f"no {script} beside this checkout")
    out = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=600,
                         cwd=ROOT)  # as the scenarios' README runs them: from the project root
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    assert line in out.stdout
