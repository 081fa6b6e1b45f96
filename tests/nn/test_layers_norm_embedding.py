"""Normalization and embedding layers against PyTorch (same weights), gradcheck, errors."""
import numpy as np
import pytest

import eagerlab as el
import eagerlab.nn as nn
from eagerlab.errors import ShapeError

from eagerlab.testing import compare_with_torch, gradcheck_layer

rng = np.random.default_rng(1)


def _x(*shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("name,shape", [("BatchNorm1d", (6, 4)), ("BatchNorm1d", (6, 4, 5)),
                                        ("BatchNorm2d", (3, 4, 5, 5))])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_training_eval_and_running_stats(name, shape, momentum):
    torch = pytest.importorskip("torch")
    layer, ref = getattr(nn, name)(4, momentum=momentum), getattr(torch.nn, name)(4, momentum=momentum)
    for _ in range(3):
        compare_with_torch(layer, ref, _x(*shape) * 2 + 1, rtol=1e-4, atol=1e-5)
        ref.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in layer.state_dict().items()})
    sd, want = layer.state_dict(), ref.state_dict()
    for key in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(sd[key].numpy(), want[key].numpy(), rtol=1e-5, err_msg=key)
    assert int(sd["num_batches_tracked"].item()) == 3
    layer.eval()
    ref.eval()
    compare_with_torch(layer, ref, _x(*shape), rtol=1e-4, atol=1e-5)


def test_batch_norm_errors_and_no_tracking():
    torch = pytest.importorskip("torch")
    with pytest.raises(ShapeError, match=r"BatchNorm2d 4: expected 4D input, got 3D input"):
        nn.BatchNorm2d(4)(el.zeros(2, 4, 3))
    layer, ref = nn.BatchNorm1d(3, affine=False, track_running_stats=False), torch.nn.BatchNorm1d(
        3, affine=False, track_running_stats=False)
    layer.eval()
    ref.eval()
    compare_with_torch(layer, ref, _x(5, 3), rtol=1e-4, atol=1e-5)
    assert list(layer.state_dict()) == []


@pytest.mark.parametrize("shape,normalized,kwargs", [((3, 5), 5, {}), ((2, 3, 4), (3, 4), {}),
                                                     ((2, 4), 4, {"elementwise_affine": False}),
                                                     ((2, 4), 4, {"bias": False})])
def test_layer_norm(shape, normalized, kwargs):
    torch = pytest.importorskip("torch")
    layer, ref = nn.LayerNorm(normalized, **kwargs), torch.nn.LayerNorm(normalized, **kwargs)
    if layer.weight is not None:
        with el.no_grad():
            layer.weight.normal_()
    compare_with_torch(layer, ref, _x(*shape), rtol=1e-4, atol=1e-5)
    gradcheck_layer(nn.LayerNorm(normalized, **kwargs), _x(*shape))


def test_group_norm():
    torch = pytest.importorskip("torch")
    compare_with_torch(nn.GroupNorm(2, 4), torch.nn.GroupNorm(2, 4), _x(3, 4, 5, 5), rtol=1e-4, atol=1e-5)
    gradcheck_layer(nn.GroupNorm(2, 4), _x(2, 4, 3))
    with pytest.raises(ValueError, match="divisible by num_groups"):
        nn.GroupNorm(3, 4)


def test_embedding():
    torch = pytest.importorskip("torch")
    layer, ref = nn.Embedding(10, 4, padding_idx=0), torch.nn.Embedding(10, 4, padding_idx=0)
    assert not layer.weight.detach().numpy()[0].any()
    idx = np.array([[0, 3, 3], [9, 0, 1]])
    compare_with_torch(layer, ref, idx)
    assert not layer.weight.grad.numpy()[0].any()
    frozen = nn.Embedding.from_pretrained(el.ones(3, 2))
    assert not frozen.weight.requires_grad and frozen(el.tensor([2])).tolist() == [[1.0, 1.0]]
    assert repr(layer) == repr(ref)
