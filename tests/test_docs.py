"""docs/architecture.md's worked examples run (each in a fresh process: the op example registers a primitive)."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXT = open(os.path.join(ROOT, "docs", "architecture.md"), encoding="utf-8").read()
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, re.S)


def test_the_architecture_page_has_its_examples():
    assert len(BLOCKS) == 3


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_architecture_example_runs(i, tmp_path):
    path = tmp_path / f"architecture_{i}.py"  # a real file: AutoGraph reads the source of compiled functions
    path.write_text(BLOCKS[i], encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr


def test_the_layer_table_matches_the_layering_test():
    from tests.test_layering import LAYERS

    section = TEXT.split("## The layers")[1].split("\n## ")[0]
    rows = re.findall(r"^\| (`[^|]*`) \|", section, re.M)
    documented = [re.findall(r"`([\w.]+)`", row) for row in rows]
    assert documented == [[p.removeprefix("eagerlab.") for p in layer] for layer in LAYERS]
