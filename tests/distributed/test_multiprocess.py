"""Two processes on this machine, started by `python -m eagerlab.distributed.run` (mpiexec): collectives,
DistributedDataParallel against single-process training, Trainer(strategy="ddp"), and a rank that dies. The
workers assert; each test checks their exit status and output. Skipped, saying why, where mpi4py or mpiexec is
missing (pip install eagerlab[distributed] brings both)."""
import importlib.util
import os
import subprocess
import sys
import time

import pytest

from eagerlab.distributed.run import find_mpiexec

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORKERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "workers")

_MISSING = ("mpi4py is not installed" if importlib.util.find_spec("mpi4py") is None else
            "no mpiexec beside this Python or on PATH" if find_mpiexec() is None else None)
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=f"{_MISSING}: pip install eagerlab[distributed]")


def launch(worker, *args, n=2, launcher_args=(), timeout=120):
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "eagerlab.distributed.run", *launcher_args, "-n", str(n),
           os.path.join(WORKERS, worker), *args]
    start = time.monotonic()
    out = subprocess.run(cmd, env=env, capture_output=True, timeout=timeout)
    text = (out.stdout + out.stderr).decode(errors="replace")
    return out.returncode, text, time.monotonic() - start


def test_collectives_sampler_and_setup_checks_on_two_ranks():
    rc, out, _ = launch("collectives.py")
    assert rc == 0, out
    assert "rank 0: ok" in out and "rank 1: ok" in out


def test_ddp_on_two_ranks_equals_one_process_on_the_full_batch():
    rc, out, _ = launch("ddp_mlp.py")
    assert rc == 0, out
    assert "rank 0: ok" in out and "rank 1: ok" in out


def test_trainer_ddp_fits_on_two_ranks_writes_one_checkpoint_and_resumes(tmp_path):
    rc, out, _ = launch("trainer_ddp.py", str(tmp_path))
    assert rc == 0, out
    assert "rank 0: ok" in out and "rank 1: ok" in out
    assert len(list(tmp_path.rglob("*.ckpt"))) == 1


def test_a_killed_rank_ends_the_job_within_the_timeout():
    """mpiexec notices the death and stops the job: rank 0 does not hang, and the report names rank 1."""
    rc, out, took = launch("dead_rank.py", "10")
    assert rc != 0 and "passed an all-reduce" not in out, out
    assert "rank 1" in out, out
    assert took < 10 + 20, took


def test_a_dead_rank_the_launcher_tolerates_is_named_by_the_collectives_timeout():
    """Under mpiexec --enable-recovery nobody stops the job: rank 0's all-reduce times out and names rank 1."""
    _, out, took = launch("dead_rank.py", "2", launcher_args=["--mpiexec-args=--enable-recovery"])
    assert "passed an all-reduce" not in out, out  # (Open MPI's exit status under --enable-recovery is 0)
    assert "DistributedError: all_reduce on rank 0 did not complete within the timeout of 2 s: rank 1 did not " \
           "respond" in out, out
    assert took < 2 + 20, took


@pytest.mark.gpu
def test_nccl_all_reduce_and_ddp_on_one_gpu():
    rc, out, _ = launch("nccl.py", n=1)
    assert rc == 0, out
    assert "rank 0: ok" in out


def test_the_readme_tour_of_several_processes_runs_on_two_ranks(tmp_path):
    import re

    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    code = re.search(r"## Tour: PyTorch scripts unchanged.*?```python\n(.*?)```", text, re.S).group(1)
    script = tmp_path / "tour.py"
    script.write_text(code + "\nprint(f'rank {dist.get_rank()}: loss {float(loss):.6f}')\n", encoding="utf-8")
    rc, out, _ = launch(str(script))
    assert rc == 0, out
    losses = re.findall(r"rank \d: loss ([\d.]+)", out)
    assert len(losses) == 2 and losses[0] == losses[1], out  # rank 0's weights broadcast; the same seeded data
