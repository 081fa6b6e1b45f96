"""The OpInfo runner: an op's samples as tensors, and one check per reference (numpy, PyTorch, float64 gradcheck and
gradgradcheck, aliasing), each for one op and one sample.

An op is given as its OpInfo or its registered name, a sample as a Sample or its index in the op's samples.
"""
import unittest

import numpy as np

from .. import autograd
from .._tensor import Tensor
from ..backend import CPU
from ..ops import OPS
from ..ops._registry import OpInfo, Sample
from ._compare import assert_close


def op_info(op):
    """The OpInfo of `op` (an OpInfo or a registered op's name)."""
    if isinstance(op, OpInfo):
        return op
    if op not in OPS:
        raise KeyError(f"no registered op {op!r} (Received: {op!r}; eagerlab.ops.OPS lists them)")
    return OPS[op]


def samples(op):
    """The op's samples, drawn from a fixed seed (the same list on every call)."""
    return op_info(op).samples(np.random.default_rng(0))


def op_cases(predicate=None):
    """[(op name, sample index)] for every sample of every registered op, in name order; `predicate(info, sample)`
    keeps a subset. Made for `pytest.mark.parametrize("name,i", op_cases())`."""
    return [(name, i) for name in sorted(OPS) if OPS[name].samples is not None
            for i, s in enumerate(samples(name)) if predicate is None or predicate(OPS[name], s)]


def _resolve(op, sample):
    info = op_info(op)
    return info, (sample if isinstance(sample, Sample) else samples(info)[sample])


def to_tensors(sample, dtype=np.float64, requires_grad=False):
    """(args, kwargs) of the sample as tensors: float arrays cast to `dtype` (and made to require grad when asked,
    keeping a non-contiguous layout), other arrays as they are, lists of arrays as lists of tensors, the rest
    unchanged."""

    def conv(a):
        if isinstance(a, np.generic):  # rng.standard_normal(()) gives a numpy scalar: a 0-d sample
            a = np.asarray(a)
        if isinstance(a, np.ndarray):
            if a.dtype.kind == "f":
                t = Tensor._make(np.array(a, dtype=dtype, copy=True) if a.flags.c_contiguous
                                 else np.array(a, dtype=dtype).T.copy().T if a.ndim == 2 else a.astype(dtype), CPU)
                return t.requires_grad_() if requires_grad else t
            return Tensor._make(a.copy(), CPU)
        if isinstance(a, (list, tuple)) and a and all(isinstance(x, np.ndarray) for x in a):
            return type(a)(conv(x) for x in a)
        return a

    return [conv(a) for a in sample.args], {k: conv(v) for k, v in sample.kwargs.items()}


def flat_tensors(out):
    """The tensors of an op's output (a tensor, or nested tuples/lists holding tensors), in order."""
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [o for x in out for o in flat_tensors(x)]
    return []


def tensor_call(op, args, kwargs, pick=lambda t: True, keywords=True):
    """(fn, leaves): the tensors among the op's arguments that `pick` keeps (also inside list arguments, as cat and
    stack take them, and keyword arguments unless keywords=False) become `leaves`, and fn(*leaves) calls the op
    with them in their places and returns its output."""
    info = op_info(op)
    keys = list(range(len(args))) + list(kwargs)
    values = list(args) + list(kwargs.values())
    slots = []
    for k, a in enumerate(values if keywords else args):
        if isinstance(a, Tensor) and pick(a):
            slots.append((k, None))
        elif isinstance(a, (list, tuple)):
            slots.extend((k, j) for j, x in enumerate(a) if isinstance(x, Tensor) and pick(x))
    leaves = [values[k] if j is None else values[k][j] for k, j in slots]

    def fn(*xs):
        call = list(values)
        for (k, j), x in zip(slots, xs):
            if j is None:
                call[k] = x
            else:
                items = list(call[k])
                items[j] = x
                call[k] = type(values[k])(items)
        return info.fn(*call[:len(args)], **dict(zip(keys[len(args):], call[len(args):])))

    return fn, leaves


def differentiable_call(op, args, kwargs):
    """(fn, leaves): fn(*leaves) calls the op with its positional inputs that require grad replaced and returns its
    floating-point outputs as a tuple (the function gradcheck takes). Samples pass the tensors that are constants
    of the gradient (running statistics updated in place, class weights) as keywords."""
    call, leaves = tensor_call(op, args, kwargs, pick=lambda t: t.requires_grad, keywords=False)

    def fn(*xs):
        return tuple(o for o in flat_tensors(call(*xs)) if o.is_floating_point())

    return fn, leaves


def check_reference(op, sample, dtype=np.float64):
    """The op's output on the sample (float inputs in `dtype`) equals its numpy reference `OpInfo.ref` (within the
    op's atol/rtol in float64, 1e-4 in float32)."""
    info, s = _resolve(op, sample)
    if info.ref is None:
        raise unittest.SkipTest(f"{info.name} has no numpy reference")
    args, kwargs = to_tensors(s, dtype=dtype)
    got = info.fn(*args, **kwargs)
    want = info.ref(*[a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in s.args],
                    **s.kwargs)
    tol = dict(atol=info.atol, rtol=info.rtol) if dtype == np.float64 else dict(atol=1e-4, rtol=1e-4)
    _assert_values(got, want, f"{info.name} vs its numpy reference on {s}", **tol)


def check_torch(op, sample):
    """The op's float64 output on the sample equals PyTorch's (`OpInfo.torch`: a name under `torch.` or a callable
    `(torch, *args, **kwargs)`). Raises unittest.SkipTest when PyTorch is not installed."""
    info, s = _resolve(op, sample)
    if info.torch is None:
        raise unittest.SkipTest(f"{info.name} has no PyTorch equivalent to compare with")
    torch = require_torch(f"check_torch({info.name!r})")
    args, kwargs = to_tensors(s)
    got = info.fn(*args, **kwargs)
    targs, tkwargs = _torch_args(torch, s)
    fn = getattr(torch, info.torch) if isinstance(info.torch, str) else (lambda *a, **k: info.torch(torch, *a, **k))
    want = fn(*targs, **tkwargs)
    want = [w.numpy() if hasattr(w, "numpy") else w for w in (want if isinstance(want, (tuple, list)) else [want])]
    _assert_values(got, want, f"{info.name} vs PyTorch on {s}", atol=1e-6, rtol=1e-5)


def _assert_values(got, want, msg, atol, rtol):
    """Outputs equal a reference's, compared as float64 values of the same shapes (references may differ in dtype
    and container type: numpy returns float64 and scalars, PyTorch tuples)."""
    got = [t.detach().numpy() for t in flat_tensors(got)] if not isinstance(got, Tensor) else [got.detach().numpy()]
    want = list(want) if isinstance(want, (tuple, list)) else [want]
    for g, w in zip(got, want):
        w = np.asarray(w)
        if w.dtype == bool or g.dtype == bool:
            assert_close(g, w, check_dtype=False, msg=msg)
        else:
            assert_close(g.astype(np.float64), w.astype(np.float64), atol=atol, rtol=rtol, equal_nan=True, msg=msg)


def check_gradcheck(op, sample):
    """float64 gradcheck of the op on the sample with respect to every positional input that is a float array.
    Raises unittest.SkipTest when the op or the sample is declared not differentiable, or the sample has no such
    input."""
    fn, leaves = _differentiable_sample(op, sample)
    assert autograd.gradcheck(fn, leaves, atol=1e-5, rtol=1e-3)


def check_gradgradcheck(op, sample):
    """float64 gradgradcheck (double backward) of the op on the sample, as check_gradcheck."""
    if not op_info(op).gradgrad:
        raise unittest.SkipTest(f"{op_info(op).name} declares no double backward (gradgrad=False)")
    fn, leaves = _differentiable_sample(op, sample)
    if all(x.numel() == 0 for x in leaves):
        raise unittest.SkipTest(f"{op_info(op).name}: only empty differentiable inputs")
    assert autograd.gradgradcheck(fn, leaves, atol=1e-4, rtol=1e-3)


def _differentiable_sample(op, sample):
    info, s = _resolve(op, sample)
    if not (info.grad and s.grad):
        raise unittest.SkipTest(f"{info.name} is not differentiable" + ("" if info.grad else " (grad=False)") +
                                ("" if s.grad else f" on {s} (grad=False)"))
    fn, leaves = differentiable_call(info, *to_tensors(s, requires_grad=True))
    if not leaves:
        raise unittest.SkipTest(f"{info.name}: no differentiable inputs in {s}")
    return fn, leaves


def check_views(op, sample):
    """An output that shares memory with an input is linked to it as a view (so autograd's version counters and
    the graph's memory planner see the aliasing)."""
    info, s = _resolve(op, sample)
    args, kwargs = to_tensors(s)
    inputs = flat_tensors(args) + flat_tensors(list(kwargs.values()))
    for out in flat_tensors(info.fn(*args, **kwargs)):
        for a in inputs:
            if out is not a and np.shares_memory(out._data, a._data):
                assert out._base is not None and out._vc is a._vc, f"{info.name}: output aliases an input untracked"


def require_torch(what):
    """The torch module; unittest.SkipTest (a skip under pytest and unittest) naming `what` when not installed."""
    try:
        import torch
    except ImportError:
        raise unittest.SkipTest(f"{what} compares with PyTorch, which is not installed (pip install torch)") from None
    return torch


def _torch_args(torch, sample):
    def conv(a):
        if isinstance(a, np.generic):
            a = np.asarray(a)
        if isinstance(a, np.ndarray):
            return torch.from_numpy(np.array(a, order="C", copy=True))  # ascontiguousarray makes 0-d 1-d
        if isinstance(a, (list, tuple)) and a and all(isinstance(x, np.ndarray) for x in a):
            return type(a)(conv(x) for x in a)
        return a

    return [conv(a) for a in sample.args], {k: conv(v) for k, v in sample.kwargs.items()}
