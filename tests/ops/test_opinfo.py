"""Generic tests over the whole op registry: every op has samples; forward against numpy and PyTorch; float64
gradcheck and gradgradcheck; infer() agrees with eager; every primitive is exercised."""
import numpy as np
import pytest

import eagerlab
from eagerlab.ops import OPS, PRIMITIVES
from eagerlab.autograd.interpreter import installed

from .harness import InferSpy, flat_outputs, to_numpy, to_tensors, torch_args

OP_NAMES = sorted(OPS)


def _samples(info):
    return info.samples(np.random.default_rng(0))


def _cases(filter_fn=lambda info, s: True):
    out = []
    for name in OP_NAMES:
        info = OPS[name]
        if info.samples is None:
            continue
        for i, s in enumerate(_samples(info)):
            if filter_fn(info, s):
                out.append(pytest.param(name, i, id=f"{name}-{i}"))
    return out


def test_every_op_has_samples():
    missing = [n for n in OP_NAMES if OPS[n].samples is None or not _samples(OPS[n])]
    assert not missing, f"ops registered without samples: {missing}"


def test_primitive_count():
    print(f"\n{len(PRIMITIVES)} primitives, {len(OPS)} public ops")
    assert len(PRIMITIVES) > 0


def test_every_primitive_is_exercised_and_infer_agrees():
    """Run every sample (forward and, where differentiable, backward) under a spy interpreter."""
    spy = InferSpy()
    with installed(spy):
        for name in OP_NAMES:
            info = OPS[name]
            for s in _samples(info):
                want_grad = info.grad and s.grad
                args, kwargs = to_tensors(s, requires_grad=want_grad)
                out = info.fn(*args, **kwargs)
                outs = [o for o in flat_outputs(out) if o.requires_grad]
                if outs:
                    eagerlab.autograd.backward(outs, [eagerlab.ones_like(o) for o in outs])
    assert not spy.mismatches, f"infer disagrees with eager output: {spy.mismatches[:10]}"
    # moving between devices needs a second device: exercised by tests/test_devices.py on a GPU machine
    exempt = set() if eagerlab.cuda.is_available() else {"to_device"}
    unexercised = sorted(set(PRIMITIVES) - spy.seen - exempt)
    assert not unexercised, f"primitives no sample exercises (add samples): {unexercised}"


@pytest.mark.parametrize("name,i", _cases(lambda info, s: info.ref is not None))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward_matches_numpy_reference(name, i, dtype):
    info = OPS[name]
    s = _samples(info)[i]
    args, kwargs = to_tensors(s, dtype=dtype)
    got = to_numpy(info.fn(*args, **kwargs))
    want = info.ref(*[a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
                      for a in s.args], **s.kwargs)
    tol = dict(atol=info.atol, rtol=info.rtol) if dtype == np.float64 else dict(atol=1e-4, rtol=1e-4)
    for g, w in zip(*(([got], [want]) if not isinstance(want, (tuple, list)) else (got, want))):
        np.testing.assert_allclose(np.asarray(g, dtype=np.float64) if np.asarray(g).dtype != bool else g,
                                   np.asarray(w, dtype=np.float64) if np.asarray(w).dtype != bool else w, **tol)
        assert np.shape(g) == np.shape(w)


@pytest.mark.parametrize("name,i", _cases(lambda info, s: info.torch is not None))
def test_forward_matches_torch(name, i):
    torch = pytest.importorskip("torch")
    info = OPS[name]
    s = _samples(info)[i]
    args, kwargs = to_tensors(s)
    got = to_numpy(info.fn(*args, **kwargs))
    targs, tkwargs = torch_args(torch, s)
    fn = getattr(torch, info.torch) if isinstance(info.torch, str) else (lambda *a, **k: info.torch(torch, *a, **k))
    want = fn(*targs, **tkwargs)
    want = [w.numpy() if hasattr(w, "numpy") else w for w in (want if isinstance(want, (tuple, list)) else [want])]
    got = got if isinstance(got, list) else [got]
    for g, w in zip(got, want):
        w = np.asarray(w)
        assert np.shape(g) == w.shape, (np.shape(g), w.shape)
        if w.dtype == bool or np.asarray(g).dtype == bool:
            np.testing.assert_array_equal(g, w)
        else:
            np.testing.assert_allclose(np.asarray(g, np.float64), w.astype(np.float64), atol=1e-6, rtol=1e-5)


def _differentiable_call(info, args, kwargs):
    """(fn, leaves): fn(*leaves) calls the op with the differentiable tensors replaced, including tensors inside
    list arguments (cat, stack)."""
    slots = []
    for k, a in enumerate(args):
        if isinstance(a, eagerlab.Tensor) and a.requires_grad:
            slots.append((k, None))
        elif isinstance(a, (list, tuple)):
            slots.extend((k, j) for j, x in enumerate(a) if isinstance(x, eagerlab.Tensor) and x.requires_grad)
    leaves = [args[k] if j is None else args[k][j] for k, j in slots]

    def fn(*xs):
        call = list(args)
        for (k, j), x in zip(slots, xs):
            if j is None:
                call[k] = x
            else:
                items = list(call[k])
                items[j] = x
                call[k] = type(args[k])(items)
        return tuple(o for o in flat_outputs(info.fn(*call, **kwargs)) if o.is_floating_point())

    return fn, leaves


@pytest.mark.parametrize("name,i", _cases(lambda info, s: info.grad and s.grad))
def test_gradcheck(name, i):
    info = OPS[name]
    args, kwargs = to_tensors(_samples(info)[i], requires_grad=True)
    fn, leaves = _differentiable_call(info, args, kwargs)
    if not leaves:
        pytest.skip("no differentiable inputs")
    assert eagerlab.autograd.gradcheck(fn, leaves, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("name,i", _cases(lambda info, s: info.grad and info.gradgrad and s.grad))
def test_gradgradcheck(name, i):
    info = OPS[name]
    args, kwargs = to_tensors(_samples(info)[i], requires_grad=True)
    fn, leaves = _differentiable_call(info, args, kwargs)
    if not leaves or all(x.numel() == 0 for x in leaves):
        pytest.skip("no differentiable inputs")
    assert eagerlab.autograd.gradgradcheck(fn, leaves, atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("name,i", _cases())
def test_a_result_sharing_memory_with_an_input_is_a_tracked_view(name, i):
    """Aliasing must be visible to autograd's version counters (and to the graph's memory planner): an output
    that shares memory with an input is linked to it as a view."""
    info = OPS[name]
    args, kwargs = to_tensors(_samples(info)[i])
    inputs = [a for a in flat_outputs(args) + flat_outputs(list(kwargs.values()))]
    for out in flat_outputs(info.fn(*args, **kwargs)):
        for a in inputs:
            if out is not a and np.shares_memory(out._data, a._data):
                assert out._base is not None and out._vc is a._vc, f"{name}: output aliases an input untracked"
