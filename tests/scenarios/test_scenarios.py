"""The shared acceptance scenarios (../shared/scenarios, beside the repository) of the styles built so far, each in
a fresh process. Where the checkout has no shared folder beside it (a bare clone) they are skipped loudly: the skip
reason and a warning in pytest's summary name the missing folder. A script missing from a folder that is there fails."""
import os
import subprocess
import sys
import warnings

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIOS = os.path.normpath(os.path.join(ROOT, "..", "shared", "scenarios"))


def scenario_script(name, folder=SCENARIOS):
    """The path of scenario `name` in `folder`: skipped (with a warning) when the folder is missing, an
    AssertionError when the folder is there but the script is not (a renamed scenario must not pass silently)."""
    if not os.path.isdir(folder):
        reason = (f"scenarios NOT RUN: {folder} is missing (expected ../shared/scenarios beside the checkout "
                  f"{ROOT}); put the shared folder there to run the acceptance scenarios")
        warnings.warn(reason, UserWarning, stacklevel=2)
        pytest.skip(reason)
    script = os.path.join(folder, name + ".py")
    assert os.path.isfile(script), f"scenario {name!r}: {script} is missing from {folder}: renamed or removed?"
    return script


@pytest.mark.parametrize("name, line", [("torch_seed", "torch_seed: ok"), ("graph_seed", "graph_seed: ok"),
                                        ("keras_seed", "keras_seed: ok"),
                                        ("lightning_seed", "lightning_seed: ok")])
def test_scenario_passes(name, line):
    script = scenario_script(name)
    out = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=600,
                         cwd=ROOT)  # as the scenarios' README runs them: from the project root
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    assert line in out.stdout


def test_a_missing_shared_folder_is_a_skip_that_names_it(tmp_path):
    missing = str(tmp_path / "shared" / "scenarios")
    with pytest.warns(UserWarning, match="scenarios NOT RUN"), pytest.raises(pytest.skip.Exception) as skipped:
        scenario_script("torch_seed", missing)
    assert missing in str(skipped.value)


def test_a_script_missing_from_the_shared_folder_fails(tmp_path):
    with pytest.raises(AssertionError, match="torch_seed.py is missing"):
        scenario_script("torch_seed", str(tmp_path))
