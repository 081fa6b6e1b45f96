"""The README's tour and first command keep working."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_readme_tour_runs(tmp_path):
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    blocks = re.findall(r"## Tour:[^\n]*\n\n```python\n(.*?)```", text, re.S)
    assert blocks
    for i, code in enumerate(blocks):
        path = tmp_path / f"readme_tour_{i}.py"  # a real file: AutoGraph reads the source of compiled functions
        path.write_text(code, encoding="utf-8")
        exec(compile(code, str(path), "exec"), {"__name__": f"readme_tour_{i}"})


def test_first_command_runs_an_example_that_exists():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    first = re.search(r"```bash\n(.*?)\n```", text, re.S).group(1)
    script = re.fullmatch(r"pip install -e \. && python (examples/\w+\.py)", first).group(1)
    assert os.path.exists(os.path.join(ROOT, script))  # tests/test_examples.py runs it


def test_fit_by_hand_example_trains_on_real_digits():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "fit_by_hand.py")], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "fit_by_hand: ok" in out.stdout
