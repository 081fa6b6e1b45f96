"""Devices: parsing, interning, clear errors without CUDA, mixed-device errors; GPU parity when a GPU is present."""
import numpy as np
import pytest

import eagerlab as el
from eagerlab._tensor import Tensor
from eagerlab.errors import DeviceError


def test_device_parsing_and_interning():
    assert el.device("cpu") is el.device("cpu")
    d = el.device("cuda:1")
    assert (d.type, d.index, str(d)) == ("cuda", 1, "cuda:1")
    assert el.device("cuda") is el.device("cuda:0")
    assert el.device("cpu") == "cpu" and repr(el.device("cpu")) == "device(type='cpu')"
    with pytest.raises(DeviceError, match="unknown device type 'tpu'"):
        el.device("tpu")
    assert el.ones(2).device == el.device("cpu") and not el.ones(2).is_cuda


@pytest.mark.skipif(el.cuda.is_available(), reason="checks the no-GPU error path")
def test_cuda_without_gpu_raises_clear_error():
    assert el.cuda.device_count() == 0
    with pytest.raises(DeviceError, match="CUDA is not available"):
        el.ones(2).to("cuda")
    with pytest.raises(DeviceError, match="cuda"):
        el.ones(2).cuda()
    with pytest.raises(DeviceError, match="CUDA is not available"):
        el.zeros(2, device="cuda")


def test_mixing_devices_names_both():
    cpu = el.ones(3)
    fake_gpu = Tensor._make(np.ones(3, np.float32), el.device("cuda:0"))  # only its label: bind must refuse first
    with pytest.raises(DeviceError, match=r"add: .*cpu.*cuda:0"):
        cpu + fake_gpu


@pytest.mark.gpu
def test_gpu_matches_cpu_forward_and_backward():
    x = el.randn(8, 5, dtype=el.float64)
    w = el.randn(5, 3, dtype=el.float64)
    results = []
    for dev in ("cpu", "cuda"):
        xd = x.to(dev).requires_grad_()
        wd = w.to(dev).requires_grad_()
        loss = (xd @ wd).relu().exp().sum()
        loss.backward()
        assert xd.grad.device == el.device(dev)
        results.append((loss.item(), xd.grad.cpu().numpy(), wd.grad.cpu().numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-10)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-10)
    np.testing.assert_allclose(results[0][2], results[1][2], rtol=1e-10)


@pytest.mark.gpu
def test_gradient_flows_back_across_devices():
    x = el.ones(3, requires_grad=True)
    (x.to("cuda") * 2).sum().backward()
    assert x.grad.device == el.device("cpu") and x.grad.tolist() == [2.0, 2.0, 2.0]
