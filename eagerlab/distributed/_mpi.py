"""The MPI engine (mpi4py): non-blocking collectives on host arrays, in place where MPI allows, waited on with a
deadline; a rank that does not arrive is found by pinging every rank on a side communicator.

mpi4py initializes MPI when `mpi4py.MPI` is first imported, so nothing here imports it before a process group is
made."""
import sys
import time
import traceback

from ..errors import DistributedError, UnsupportedError

INSTALL_HINT = "pip install eagerlab[distributed]  (mpi4py and Open MPI from PyPI, with mpiexec)"
_PING, _PONG = 7301, 7302  # tags on the side communicator


def load_mpi():
    """The mpi4py.MPI module, or a DistributedError that says what to install."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise DistributedError(f"the 'mpi' backend needs mpi4py and an MPI library, which are not installed "
                               f"({e}): {INSTALL_HINT}") from e
    except RuntimeError as e:  # mpi4py is there but cannot load or start its MPI library
        raise DistributedError(f"the 'mpi' backend: mpi4py could not start MPI ({e}); install an MPI library: "
                               f"{INSTALL_HINT}") from e
    return MPI


class MPIEngine:
    """Collectives on COMM_WORLD for numpy arrays. Each `i...` method starts a non-blocking collective and returns
    its request; `wait` completes requests before a deadline."""

    name = "mpi"

    def __init__(self, MPI, timeout):
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD
        self.side = self.comm.Dup()  # pings and pongs, apart from the collectives' traffic
        self.rank, self.size, self.timeout = self.comm.Get_rank(), self.comm.Get_size(), timeout
        self._ops = {"sum": MPI.SUM, "avg": MPI.SUM, "product": MPI.PROD, "max": MPI.MAX, "min": MPI.MIN}
        self._pong_out = []

    def check_device(self, device, what):
        if device.type != "cpu":
            raise UnsupportedError(f"{what}: the 'mpi' backend takes CPU tensors, got one on {device}; use "
                                   "init_process_group(backend='nccl') for CUDA tensors")

    # ---- collectives ------------------------------------------------------------------------------------------
    def iallreduce(self, array, op):
        return self.comm.Iallreduce(self.MPI.IN_PLACE, array, op=self._ops[op])

    def ibroadcast(self, array, src):
        return self.comm.Ibcast(array, root=src)

    def iallgather(self, send, recv):
        return self.comm.Iallgather(send, recv)

    def ireduce_scatter(self, send, recv, op):
        return self.comm.Ireduce_scatter_block(send, recv, op=self._ops[op])

    def ibarrier(self):
        return self.comm.Ibarrier()

    def allgather_object(self, obj, what):
        """Every rank's `obj` (small, picklable), with the deadline: the set-up checks use it."""
        import numpy as np

        data = np.frombuffer(repr(obj).encode().ljust(256), np.uint8).copy()
        out = np.empty((self.size, 256), np.uint8)
        self.wait([self.comm.Iallgather(data, out)], what)
        return [bytes(row).decode().rstrip() for row in out]

    # ---- waiting ----------------------------------------------------------------------------------------------
    def test(self, requests):
        self.answer_pings()
        return self.MPI.Request.Testall(requests)

    def wait(self, requests, what, timeout=None):
        """Complete `requests` (polling, and answering other ranks' pings meanwhile) or, past the timeout, raise a
        DistributedError naming the ranks that do not respond."""
        timeout = self.timeout if timeout is None else timeout
        start = time.monotonic()
        pause = 0.0
        while not self.test(requests):
            waited = time.monotonic() - start
            if waited > timeout:
                raise DistributedError(self.diagnose(what, timeout))
            if waited > 0.002:  # a short spin first (collectives of small models finish in microseconds)
                pause = min(0.001, pause * 2 or 2e-5)
                time.sleep(pause)

    def answer_pings(self):
        MPI = self.MPI
        status = MPI.Status()
        while self.side.Iprobe(source=MPI.ANY_SOURCE, tag=_PING, status=status):
            source = status.Get_source()
            self.side.recv(source=source, tag=_PING)
            self._pong_out.append(self.side.isend(self.rank, dest=source, tag=_PONG))
        self._pong_out = [r for r in self._pong_out if not r.Test()]

    def diagnose(self, what, timeout, grace=2.0):
        """The message for a collective that timed out: ping every other rank and name those that do not answer
        within `grace` seconds."""
        others = [r for r in range(self.size) if r != self.rank]
        for r in others:
            self.side.isend(self.rank, dest=r, tag=_PING)  # (never waited on: the peer may be dead)
        answered, end = set(), time.monotonic() + min(grace, max(timeout, 0.1))
        while time.monotonic() < end and len(answered) < len(others):
            self.answer_pings()
            for r in others:
                if r not in answered and self.side.Iprobe(source=r, tag=_PONG):
                    self.side.recv(source=r, tag=_PONG)
                    answered.add(r)
            time.sleep(0.001)
        silent = [r for r in others if r not in answered]
        head = f"{what} on rank {self.rank} did not complete within the timeout of {timeout:g} s: "
        if silent:
            alive = [r for r in others if r in answered]
            return head + (f"rank{'s' if len(silent) > 1 else ''} {', '.join(map(str, silent))} did not respond "
                           "(dead, or stuck outside eagerlab's collectives)"
                           + (f"; ranks {', '.join(map(str, alive))} answered" if alive else ""))
        return head + ("every rank is alive, so the ranks are probably calling different collectives (or the "
                       "same ones in a different order, or with different sizes)")


def abort_on_uncaught_exception(MPI):
    """With several processes, an exception nobody catches aborts the whole MPI job (after printing its
    traceback), instead of leaving the other ranks waiting in their next collective until its timeout."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        traceback.print_exception(kind, value, tb)
        sys.stderr.flush()
        sys.stdout.flush()
        MPI.COMM_WORLD.Abort(1)

    hook.previous = previous
    sys.excepthook = hook
    return hook
