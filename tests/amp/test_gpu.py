"""Mixed precision on a CUDA GPU (skipped without one): float16 autocast on cupy (its GEMMs use the tensor cores),
the CUDA policy's float32 ops, GradScaler on the device, and bfloat16 either working or refused clearly."""
import numpy as np
import pytest

import eagerlab as el
import eagerlab.nn.functional as F

pytestmark = pytest.mark.gpu


def test_float16_autocast_training_step_on_the_gpu():
    el.manual_seed(0)
    model = el.nn.Sequential(el.nn.Linear(32, 64), el.nn.ReLU(), el.nn.Linear(64, 4)).to("cuda")
    opt = el.optim.SGD(model.parameters(), lr=0.1)
    scaler = el.cuda.amp.GradScaler()
    assert scaler.is_enabled()
    x = el.randn(16, 32, device="cuda")
    y = el.randint(0, 4, (16,), device="cuda")
    losses = []
    for _ in range(5):
        opt.zero_grad()
        with el.autocast("cuda"):
            logits = model(x)
            assert logits.dtype is el.float16 and F.softmax(logits, -1).dtype is el.float32  # CUDA policy
            loss = F.cross_entropy(logits, y)
        scaler.scale(loss).backward()
        assert model[0].weight.grad.dtype is el.float32
        scaler.step(opt)
        scaler.update()
        losses.append(loss.item())
    assert losses[-1] < losses[0] and scaler.get_scale() == 2.0 ** 16


def test_float16_matmul_matches_the_cpu_path():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((64, 128)).astype(np.float32), rng.standard_normal((128, 32)).astype(np.float32)
    cpu = (el.tensor(a).half() @ el.tensor(b).half()).float().numpy()
    gpu = (el.tensor(a, device="cuda").half() @ el.tensor(b, device="cuda").half()).float().cpu().numpy()
    np.testing.assert_allclose(gpu, cpu, rtol=2e-3, atol=2e-2)


def test_bfloat16_on_the_gpu_works_or_is_refused_clearly():
    x = el.ones(3)
    try:
        y = x.to("cuda").bfloat16()
    except el.errors.UnsupportedError as e:
        assert "bfloat16" in str(e) and "float16" in str(e)
    else:
        assert y.dtype is el.bfloat16 and y.float().cpu().tolist() == [1.0, 1.0, 1.0]
