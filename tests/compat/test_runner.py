"""The drop-in runner: `python -m eagerlab.compat.torch script.py args` runs a PyTorch script on eagerlab by
renaming modules only; missing names fail normally, with a hint."""
import io
import json
import os
import runpy
import sys
import zlib
from contextlib import redirect_stdout

import numpy as np
import pytest

from ._run import PROGRAMS, last_json, run_compat

ALIASES = r'''
import json, sys
import torch, torch.nn, torch.nn.functional as F, torch.optim.lr_scheduler, torch.utils.data, torch.nn.parallel
import torch.backends.cudnn as cudnn, torchvision.datasets, torchvision.transforms, torchvision.utils
import torch.utils.data.sampler, torch.utils.data.dataloader
import eagerlab, eagerlab.nn.functional, eagerlab.datasets.images
print(json.dumps({
    "same": [torch is eagerlab, torch.nn is eagerlab.nn, F is eagerlab.nn.functional,
             torch.optim.lr_scheduler is eagerlab.optim.lr_scheduler, torch.utils.data is eagerlab.utils.data,
             torchvision.datasets is eagerlab.datasets, torchvision.transforms is eagerlab.datasets.transforms,
             torchvision.utils.save_image is eagerlab.datasets.images.save_image,
             torch.nn.Linear is eagerlab.nn.Linear, cudnn is eagerlab.backends.cudnn,
             torch.utils.data.sampler is eagerlab.data.sampler,
             torch.utils.data.sampler.Sampler is eagerlab.data.Sampler,
             torch.utils.data.dataloader.DataLoader is eagerlab.data.DataLoader],
    "spec": [torch.__spec__.name, torch.nn.__spec__.name],
    "argv": sys.argv, "main": __name__,
}))
'''


def test_the_runner_serves_eagerlabs_own_modules_and_runs_the_script_as_main(tmp_path):
    script = tmp_path / "aliases.py"
    script.write_text(ALIASES)
    out = last_json(run_compat([str(script), "--lr", "0.1"]).stdout)
    assert all(out["same"]), out["same"]
    assert out["spec"] == ["eagerlab", "eagerlab.nn"]  # eagerlab's modules keep their own names
    assert out["argv"] == [str(script), "--lr", "0.1"] and out["main"] == "__main__"


def test_the_scripts_folder_is_importable_and_module_mode_works(tmp_path):
    (tmp_path / "helper.py").write_text("import torch\nVALUE = torch.ones(2).sum().item()\n")
    (tmp_path / "main.py").write_text("import helper\nprint(helper.VALUE)\n")
    assert run_compat([str(tmp_path / "main.py")]).stdout.strip() == "2.0"
    assert run_compat(["-m", "main"], cwd=tmp_path).stdout.strip() == "2.0"


@pytest.mark.parametrize("code, error, hint", [
    ("import torch\ntorch.compile", "AttributeError", "eagerlab has no torch.compile; see docs/compat.md"),
    ("from torch.nn import NoSuchLayer", "ImportError", "eagerlab has no torch.nn.NoSuchLayer; see docs/compat.md"),
    ("import torch\ntorch.ones(2).no_such_method()", "AttributeError",
     "eagerlab has no torch.Tensor.no_such_method; see docs/compat.md"),
])
def test_a_missing_name_fails_normally_with_a_hint(tmp_path, code, error, hint):
    script = tmp_path / "missing.py"
    script.write_text(code + "\n")
    proc = run_compat([str(script)], check=False)
    assert proc.returncode == 1
    assert f"\n{error}: " in proc.stderr and hint in proc.stderr, proc.stderr


MISSING_MODULES = r"""
import json
found = []
for name in ("torch.distributions", "torchvision.models", "torch.nn.no_such_module"):
    try:
        __import__(name)
    except ModuleNotFoundError as e:
        found.append([e.name, str(e)])
print(json.dumps(found))
"""


def test_a_missing_module_is_a_module_not_found_error_with_a_hint(tmp_path):
    script = tmp_path / "modules.py"
    script.write_text(MISSING_MODULES)
    found = last_json(run_compat([str(script)]).stdout)
    assert [name for name, _ in found] == ["torch.distributions", "torchvision.models", "torch.nn.no_such_module"]
    for name, message in found:
        assert f"eagerlab has no {name}; see docs/compat.md" in message


def test_feature_checks_take_the_fallback_path(tmp_path):
    script = tmp_path / "probe.py"
    script.write_text("import torch\nprint(hasattr(torch, 'compile'), torch.cuda.is_available(), "
                      "torch.backends.mps.is_available())\n")
    assert run_compat([str(script)]).stdout.split() == ["False", "False", "False"]


def _torch_result(path, *args):
    """The program's JSON line under real PyTorch, run in this process (PyTorch is imported once per session)."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    argv, sys.argv = sys.argv, [str(path), *args]
    buffer = io.StringIO()
    try:
        with redirect_stdout(buffer):
            runpy.run_path(str(path), run_name="__main__")
    finally:
        sys.argv = argv
    return json.loads(buffer.getvalue().strip().splitlines()[-1])


def test_a_gpt_block_with_split_and_view_trains_as_on_pytorch():
    path = os.path.join(PROGRAMS, "gpt_block.py")
    ours = last_json(run_compat([path, "--steps", "4"]).stdout)
    assert ours["framework"] == "eagerlab"
    assert ours["losses"][-1] < ours["losses"][0]
    theirs = _torch_result(path, "--steps", "4")
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-4)


def test_a_sampler_with_1e10_samples_draws_lazily():
    out = last_json(run_compat([os.path.join(PROGRAMS, "huge_sampler.py")]).stdout)
    assert out["framework"] == "eagerlab" and out["len"] == 10 ** 10
    assert [len(b) for b in out["batches"]] == [16, 16, 16]
    assert all(0 <= i < 100 for b in out["batches"] for i in b)


def _png_pixels(data):
    """Decode the 8-bit RGB PNG that save_image writes (no filtering) back into an array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        chunks[kind] = chunks.get(kind, b"") + data[pos + 8:pos + 8 + n]
        assert zlib.crc32(kind + data[pos + 8:pos + 8 + n]) == int.from_bytes(data[pos + 8 + n:pos + 12 + n], "big")
        pos += 12 + n
    w, h = int.from_bytes(chunks[b"IHDR"][:4], "big"), int.from_bytes(chunks[b"IHDR"][4:8], "big")
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(h, 1 + w * 3)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(h, w, 3)


def test_torchvision_transforms_and_save_image_through_the_runner(tmp_path):
    out = tmp_path / "grid.png"
    proc = run_compat([os.path.join(PROGRAMS, "images.py"), str(out)])
    assert proc.stdout.split() == ["MNIST", "FashionMNIST"]
    pixels = _png_pixels(out.read_bytes())
    assert pixels.shape == (2 * 10 + 2, 3 * 10 + 2, 3)  # 6 images of 8x8, 3 to a row, padding 2
    assert pixels[0].max() == 0 and pixels[2:10, 2:10].max() > 200  # padding black, normalized images bright


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_spawned_child_process_gets_eagerlab_too(method):
    out = last_json(run_compat([os.path.join(PROGRAMS, "spawned.py"), method]).stdout)
    assert out == {"parent": "eagerlab", "child": ["eagerlab", 2.0], "exitcode": 0}


def test_a_torch_onnx_export_call_with_pytorchs_keywords(tmp_path):
    onnx, ort = pytest.importorskip("onnx"), pytest.importorskip("onnxruntime")
    path = str(tmp_path / "m.onnx")
    out = last_json(run_compat([os.path.join(PROGRAMS, "onnx_export.py"), path]).stdout)
    assert out["framework"] == "eagerlab" and out["training"] is True and out["buffer_bytes"] > 0
    proto = onnx.load(path)
    dims = [[d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in (*proto.graph.input,
                                                                                         *proto.graph.output)]
    assert dims == [["batch_size", 3], ["batch_size", 2]]
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": np.array(out["x"], np.float32)})[0]  # batch 7, exported at 4, dropout off
    np.testing.assert_allclose(got, np.array(out["y"], np.float32), rtol=1e-5, atol=1e-6)
