"""The examples run offline on the shipped digits and learn (a subprocess each, as a newcomer runs them)."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
MNIST = os.path.join(ROOT, "..", "shared", "data", "mnist")  # the workplace's MNIST test files, when present


def _run(script, *args):
    out = subprocess.run([sys.executable, os.path.join(EXAMPLES, script), *args], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return [float(a) for a in re.findall(r"test accuracy ([0-9.]+)", out.stdout)]


def test_mnist_mlp_learns_the_shipped_digits():
    accuracies = _run("mnist_mlp.py", "--epochs", "4")
    assert len(accuracies) == 4 and accuracies[-1] > 0.9


def test_mnist_cnn_learns_the_shipped_digits():
    accuracies = _run("mnist_cnn.py", "--epochs", "3")
    assert len(accuracies) == 3 and accuracies[-1] > 0.95


@pytest.mark.skipif(not os.path.exists(os.path.join(MNIST, "t10k-images-idx3-ubyte.gz")), reason="no MNIST files")
def test_mnist_mlp_reads_idx_files():
    accuracies = _run("mnist_mlp.py", "--data", MNIST, "--epochs", "1")
    assert accuracies[-1] > 0.85
