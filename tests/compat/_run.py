"""Run a script through `python -m eagerlab.compat.torch` in a subprocess (the runner must own `import torch`,
which the test process may already have bound to PyTorch)."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROGRAMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs")


def run_compat(args, check=True, cwd=None):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "eagerlab.compat.torch", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"runner failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def last_json(stdout):
    return json.loads(stdout.strip().splitlines()[-1])
