"""float16 / bfloat16 tensors: creation, conversion, printing, PyTorch's promotion, save/load, the lazy ml_dtypes
import and its error, and 16-bit GEMMs computed in float32 and rounded once."""
import os
import subprocess
import sys

import numpy as np
import pytest

import eagerlab as el
from eagerlab.errors import UnsupportedError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_creation_conversion_and_printing():
    x = el.tensor([1.5, 2.25, -3.0])
    assert el.half is el.float16 and el.bfloat16.itemsize == 2
    assert x.half().dtype is el.float16 and x.bfloat16().dtype is el.bfloat16
    assert x.to("bfloat16").dtype is el.bfloat16 and x.to(el.bfloat16).float().tolist() == [1.5, 2.25, -3.0]
    assert el.zeros(2, 3, dtype=el.bfloat16).dtype is el.bfloat16
    assert el.ones(2, dtype="bfloat16").tolist() == [1.0, 1.0]
    assert repr(x.bfloat16()) == "tensor([ 1.5000,  2.2500, -3.0000], dtype=eagerlab.bfloat16)"
    assert repr(x.half()) == "tensor([ 1.5000,  2.2500, -3.0000], dtype=eagerlab.float16)"
    assert el.tensor(1 / 3).bfloat16().item() == 0.333984375  # rounded to 8 significant bits
    m = el.nn.Linear(3, 2).bfloat16()
    assert m.weight.dtype is el.bfloat16 and m.weight.requires_grad


@pytest.mark.parametrize("a,b", [("bfloat16", "float16"), ("bfloat16", "float32"), ("bfloat16", "int64"),
                                 ("bfloat16", "bool"), ("float16", "int32"), ("bfloat16", "float64"),
                                 ("bfloat16", "uint8")])
def test_promotion_as_pytorch(a, b):
    torch = pytest.importorskip("torch")
    expected = str(torch.promote_types(getattr(torch, a), getattr(torch, b))).replace("torch.", "")
    assert el.promote_types(a, b).name == expected
    ours = el.ones(2, dtype=a) + el.ones(2, dtype=b)
    assert ours.dtype.name == expected
    assert (el.ones(2, dtype=a) * 2.5).dtype.name == a  # a Python float does not widen a float tensor


def test_gradients_and_gemms_of_bfloat16():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 7)).astype(np.float32), rng.standard_normal((7, 3)).astype(np.float32)
    x = el.tensor(a).bfloat16().requires_grad_()
    w = el.tensor(b).bfloat16().requires_grad_()
    y = x @ w
    assert y.dtype is el.bfloat16
    # one rounding of the float32 product of the rounded operands
    expected = el.tensor(x.detach().float().numpy() @ w.detach().float().numpy()).bfloat16()
    assert (y == expected).all()
    y.sum().backward()
    assert x.grad.dtype is el.bfloat16 and w.grad.dtype is el.bfloat16
    row_sums = w.detach().float().numpy().sum(1)
    np.testing.assert_allclose(x.grad.float().numpy(), np.repeat(row_sums[None], 5, 0), rtol=1e-2)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_save_load_and_safetensors(tmp_path, dtype):
    t = el.tensor([0.1, -2.5, 1e4]).to(dtype)
    el.save({"t": t}, tmp_path / "a.el")
    back = el.load(tmp_path / "a.el")["t"]
    assert back.dtype.name == dtype and (back == t).all()
    from eagerlab.serialization import load_safetensors, save_safetensors

    save_safetensors({"t": t}, tmp_path / "a.safetensors")
    back = load_safetensors(tmp_path / "a.safetensors")["t"]
    assert back.dtype.name == dtype and (back == t).all()


def test_safetensors_codes_interoperate():
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    import tempfile

    from eagerlab.serialization import load_safetensors, save_safetensors

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.safetensors")
        st.save_file({"w": torch.tensor([1.5, -0.1], dtype=torch.bfloat16),
                      "h": torch.tensor([3.0], dtype=torch.float16)}, path)
        got = load_safetensors(path)
        assert got["w"].dtype is el.bfloat16 and got["w"].float().tolist() == [1.5, -0.10009765625]
        assert got["h"].dtype is el.float16
        save_safetensors(got, path)
        back = st.load_file(path)
        assert back["w"].dtype == torch.bfloat16 and back["h"].dtype == torch.float16


def _python(code):
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_ml_dtypes_is_imported_on_first_use_only_and_its_absence_is_explained():
    run = _python("import sys, eagerlab as el; x = el.ones(2).half(); assert 'ml_dtypes' not in sys.modules; "
                  "el.ones(2).bfloat16(); assert 'ml_dtypes' in sys.modules")
    assert run.returncode == 0, run.stderr
    run = _python("import sys; sys.modules['ml_dtypes'] = None\nimport eagerlab as el\ntry:\n el.ones(2).bfloat16()\n"
                  "except el.errors.UnsupportedError as e:\n print(e)")
    assert run.returncode == 0 and "eagerlab[bf16]" in run.stdout, run.stdout + run.stderr


def test_bfloat16_on_a_cupy_without_it_is_unsupported():
    from eagerlab.backend import device

    class _NoBf16Cupy:  # what a cupy without bfloat16 does when asked for such an array
        __version__ = "13.0"

        @staticmethod
        def zeros(*a, **k):
            raise TypeError("Unsupported dtype bfloat16")

    dev = el.device("cuda")
    saved = dev._xp, device._bf16_on_cupy
    dev._xp, device._bf16_on_cupy = _NoBf16Cupy, None
    try:
        with pytest.raises(UnsupportedError, match="bfloat16 tensors on cuda:0.*float16"):
            device.check_dtype_on_device("bfloat16", dev)
        device.check_dtype_on_device("float16", dev)  # float16 is native
    finally:
        dev._xp, device._bf16_on_cupy = saved
