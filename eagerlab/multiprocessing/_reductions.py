"""How tensors cross process boundaries: multiprocessing's ForkingPickler (which starts spawn/forkserver children
and feeds Queues) sends a CPU tensor as its shared-memory segment (moving it there first, as PyTorch does) plus
its view (offset, shape, strides, dtype); the receiver maps the same memory, so writes on either side are seen by
both. Plain pickle still refuses tensors (Tensor.__reduce__ raises)."""
from multiprocessing import reduction

import numpy as np

from .._tensor import Tensor
from ..backend import CPU
from ..backend.shared_memory import offset_in, segment_of
from ..errors import AutogradError, fmt_shape


def _reduce_tensor(t):
    if t.requires_grad and t._node is not None:
        raise AutogradError(f"a Tensor (shape {fmt_shape(t.shape)}) that requires grad and is not a leaf cannot be "
                            "sent to another process: its graph stays here; send t.detach() instead")
    t.share_memory_()
    a = t._data
    seg = segment_of(a)
    return _rebuild_tensor, (type(t), seg, offset_in(a, seg), a.shape, a.strides, a.dtype.str, t.requires_grad)


def _rebuild_tensor(cls, seg, offset, shape, strides, dtype, requires_grad):
    array = np.ndarray(shape, np.dtype(dtype), buffer=seg, offset=offset, strides=strides)
    return cls._make(array, CPU, requires_grad)


def _tensor_types(cls=Tensor):
    yield cls
    for sub in cls.__subclasses__():
        yield from _tensor_types(sub)


def _register(cls):
    reduction.ForkingPickler.register(cls, _reduce_tensor)


def register_reducers():
    """Let ForkingPickler send Tensor and its subclasses (Parameter, users' own), those defined so far and later,
    through shared memory (pickle picks a reducer by the exact type)."""
    for cls in _tensor_types():
        _register(cls)
    if _register not in Tensor._subclass_hooks:
        Tensor._subclass_hooks.append(_register)
