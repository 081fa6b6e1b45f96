"""Storages: the byte blocks of an eagerlab file, each holding one or more arrays (views of one memory block).

On save, arrays whose memory overlaps (a tensor and a slice of it, the chunks of a fused weight read together)
share one storage holding the span of memory they cover, so that they load as views of one buffer, as torch.load
gives; every other array gets a storage of its own with its bytes in C order. Sharing is kept among tensors and
among numpy arrays, never between the two kinds (a numpy array that could write into a tensor behind autograd's
back is refused on load). Not shared (saved as separate copies): views on a GPU, views whose strides are not
multiples of the item size or which overlap themselves (an expand), and arrays in big-endian byte order.
"""
import ctypes
import math
import sys

import numpy as np

from ._io import host_bytes

LITTLE = sys.byteorder == "little"


def extent(shape, strides, itemsize):
    """(lowest, highest + 1) byte of a non-empty array relative to its element 0."""
    lo = sum((d - 1) * s for d, s in zip(shape, strides) if s < 0)
    hi = sum((d - 1) * s for d, s in zip(shape, strides) if s > 0)
    return lo, hi + itemsize


def overlaps_itself(shape, strides, itemsize):
    """Whether two elements may share memory: sufficient test (dims by growing stride, each stride at least the
    span of the smaller ones); an expand (stride 0) or a hand-made as_strided view fails it."""
    span = itemsize
    for d, s in sorted(((d, abs(s)) for d, s in zip(shape, strides) if d > 1), key=lambda p: p[1]):
        if s < span:
            return True
        span += (d - 1) * s
    return False


def _shareable(arr):
    """The absolute byte range [lo, hi) of a host array that may share a storage, or None."""
    if (type(arr) is not np.ndarray or arr.size == 0 or not (arr.dtype.isnative and LITTLE or arr.itemsize == 1)
            or any(s % arr.itemsize for s in arr.strides)
            or overlaps_itself(arr.shape, arr.strides, arr.itemsize)):
        return None
    lo, hi = extent(arr.shape, arr.strides, arr.itemsize)
    ptr = arr.__array_interface__["data"][0]
    return ptr + lo, ptr + hi


class Storage:
    """One block of the data section: `members` (indices into the array records) and how to get its bytes."""

    __slots__ = ("members", "span", "nbytes")

    def __init__(self, members, span=None, nbytes=0):
        self.members, self.span, self.nbytes = members, span, nbytes

    def bytes(self, arrays):
        """The storage's bytes as a uint8 array (a device array is copied to the host each time it is asked)."""
        if self.span is None:
            return host_bytes(arrays[self.members[0]])
        lo, hi = self.span  # memory owned by the arrays being saved, which are alive until save returns
        return np.frombuffer((ctypes.c_char * (hi - lo)).from_address(lo), np.uint8)


def plan(arrays, kinds):
    """Group the arrays being saved into storages. arrays: host or device arrays; kinds: 'tensor', 'ndarray' or
    'npscalar' for each. Returns the storages (in order of first use) and, per array, (storage index, byte offset
    of element 0, strides)."""
    groups, spans = [], {}
    for i, (arr, kind) in enumerate(zip(arrays, kinds)):
        span = _shareable(arr) if kind != "npscalar" else None
        if span is None:
            groups.append(Storage([i]))
        else:
            spans.setdefault(kind, []).append((span[0], span[1], i))
    for items in spans.values():
        items.sort()
        current = None
        for lo, hi, i in items:
            if current is not None and lo < current.span[1]:  # overlaps the block being built
                current.members.append(i)
                current.span = (current.span[0], max(current.span[1], hi))
            else:
                current = Storage([i], (lo, hi))
                groups.append(current)
    storages, layout = [], [None] * len(arrays)
    for group in sorted(groups, key=lambda g: min(g.members)):
        members = [group] if group.span is None or len(group.members) > 1 else [Storage(group.members)]
        if len(group.members) > 1 and any(_offset(arrays[i], group) % arrays[i].itemsize for i in group.members):
            members = [Storage([i]) for i in group.members]  # cannot align them all: save them apart
        for storage in members:
            s = len(storages)
            storages.append(storage)
            for i in storage.members:
                arr = arrays[i]
                if storage.span is None:
                    storage.nbytes = math.prod(arr.shape) * arr.itemsize
                    strides = c_strides(arr.shape, arr.itemsize)
                    layout[i] = (s, 0, strides)
                else:
                    storage.nbytes = storage.span[1] - storage.span[0]
                    layout[i] = (s, _offset(arr, storage), list(arr.strides))
    return storages, layout


def _offset(arr, storage):
    return arr.__array_interface__["data"][0] - storage.span[0]


def c_strides(shape, itemsize):
    strides, step = [], itemsize
    for d in reversed(shape):
        strides.append(step)
        step *= d
    return strides[::-1]


def view(buf, np_dtype, shape, offset, strides, xp=np):
    """The array of `shape` and `strides` whose element 0 is at byte `offset` of the uint8 buffer `buf` (numpy or
    cupy); the caller has checked that every element lies inside `buf`."""
    if math.prod(shape) == 0:
        return xp.empty(shape, np_dtype)
    start = buf[offset:offset + (buf.size - offset) // np_dtype.itemsize * np_dtype.itemsize]
    return xp.lib.stride_tricks.as_strided(start.view(np_dtype), shape, strides)
