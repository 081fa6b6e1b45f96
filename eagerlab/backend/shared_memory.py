"""Host memory that several processes map: the segments behind Tensor.share_memory_().

A segment is an anonymous shared file (memfd on Linux, else an unlinked temporary file) mapped MAP_SHARED. A child
started by fork inherits the mapping; another process gets the file descriptor (see Segment.__reduce__, used by
eagerlab.multiprocessing) and maps it again. The memory lives while any process maps it: no names to clean up,
nothing left behind when a process dies.
"""
import mmap
import os
import tempfile
import weakref

import numpy as np


class Segment(mmap.mmap):
    """A shared mapping that knows its file descriptor (mmap objects do not expose theirs)."""

    @classmethod
    def allocate(cls, nbytes):
        if hasattr(os, "memfd_create"):
            fd = os.memfd_create("eagerlab-shared-tensor", getattr(os, "MFD_CLOEXEC", 0))
        else:  # systems without memfd: a temporary file, unlinked at once
            shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
            fd, path = tempfile.mkstemp(prefix="eagerlab-shared-tensor-", dir=shm)
            os.unlink(path)
        try:
            os.ftruncate(fd, max(nbytes, 1))
        except OSError:
            os.close(fd)
            raise
        return cls.attach(fd, nbytes)

    @classmethod
    def attach(cls, fd, nbytes):
        """Map the shared file `fd` (this segment owns the descriptor from now on)."""
        seg = cls(fd, max(nbytes, 1))  # mmap cannot map 0 bytes: an empty tensor keeps one spare byte
        seg.fd, seg.nbytes = fd, nbytes
        weakref.finalize(seg, os.close, fd)
        return seg

    def __reduce__(self):
        # multiprocessing's DupFd hands the descriptor to a child being started, or (queues) through its resource
        # sharer; only multiprocessing's pickler may do this, and the pickle memo sends a segment once however
        # many tensors view it
        from multiprocessing import reduction

        return _rebuild_segment, (reduction.DupFd(self.fd), self.nbytes)


def _rebuild_segment(dup, nbytes):
    return Segment.attach(dup.detach(), nbytes)


def segment_of(array):
    """The Segment under a numpy array (through views), or None."""
    while isinstance(array, np.ndarray):
        array = array.base
    return array if isinstance(array, Segment) else None


def shared_copy(array):
    """A C-contiguous copy of the numpy array in a new Segment."""
    out = np.ndarray(array.shape, array.dtype, buffer=Segment.allocate(array.nbytes))
    out[...] = array
    return out


def view_into(new_base, view, old_base):
    """`view` (an array viewing the C-contiguous `old_base`) as the same view of `new_base`, a copy of old_base."""
    offset = view.__array_interface__["data"][0] - old_base.__array_interface__["data"][0]
    return np.ndarray(view.shape, view.dtype, buffer=new_base, offset=offset, strides=view.strides)


def offset_in(array, segment):
    """Where the array's first element lies in the segment, in bytes."""
    return array.__array_interface__["data"][0] - np.frombuffer(segment, np.uint8).__array_interface__["data"][0]
