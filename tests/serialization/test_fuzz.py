"""Damaged files of every kind eagerlab reads: random byte changes and truncations of an eagerlab.save file, an
exported .elx and a safetensors file. Every outcome is the exact original data or a SerializationError: never
another exception, a hang, or silently different data. safetensors is the documented exception for its data bytes
and for header damage that yields another valid header (that format has no checksum)."""
import contextlib
import io
import math
import signal
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eagerlab as el
from eagerlab._tensor import Tensor
from eagerlab.errors import SerializationError
from eagerlab.serialization import load_safetensors, save_safetensors

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
HANG_S = 5  # one load of these small files takes milliseconds


@contextlib.contextmanager
def no_hang():
    """Fail, instead of hanging, if a load runs longer than HANG_S (POSIX main thread; elsewhere unbounded)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def timeout(*_):
        raise AssertionError(f"a damaged file made the loader run longer than {HANG_S} s")

    old = signal.signal(signal.SIGALRM, timeout)
    signal.setitimer(signal.ITIMER_REAL, HANG_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def load_or_refuse(load, data):
    """What `load` gives for the damaged bytes, or None when it raises SerializationError (the one allowed error)."""
    with no_hang():
        try:
            return load(io.BytesIO(data))
        except SerializationError:
            return None


def damage(data):
    """A strategy of damaged copies of `data`: 1-3 bytes changed, or a truncation, or both."""
    changes = st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(1, 255)), max_size=3)
    cut = st.one_of(st.none(), st.integers(0, len(data) - 1))

    def apply(args):
        flips, end = args
        bad = bytearray(data)
        for pos, xor in flips:
            bad[pos] ^= xor
        return bytes(bad[:end]), flips, end

    return st.tuples(changes, cut).filter(lambda a: a[0] or a[1] is not None).map(apply)


def _plain_vars(module):
    return {k: dict(v) if isinstance(v, dict) else v for k, v in vars(module).items()}  # OrderedDict -> dict


def same(a, b):
    """Exact equality of loaded objects: types, dtypes, shapes and bits (NaN equal to itself)."""
    if isinstance(a, el.nn.Module):  # class, mode and attributes, children and parameters alike
        return type(a) is type(b) and same(_plain_vars(a), _plain_vars(b))
    if isinstance(a, set):
        return type(b) is set and a == b
    if isinstance(a, Tensor):
        return isinstance(b, Tensor) and a.dtype is b.dtype and same(a.numpy(), b.numpy())
    if isinstance(a, np.ndarray):
        return (type(b) is np.ndarray and a.dtype == b.dtype and a.shape == b.shape
                and a.tobytes() == b.tobytes())
    if isinstance(a, np.generic):
        return type(a) is type(b) and a.tobytes() == b.tobytes()
    if isinstance(a, dict):
        return type(b) is dict and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return type(a) is type(b) and a == b


def native_file():
    w = el.tensor(np.linspace(-3, 3, 24, dtype=np.float32).reshape(4, 6))
    obj = {"w": w, "w_row": w[1], "b": el.arange(5), "mask": el.tensor([True, False]),
           "opt": {"step": 12, "lr": 1e-3, "betas": (0.9, 0.999), "nan": float("nan"), "name": "adam"},
           "np": np.arange(6, dtype=np.uint16).reshape(2, 3), "scalar": np.float64(2.5)}
    buf = io.BytesIO()
    el.save(obj, buf)
    return buf.getvalue()


NATIVE = native_file()
NATIVE_OBJ = el.load(io.BytesIO(NATIVE))


@FUZZ
@given(damage(NATIVE))
def test_damaged_eagerlab_file(case):
    out = load_or_refuse(el.load, case[0])
    assert out is None or same(out, NATIVE_OBJ), "a damaged file loaded as different data"


def module_file():
    """A whole Module (format version 3): tied weights, a child in eval mode, plain attributes."""
    el.manual_seed(0)
    model = el.nn.Sequential(el.nn.Embedding(5, 3), el.nn.Linear(3, 5), el.nn.Dropout(0.5))
    model[1].weight = model[0].weight
    model[2].eval()
    buf = io.BytesIO()
    el.save(model, buf)
    return buf.getvalue()


MODULE = module_file()
MODULE_OBJ = el.load(io.BytesIO(MODULE))


@FUZZ
@given(damage(MODULE))
def test_damaged_module_file(case):
    out = load_or_refuse(el.load, case[0])
    assert out is None or (same(out, MODULE_OBJ) and out[1].weight is out[0].weight), \
        "a damaged file loaded as a different module"


def exported_file(tmp_path_factory):
    model = el.nn.Sequential(el.nn.Linear(4, 3), el.nn.ReLU(), el.nn.Linear(3, 2))
    path = tmp_path_factory.mktemp("fuzz") / "model.elx"
    el.export(model, (el.ones(2, 4),), path)
    return path.read_bytes()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    data = exported_file(tmp_path_factory)
    fn = el.load_exported(io.BytesIO(data))
    return data, fn, fn(X)


X = el.tensor(np.arange(8, dtype=np.float32).reshape(2, 4) / 8)


@FUZZ
@given(st.data())
def test_damaged_exported_file(exported, data):
    original, fn, y = exported
    loaded = load_or_refuse(el.load_exported, data.draw(damage(original))[0])
    if loaded is not None:
        assert loaded.code == fn.code and same(loaded.state_dict(), fn.state_dict())
        with no_hang():
            assert same(loaded(X), y)


def safetensors_file():
    buf = io.BytesIO()
    save_safetensors({"embed.weight": el.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)),
                      "head.bias": el.arange(3, dtype=el.int64), "scale": el.tensor(0.5, dtype=el.float16)}, buf)
    return buf.getvalue()


SAFETENSORS = safetensors_file()
SAFETENSORS_OBJ = load_safetensors(io.BytesIO(SAFETENSORS))
SAFETENSORS_DATA_START = 8 + struct.unpack("<Q", SAFETENSORS[:8])[0]


@FUZZ
@given(damage(SAFETENSORS))
def test_damaged_safetensors_file(case):
    bad, flips, end = case
    out = load_or_refuse(load_safetensors, bad)
    if out is None:
        return
    assert type(out) is dict and all(isinstance(t, Tensor) for t in out.values())
    assert end is None, "a truncated safetensors file loaded"  # the tensors must tile the data exactly
    if all(pos >= SAFETENSORS_DATA_START for pos, _ in flips):  # data bytes only: same tensors, maybe new values
        assert [(k, t.dtype, t.shape) for k, t in out.items()] == \
            [(k, t.dtype, t.shape) for k, t in SAFETENSORS_OBJ.items()]


def test_fuzz_inputs_are_real_files():
    """The originals load (so the fuzz tests above do exercise the success path), and damage is really caught."""
    assert MODULE_OBJ[1].weight is MODULE_OBJ[0].weight and not MODULE_OBJ[2].training and MODULE_OBJ.training
    assert same(el.load(io.BytesIO(NATIVE)), NATIVE_OBJ) and NATIVE_OBJ["w_row"].tolist() == [
        pytest.approx(v) for v in np.linspace(-3, 3, 24, dtype=np.float32)[6:12]]
    bad = bytearray(NATIVE)
    bad[-1] ^= 1
    with pytest.raises(SerializationError, match="checksum mismatch"):
        el.load(io.BytesIO(bytes(bad)))
