"""The eager Tensor: a backend array plus autograd bookkeeping. Math lives in ops/; methods are attached there
(docs/tensor_methods.md lists every attribute and where it is defined).

Here: the data structure and what reads it without an op (shape, dtype, device, Python numbers and host arrays,
shared memory, detach). Methods built on other layers live with them: `to` and its shorthands (cpu, cuda, type,
float, ...) in ops/conversion.py, the gradient hooks (register_hook, retain_grad) in autograd/hooks.py.
"""
import numpy as np

from .backend import CPU, array_to_device, from_numpy_dtype
from .backend.shared_memory import segment_of, shared_copy, view_into
from .backend.dtypes import is_floating_np
from .errors import AutogradError, DeviceError, DTypeError, UnsupportedError, fmt_shape


class Size(tuple):
    """A tensor's shape: a tuple with PyTorch's `numel()`."""

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self):
        return f"eagerlab.Size([{', '.join(map(str, self))}])"


class Tensor:
    """An n-dimensional array on a device, with define-by-run autograd.

    _data: the numpy/cupy array. _node: the Node that produced it (None for leaves). _out: which output of
    _node. _vc: version counter ([int], shared by a view and its base; created on first need). _base: the
    tensor this one is a view of.

    This class holds the data structure; the layers above attach the methods they implement (the constructor
    in ops.creation, `to` in ops.conversion, `backward` and the hooks in autograd, the math in ops/):
    docs/tensor_methods.md lists every method and where it is defined.
    """

    __slots__ = ("_data", "_device", "_node", "_out", "_vc", "_base", "requires_grad", "grad", "_hooks",
                 "_retains_grad", "__weakref__")
    __array_priority__ = 1000  # numpy defers `ndarray + tensor` to Tensor.__radd__
    # called with every subclass defined (eagerlab.multiprocessing registers its pickler's reducer for each: pickle
    # picks reducers by exact type)
    _subclass_hooks = []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for hook in Tensor._subclass_hooks:
            hook(cls)

    @classmethod
    def _make(cls, data, device, requires_grad=False):
        """Wrap a backend array without copying (the hot path of every op)."""
        t = object.__new__(cls)
        t._data = data
        t._device = device
        t._node = None
        t._out = 0
        t._vc = None
        t._base = None
        t.requires_grad = requires_grad
        t.grad = None
        t._hooks = None
        t._retains_grad = False
        return t

    def _check_grad_dtype(self):
        if not is_floating_np(self._data.dtype) and self._data.dtype.kind != "c":
            raise DTypeError(
                f"only Tensors of floating point dtype can require gradients; this tensor has dtype "
                f"{self.dtype} and shape {fmt_shape(self.shape)}. Convert it first, e.g. x.float().requires_grad_()"
            )

    # ---- properties -------------------------------------------------------------------------------------
    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim, "size")]

    @property
    def dtype(self):
        return from_numpy_dtype(self._data.dtype)

    @property
    def device(self):
        return self._device

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    ndimension = dim

    def numel(self):
        return int(self._data.size)

    nelement = numel

    def element_size(self):
        return self._data.itemsize

    def is_floating_point(self):
        return is_floating_np(self._data.dtype)

    @property
    def is_cuda(self):
        return self._device.type == "cuda"

    @property
    def is_cpu(self):
        return self._device.type == "cpu"

    # device kinds eagerlab has no backend for (PyTorch programs test them before choosing a path)
    is_mps = is_xpu = is_meta = property(lambda self: False)

    def is_contiguous(self):
        return bool(self._data.flags.c_contiguous)

    def is_shared(self):
        """True when the memory is shared with other processes (after share_memory_(), or when the tensor arrived
        from another process through eagerlab.multiprocessing)."""
        return segment_of(self._data) is not None

    def share_memory_(self):
        """Move the memory into shared memory (nothing to do when it is there already); returns self.

        Children started afterwards by fork, and processes the tensor is sent to through eagerlab.multiprocessing
        (Process arguments under spawn, Queues), read and write the same memory: the hogwild pattern. A view shares
        its base tensor's memory with it; other views made before keep the old memory, so share a tensor before
        taking the views that should follow it."""
        if self._device is not CPU:
            raise UnsupportedError(f"share_memory_: only CPU tensors can be shared between processes by eagerlab; "
                                   f"this one (shape {fmt_shape(self.shape)}) is on {self.device}")
        if segment_of(self._data) is not None:
            return self
        base = self._base
        if base is None:
            self._data = shared_copy(self._data)
            return self
        # a view (of a tensor made by reshape, say): share its base's memory and view the same place in it
        what = f"share_memory_: this tensor (shape {fmt_shape(self.shape)}) is a view of a tensor (shape " \
               f"{fmt_shape(base.shape)})"
        if segment_of(base._data) is not None:
            raise UnsupportedError(f"{what} that was moved to shared memory after this view was taken; the view "
                                   "still sees the old memory: take it again from the shared tensor")
        if not base._data.flags.c_contiguous:
            raise UnsupportedError(f"{what} that is not contiguous; share a contiguous copy")
        old, view = base._data, self._data
        base.share_memory_()
        self._data = view_into(base._data, view, old)
        return self

    def stride(self, dim=None):
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[_wrap_dim(dim, self._data.ndim, "stride")]

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def grad_fn(self):
        return self._node

    @property
    def _version(self):
        return self._vc[0] if self._vc is not None else 0

    def _bump(self):
        """Record an in-place change (views share the counter with their base)."""
        if self._vc is None:
            self._vc = [1]
        else:
            self._vc[0] += 1

    @property
    def data(self):
        """The same storage, detached from autograd."""
        return self.detach()

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise DTypeError(f"Tensor.data: expected a Tensor, got {type(value).__name__}")
        self._data, self._device = value._data, value._device

    @property
    def T(self):
        return self.permute(*range(self._data.ndim - 1, -1, -1))

    @property
    def mT(self):
        if self._data.ndim < 2:
            raise UnsupportedError(f"mT: tensor must have at least 2 dims, got shape {fmt_shape(self.shape)}")
        return self.transpose(-2, -1)

    # ---- conversion -------------------------------------------------------------------------------------
    def numpy(self, *, force=False):
        """The numpy array behind this CPU tensor (shares memory, as in PyTorch). Parameters (leaves that require
        grad) give their values as Keras variables do; a computed result that requires grad still asks for
        detach(), so nobody mistakes the array for something autograd follows."""
        if self.requires_grad and self._node is not None and not force:
            raise AutogradError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if self._device.type != "cpu":
            if not force:
                raise DeviceError(f"Can't convert {self._device} tensor to numpy. Use tensor.cpu() first.")
            return array_to_device(self._data, CPU)
        return self._data

    def _host(self):
        return self._data if self._device is CPU else array_to_device(self._data, CPU)

    def item(self):
        if self._data.size != 1:
            raise ValueError(f"item(): a Tensor with {self._data.size} elements cannot be converted to a Python "
                             f"scalar (shape {fmt_shape(self.shape)})")
        return self._host().reshape(()).item()

    def tolist(self):
        return self._host().tolist()

    def __array__(self, dtype=None, copy=None):
        arr = self._host()
        if dtype is not None:
            arr = arr.astype(dtype, copy=False)
        return arr.copy() if copy else arr

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} elements is ambiguous "
                               f"(shape {fmt_shape(self.shape)}); use .any() or .all()")
        return bool(self.item())

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError(f"only integer tensors of a single element can be converted to an index "
                            f"(got dtype {self.dtype}, shape {fmt_shape(self.shape)})")
        return int(self.item())

    def __complex__(self):
        return complex(self.item())

    def __format__(self, spec):
        # a 0-d tensor formats as its number ('{:+.2f}'.format(loss)), as in PyTorch; others only without a spec
        if self._data.ndim == 0 and type(self) is Tensor:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    __hash__ = object.__hash__

    # ---- autograd ---------------------------------------------------------------------------------------
    def detach(self):
        """A new tensor on the same storage, cut from the graph (views and in-place changes are shared)."""
        t = Tensor._make(self._data, self._device)
        if self._vc is None:
            self._vc = [0]
        t._vc = self._vc
        t._base = self._base if self._base is not None else self
        return t

    def detach_(self):
        if self._base is not None and self._base.requires_grad:
            raise AutogradError("detach_: can't detach a view of a tensor that requires grad in place; use detach()")
        self._node, self.requires_grad = None, False
        return self

    def requires_grad_(self, requires_grad=True):
        if requires_grad:
            self._check_grad_dtype()
        elif self._node is not None:
            raise AutogradError(
                "requires_grad_(False): you can only change requires_grad flags of leaf variables. If you want to "
                "use a computed variable in a subgraph that doesn't require differentiation use var_no_grad = "
                "var.detach()."
            )
        self.requires_grad = requires_grad
        return self

    # ---- misc -------------------------------------------------------------------------------------------
    def __repr__(self):
        from .utils.printing import tensor_repr

        return tensor_repr(self)

    def __deepcopy__(self, memo):
        """copy.deepcopy of a leaf (a model's weights): new memory, same class, requires_grad and grad."""
        if self._node is not None:
            raise AutogradError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                                "protocol; call .detach() first")
        out = type(self)._make(self._data.copy(), self._device, self.requires_grad)
        memo[id(self)] = out
        if self.grad is not None:
            out.grad = self.grad.__deepcopy__(memo)
        return out

    def __reduce__(self):
        raise UnsupportedError("Tensors cannot be pickled; use eagerlab.save (a safe, pickle-free format)")


def _wrap_dim(dim, ndim, op):
    """Normalize a possibly negative dim; IndexError naming the op, the dim and the valid range."""
    lo = -max(ndim, 1)
    hi = max(ndim, 1) - 1
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if dim < lo or dim > hi:
        raise IndexError(f"{op}: Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})")
    return int(dim) % max(ndim, 1)


def is_tensor(obj):
    return isinstance(obj, Tensor)

