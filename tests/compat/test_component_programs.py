"""Small PyTorch programs in the patterns of the public examples (a transformer seq2seq step, an L-BFGS fit, a
hogwild run, a whole-model torch.save / torch.load as word_language_model does), each run unchanged in a subprocess: through eagerlab's drop-in runner (`python -m
eagerlab.compat.torch`), and on PyTorch when it is installed, whose final loss it must match within seed noise
(the two libraries draw different random numbers)."""
import importlib.util
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROGRAMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs")
TIMEOUT_S = 240

# program -> (first loss must fall below this fraction by the end, largest |ours - torch's| final loss)
EXPECT = {"transformer_seq2seq": (0.7, 0.35), "lbfgs_fit": (1e-3, 1e-3), "hogwild": (0.3, 0.1),
          "save_whole_model": (0.7, 0.25)}
# program -> the flags it prints that must be 1 on both libraries
FLAGS = {"save_whole_model": ("SAME_AFTER_LOAD", "TIED", "REFUSED_WITHOUT_ALLOW_LIST", "CLASSES_KEPT")}


def _has_runner():
    try:
        return importlib.util.find_spec("eagerlab.compat.torch") is not None
    except ImportError:
        return False


def _run(program, runner):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1")  # small programs: one thread each, no contention between the two runs
    cmd = [sys.executable] + (["-m", "eagerlab.compat.torch"] if runner == "eagerlab" else []) + [program + ".py"]
    done = subprocess.run(cmd, cwd=PROGRAMS, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, f"{program} on {runner} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return {k: float(v) for k, v in re.findall(r"^([A-Z_]+) ([-\d.e]+)$", done.stdout, re.M)}



@pytest.mark.parametrize("program", sorted(EXPECT))
def test_program_runs_unchanged_and_matches_pytorch(program):
    if not _has_runner():
        pytest.skip("the drop-in runner eagerlab.compat.torch is not in this tree")
    ours = _run(program, "eagerlab")
    shrink, tolerance = EXPECT[program]
    assert ours["FINAL_LOSS"] < shrink * ours["FIRST_LOSS"], ours
    assert all(ours[flag] == 1 for flag in FLAGS.get(program, ())), ours
    if importlib.util.find_spec("torch") is None:
        return
    theirs = _run(program, "torch")
    assert theirs["FINAL_LOSS"] < shrink * theirs["FIRST_LOSS"], theirs
    assert all(theirs[flag] == 1 for flag in FLAGS.get(program, ())), theirs
    assert abs(ours["FINAL_LOSS"] - theirs["FINAL_LOSS"]) <= tolerance, (ours, theirs)
