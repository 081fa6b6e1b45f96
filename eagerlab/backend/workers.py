"""The worker threads behind backend/parallel.py: a minimal pool whose hand-offs hold the GIL as briefly as
possible.

A parallel region ends when its last piece does, and the calling thread then goes straight back to Python code
(the next op), so whatever Python a worker runs after its piece competes with the caller for the GIL, and each
such wait costs a thread wake-up. concurrent.futures' ThreadPoolExecutor runs a few dozen Python lines there
(the future's condition and callbacks, an idle semaphore): on the seed MLP's batch-1024 step (four two-piece
products) the caller lost ~36 us per backward node to it. Here a worker's epilogue is one lock release, and the
caller's wait one lock acquire, both in C.

A task runs in the flush-to-zero mode of the thread that submitted it (eagerlab.set_flush_denormal is per thread),
so work handed to the pool computes what the submitting thread would have.
"""
import queue
import threading

from . import denormals


class Task:
    """One call handed to the pool: submit() returns it; result(), exception() and cancel() as on a Future."""

    __slots__ = ("_fn", "_args", "_mode", "_claim", "_done", "_result", "_error")

    def __init__(self, fn, args):
        self._fn, self._args, self._mode = fn, args, denormals.flush_denormal_enabled()
        self._claim = threading.Lock()  # taken by whichever comes first: a worker starting it, or cancel()
        self._done = threading.Lock()  # held until the call has returned or raised
        self._done.acquire()
        self._result = self._error = None

    def run(self):
        if not self._claim.acquire(blocking=False):
            return  # cancelled
        try:
            denormals.follow(self._mode)
            self._result = self._fn(*self._args)
        except BaseException as error:  # handed to the caller by result()
            self._error = error
        finally:
            self._fn = self._args = None
            self._done.release()

    def cancel(self):
        """True if the call had not started (it never will); False if it is running or has run."""
        if not self._claim.acquire(blocking=False):
            return False
        self._fn = self._args = None
        self._done.release()
        return True

    def exception(self):
        """Wait for the call; its exception, or None."""
        self._done.acquire()
        self._done.release()
        return self._error

    def result(self):
        """Wait for the call; its return value, or raise what it raised."""
        error = self.exception()
        if error is not None:
            raise error
        return self._result


class Pool:
    """`threads` daemon threads taking Tasks from one queue, each marking itself a worker with `on_start()`."""

    def __init__(self, threads, name, on_start):
        self._tasks = queue.SimpleQueue()
        self._on_start = on_start
        self._closed = False
        self._closing = threading.Lock()  # so that no task is queued behind the threads' exit markers
        for i in range(threads):
            threading.Thread(target=self._work, name=f"{name}_{i}", daemon=True).start()
        self._threads = threads

    def _work(self):
        self._on_start()
        while True:
            task = self._tasks.get()
            if task is None:
                return
            task.run()

    def submit(self, fn, *args):
        """A Task running fn(*args) on a pool thread; after shutdown (a caller still holding this pool when
        set_num_threads replaced it), on the calling thread: its threads are gone."""
        task = Task(fn, args)
        with self._closing:
            if not self._closed:
                self._tasks.put(task)
                return task
        task.run()
        return task

    def shutdown(self):
        """Each thread exits after the tasks already queued."""
        with self._closing:
            self._closed = True
            for _ in range(self._threads):
                self._tasks.put(None)
