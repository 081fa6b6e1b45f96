"""Convolution layers against PyTorch (same weights), gradcheck, errors."""
import numpy as np
import pytest

import eagerlab as el
import eagerlab.nn as nn
from eagerlab.errors import ShapeError

from eagerlab.testing import compare_with_torch, gradcheck_layer, load_into_torch

rng = np.random.default_rng(1)


def _x(*shape):
    return rng.standard_normal(shape).astype(np.float32)


CONVS = [
    ("Conv1d", (3, 4, 3), {}, (2, 3, 9)),
    ("Conv1d", (4, 4, 3), {"groups": 2, "padding": "same", "dilation": 2}, (2, 4, 9)),
    ("Conv2d", (3, 6, 3), {}, (2, 3, 8, 8)),
    ("Conv2d", (4, 6, (3, 2)), {"stride": 2, "padding": 1, "bias": False}, (2, 4, 9, 7)),
    ("Conv2d", (4, 4, 3), {"groups": 4, "padding": 1, "padding_mode": "reflect"}, (1, 4, 6, 6)),
    ("Conv2d", (2, 3, 3), {"padding": 2, "padding_mode": "replicate"}, (2, 6, 6)),  # unbatched
    ("Conv2d", (2, 3, 3), {"padding": 1, "padding_mode": "circular"}, (1, 2, 5, 5)),
    ("ConvTranspose1d", (3, 2, 3), {"stride": 2}, (2, 3, 5)),
    ("ConvTranspose2d", (4, 6, 3), {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}, (2, 4, 5, 5)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", CONVS)
def test_conv_layers_match_torch(name, args, kwargs, shape):
    torch = pytest.importorskip("torch")
    layer, ref = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    compare_with_torch(layer, ref, _x(*shape), rtol=1e-4, atol=1e-5)
    assert repr(layer) == repr(ref)


def test_conv_transpose_output_size_and_gradcheck():
    torch = pytest.importorskip("torch")
    layer, ref = nn.ConvTranspose2d(2, 3, 3, stride=2), torch.nn.ConvTranspose2d(2, 3, 3, stride=2)
    load_into_torch(layer, ref)
    x = _x(1, 2, 4, 4)
    out = layer(el.tensor(x), output_size=(10, 10))
    np.testing.assert_allclose(out.detach().numpy(), ref(torch.tensor(x), output_size=(10, 10)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    with pytest.raises(ShapeError, match="valid sizes range from 9 to 10"):
        layer(el.tensor(x), output_size=(12, 12))
    gradcheck_layer(nn.Conv2d(2, 2, 2, stride=2, padding=1), _x(1, 2, 3, 3))
    gradcheck_layer(nn.ConvTranspose2d(2, 1, 2, stride=2), _x(1, 2, 2, 2))


def test_conv_errors_name_the_layer():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
    with pytest.raises(ShapeError, match=r"^0 \(Conv2d 3->8 k3x3\) expected input with 3 channels, got \(2, 1, 8, 8\)"):
        model(el.zeros(2, 1, 8, 8))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 8, 3, groups=2)


