"""`python -m eagerlab.distributed.run -n 2 train.py [args...]`: start N processes of a Python script (or `-m
module`) under mpiexec, each one rank of the world that init_process_group joins.

It finds mpiexec beside this Python (where `pip install eagerlab[distributed]` puts Open MPI's) or on PATH, and
adds what Open MPI needs on a single machine: permission to run as root (containers, CI; Open MPI refuses it
otherwise) and oversubscription when N exceeds the physical cores it may use. Everything else is plain mpiexec; see
docs/distributed.md for running mpiexec yourself and for several hosts."""
import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import sysconfig

from ._mpi import INSTALL_HINT

ROOT_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}


def find_mpiexec(explicit=None):
    """mpiexec's path: the one given, the one beside this Python, or the one on PATH; None when there is none."""
    if explicit:
        return explicit
    folders = [os.path.dirname(sys.executable), sysconfig.get_path("scripts")]  # (a venv's bin; pip's scripts)
    with contextlib.suppress(KeyError):
        folders.append(sysconfig.get_path("scripts", f"{os.name}_user"))  # (pip install --user)
    for folder in folders:
        for name in ("mpiexec", "mpirun"):
            path = os.path.join(folder, name)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
    return shutil.which("mpiexec") or shutil.which("mpirun")


def is_open_mpi(mpiexec):
    try:
        out = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "open mpi" in (out.stdout + out.stderr).lower() or "open-mpi" in (out.stdout + out.stderr).lower()


def physical_cores():
    """The physical cores among the CPUs this process may use (a container's or taskset's limit): what Open MPI
    counts as slots. Hardware threads of one core count once (Linux's sysfs topology); elsewhere, the CPU count."""
    try:
        cpus = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        return os.cpu_count() or 1
    cores = set()
    for cpu in cpus:
        topology = f"/sys/devices/system/cpu/cpu{cpu}/topology/"
        try:
            with open(topology + "physical_package_id") as package, open(topology + "core_id") as core:
                cores.add((package.read().strip(), core.read().strip()))
        except OSError:
            cores.add(("cpu", cpu))
    return len(cores) or 1


def command(nprocs, program, mpiexec, open_mpi=True, extra=(), cpus=None):
    """(argv, environment additions) that run `program` (a list: script and arguments, or -m module ...) on
    nprocs ranks."""
    argv, env = [mpiexec], {}
    if open_mpi:
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            env.update(ROOT_ENV)
        # Only when needed: an oversubscribed Open MPI job polls politely (yields the CPU while it waits), which
        # measured 4x slower steps on this 2-core machine when it was not oversubscribed at all.
        if nprocs > (cpus or physical_cores()):
            argv.append("--oversubscribe")
    argv += [*extra, "-n", str(nprocs), sys.executable, *program]
    return argv, env


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m eagerlab.distributed.run",
                                     description="Run a training script on N processes under mpiexec.")
    parser.add_argument("-n", "--nproc", "--nproc-per-node", type=int, required=True, dest="n",
                        help="number of processes (ranks)")
    parser.add_argument("--mpiexec", help="the mpiexec to use (default: beside this Python, else on PATH)")
    parser.add_argument("--mpiexec-args", default="", help="more arguments for mpiexec, e.g. '--hostfile hosts'")
    parser.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    parser.add_argument("-m", dest="module", help="run a module (as python -m) instead of a script")
    parser.add_argument("program", nargs=argparse.REMAINDER, help="the script and its arguments")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"-n must be at least 1, got {args.n}")
    program = (["-m", args.module] if args.module else []) + args.program
    if not program:
        parser.error("name the script to run (or -m module)")
    mpiexec = find_mpiexec(args.mpiexec)
    if mpiexec is None:
        print(f"eagerlab.distributed.run: no mpiexec found beside {sys.executable} or on PATH; {INSTALL_HINT}",
              file=sys.stderr)
        return 2
    argv, env = command(args.n, program, mpiexec, is_open_mpi(mpiexec), args.mpiexec_args.split())
    if args.dry_run:
        print(" ".join(f"{k}={v}" for k, v in env.items()) + (" " if env else "") + " ".join(argv))
        return 0
    sys.stdout.flush()
    os.execve(argv[0], argv, {**os.environ, **env})


if __name__ == "__main__":
    sys.exit(main())
