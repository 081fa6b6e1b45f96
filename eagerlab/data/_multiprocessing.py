"""The multi-process DataLoader iterator: worker processes, one index queue each, one result pipe each.

Tasks (epoch, task number, indices) go round-robin to the active workers, at most prefetch_factor * num_workers
outstanding; results are returned in task order (the sampler's). Each worker writes to its own pipe, whose only
writer is that worker, so a worker that dies closes it: the main process sees end-of-file at once rather than
waiting forever on a shared queue, and it also polls the workers' liveness while it waits. The epoch number lets
persistent workers start a new epoch without a handshake: answers to an abandoned epoch are dropped.
"""
import itertools
import signal
import time
from multiprocessing import connection

from ._worker import Shipped, WorkerError, loads, worker_exception, worker_loop

_POLL_S = 0.5  # longest wait between liveness checks while waiting for a batch
_JOIN_S = 1.0  # how long shutdown waits for a worker to exit before terminating it
_NO_MORE = object()


def _exit_reason(code):
    if code is not None and code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class MultiProcessIter:
    """Iterates epochs through `loader.num_workers` worker processes (one epoch, or many with persistent workers)."""

    def __init__(self, loader):
        ctx = loader._mp_context()
        self.is_shut_down = False
        self._workers, self._queues, self._conns = [], [], []
        self._num_workers = loader.num_workers
        self._max_tasks = loader.prefetch_factor * loader.num_workers
        self._timeout = loader.timeout
        self._persistent = loader.persistent_workers
        self._index_sampler = loader._index_sampler
        self._epoch = 0
        base_seed = loader._draw_base_seed()
        shipped = Shipped((loader.dataset, loader._iterable, loader._auto_collation, loader.collate_fn,
                           loader.drop_last, loader.worker_init_fn))
        self._done = ctx.Event()
        try:
            for wid in range(self._num_workers):
                q = ctx.Queue()
                q.cancel_join_thread()  # never block interpreter exit on indices a dead worker will not read
                reader, writer = ctx.Pipe(duplex=False)
                p = ctx.Process(target=worker_loop, daemon=True, name=f"eagerlab-data-worker-{wid}",
                                args=(shipped, q, writer, self._done, wid, self._num_workers, base_seed))
                self._queues.append(q)
                self._conns.append(reader)
                self._workers.append(p)
                try:
                    p.start()
                except Exception as e:
                    if hasattr(e, "add_note"):  # Python >= 3.11
                        e.add_note("DataLoader: could not start a worker process. With the 'spawn' start method "
                                   "the dataset, collate_fn and worker_init_fn must be picklable (no lambdas or "
                                   "local functions) and the main script guarded by `if __name__ == '__main__':`.")
                    raise
                finally:
                    writer.close()  # the worker now holds the only write end
        except BaseException:
            self._shutdown()
            raise
        self.reset(loader, first=True)

    @property
    def worker_pids(self):
        return [p.pid for p in self._workers]

    def reset(self, loader, first=False):
        """Start an epoch: a fresh index iterator; answers still in flight for an earlier epoch will be dropped."""
        if not first:
            self._epoch += 1
        self._indices = loader._index_iter()
        self._sent = self._rcvd = 0
        self._task_worker, self._results = {}, {}
        self._active = [True] * self._num_workers
        self._next_worker = itertools.cycle(range(self._num_workers))
        for _ in range(self._max_tasks):
            self._put_task()

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._index_sampler)

    def __next__(self):
        if self.is_shut_down:
            raise StopIteration
        try:
            return self._next_batch()
        except StopIteration:
            raise
        except BaseException:
            self._shutdown(graceful=False)  # an error (or Ctrl-C) ends this iterator and its workers
            raise

    # ---- scheduling ----------------------------------------------------------------------------------------
    def _put_task(self):
        if self._sent - self._rcvd >= self._max_tasks or not any(self._active):
            return
        index = next(self._indices, _NO_MORE)
        if index is _NO_MORE:
            return
        wid = next(w for w in self._next_worker if self._active[w])
        self._queues[wid].put((self._epoch, self._sent, index))
        self._task_worker[self._sent] = wid
        self._sent += 1

    def _next_batch(self):
        while True:
            # skip tasks that an exhausted iterable worker will never answer
            while self._rcvd < self._sent and self._rcvd not in self._results \
                    and not self._active[self._task_worker[self._rcvd]]:
                del self._task_worker[self._rcvd]
                self._rcvd += 1
                self._put_task()
            if self._rcvd == self._sent:
                if not self._persistent:
                    self._shutdown()
                raise StopIteration
            if self._rcvd in self._results:
                wid = self._task_worker.pop(self._rcvd)
                kind, payload = self._results.pop(self._rcvd)
                self._rcvd += 1
                self._put_task()
                if kind == "error":
                    raise worker_exception(wid, *payload)
                return payload
            wid, (epoch, idx, kind, payload) = self._receive()
            if epoch != self._epoch:
                continue
            if kind == "end":
                self._active[wid] = False
            else:
                self._results[idx] = (kind, payload)

    def _receive(self):
        """(worker id, message) of the next message from any worker; raises WorkerError when a worker died or,
        with a timeout, when nothing arrives in time."""
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            wait_s = _POLL_S if deadline is None else max(0.0, min(_POLL_S, deadline - time.monotonic()))
            for conn in connection.wait(self._conns, wait_s):
                wid = self._conns.index(conn)
                try:
                    return wid, loads(conn.recv_bytes())
                except (EOFError, OSError):
                    raise self._died(wid) from None
            for wid, p in enumerate(self._workers):
                if not p.is_alive():
                    raise self._died(wid)
            if deadline is not None and time.monotonic() >= deadline:
                wid = self._task_worker[self._rcvd]
                raise WorkerError(f"DataLoader timed out after {self._timeout} seconds waiting for batch "
                                  f"{self._rcvd} from worker {wid} (pid {self._workers[wid].pid})", wid)

    def _died(self, wid):
        p = self._workers[wid]
        p.join(_JOIN_S)
        return WorkerError(f"DataLoader worker {wid} (pid {p.pid}) exited unexpectedly "
                           f"({_exit_reason(p.exitcode)})", wid)

    # ---- shutdown ------------------------------------------------------------------------------------------
    def _shutdown(self, graceful=True):
        """Stop every worker and reap it (no orphans, no zombies): ask, give them up to _JOIN_S in all to exit
        (none after an error), then terminate, then kill."""
        if getattr(self, "is_shut_down", True):
            return
        self.is_shut_down = True
        self._done.set()
        for q in self._queues:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        for c in self._conns:
            c.close()  # a worker blocked sending a batch gets BrokenPipeError and exits
        started = [p for p in self._workers if p.pid is not None]
        deadline = time.monotonic() + (_JOIN_S if graceful else 0.0)
        for p in started:
            p.join(max(0.0, deadline - time.monotonic()))
        for p in started:
            if p.is_alive():
                p.terminate()
                p.join(_JOIN_S)
            if p.is_alive():
                p.kill()
                p.join()
        for q in self._queues:
            q.close()

    def __del__(self):
        try:
            self._shutdown()
        except Exception:  # interpreter teardown: modules may already be gone
            pass
