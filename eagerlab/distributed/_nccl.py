"""The NCCL engine (cupy.cuda.nccl) for CUDA tensors: collectives enqueued on the current CUDA stream, completed
when an event recorded after them has passed. The ranks are started by an MPI launcher, whose MPI world carries
NCCL's unique id from rank 0 to the others and answers pings when a collective times out.

No GPU was available where this was written: the path follows cupy's documented NcclCommunicator API and its GPU
tests are skipped without one."""
import time

from ..errors import DistributedError, UnsupportedError


def load_nccl(device):
    """cupy's nccl module, reached through the CUDA device's array module (backend/ is the only importer of cupy)."""
    try:
        xp = device.xp
    except Exception as e:
        raise DistributedError(f"the 'nccl' backend needs cupy and a CUDA GPU ({e}); pip install eagerlab[cuda]") \
            from e
    try:
        from importlib import import_module

        nccl = import_module(xp.__name__ + ".cuda.nccl")
        nccl.get_version()
    except Exception as e:
        raise DistributedError(f"the 'nccl' backend: cupy has no usable NCCL ({e}); install a cupy build with NCCL "
                               "(the cupy-cuda12x wheel bundles it) or use backend='mpi' for CPU tensors") from e
    return xp, nccl


class _Done:
    """A request for work on a stream: complete when the event recorded after it has passed."""

    __slots__ = ("event",)

    def __init__(self, event):
        self.event = event

    def Test(self):
        return self.event.done


class NCCLEngine:
    name = "nccl"

    def __init__(self, mpi_engine, device):
        self.mpi, self.device = mpi_engine, device
        self.rank, self.size, self.timeout = mpi_engine.rank, mpi_engine.size, mpi_engine.timeout
        self.xp, nccl = load_nccl(device)
        self.nccl = nccl
        uid = nccl.get_unique_id() if self.rank == 0 else None
        uid = mpi_engine.comm.bcast(uid, root=0)
        with self.xp.cuda.Device(device.index):
            self.comm = nccl.NcclCommunicator(self.size, uid, self.rank)
        self._ops = {"sum": nccl.NCCL_SUM, "product": nccl.NCCL_PROD, "max": nccl.NCCL_MAX, "min": nccl.NCCL_MIN,
                     "avg": getattr(nccl, "NCCL_AVG", nccl.NCCL_SUM)}
        self.divides_avg = not hasattr(nccl, "NCCL_AVG")  # NCCL before 2.10: AVG is SUM, then a division

    def check_device(self, device, what):
        if device != self.device:
            raise UnsupportedError(f"{what}: the 'nccl' process group of this rank works on {self.device}, got a "
                                   f"tensor on {device} (move it there, or use backend='mpi' for CPU tensors)")

    def _dtype(self, array):
        name = {"float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64", "float16": "NCCL_FLOAT16",
                "int32": "NCCL_INT32", "int64": "NCCL_INT64", "uint8": "NCCL_UINT8", "int8": "NCCL_INT8"}
        key = name.get(str(array.dtype))
        if key is None:
            raise UnsupportedError(f"the 'nccl' backend: dtype {array.dtype} is not supported")
        return getattr(self.nccl, key)

    def _done(self):
        stream = self.xp.cuda.get_current_stream()
        return _Done(stream.record())

    def iallreduce(self, array, op):
        stream = self.xp.cuda.get_current_stream()
        ptr = array.data.ptr
        self.comm.allReduce(ptr, ptr, array.size, self._dtype(array), self._ops[op], stream.ptr)
        return self._done()

    def ibroadcast(self, array, src):
        stream = self.xp.cuda.get_current_stream()
        self.comm.bcast(array.data.ptr, array.size, self._dtype(array), src, stream.ptr)
        return self._done()

    def iallgather(self, send, recv):
        stream = self.xp.cuda.get_current_stream()
        self.comm.allGather(send.data.ptr, recv.data.ptr, send.size, self._dtype(send), stream.ptr)
        return self._done()

    def ireduce_scatter(self, send, recv, op):
        stream = self.xp.cuda.get_current_stream()
        self.comm.reduceScatter(send.data.ptr, recv.data.ptr, recv.size, self._dtype(send), self._ops[op],
                                stream.ptr)
        return self._done()

    def ibarrier(self):
        return self.mpi.ibarrier()

    def allgather_object(self, obj, what):
        return self.mpi.allgather_object(obj, what)

    def test(self, requests):
        self.mpi.answer_pings()
        return all(r.Test() for r in requests)

    def wait(self, requests, what, timeout=None):
        timeout = self.timeout if timeout is None else timeout
        start = time.monotonic()
        while not self.test(requests):
            if time.monotonic() - start > timeout:
                self.comm.abort()  # (the enqueued NCCL kernels would otherwise spin forever)
                raise DistributedError(self.mpi.diagnose(what, timeout) + "; the NCCL communicator was aborted")
            time.sleep(1e-4)

    def close(self):
        self.comm.destroy()
