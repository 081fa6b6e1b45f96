"""Pooling layers against PyTorch (same weights), gradcheck, errors."""
import numpy as np
import pytest

import eagerlab as el
import eagerlab.nn as nn
from eagerlab.testing import compare_with_torch

rng = np.random.default_rng(1)


def _x(*shape):
    return rng.standard_normal(shape).astype(np.float32)


POOLS = [("MaxPool2d", (2,), {}, (2, 3, 8, 8)), ("MaxPool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True},
                                                                    (1, 2, 7, 7)),
         ("MaxPool1d", (3,), {"stride": 2, "dilation": 2}, (2, 3, 11)), ("AvgPool2d", (3,), {"stride": 2, "padding": 1,
                                                                                          "count_include_pad": False},
                                                                         (2, 2, 7, 7)),
         ("AvgPool1d", (2,), {}, (2, 3, 8)), ("AdaptiveAvgPool2d", ((3, 2),), {}, (2, 3, 7, 5)),
         ("AdaptiveAvgPool2d", (1,), {}, (2, 3, 4, 4)), ("AdaptiveAvgPool1d", (3,), {}, (2, 3, 7))]


@pytest.mark.parametrize("name,args,kwargs,shape", POOLS)
def test_pool_layers_match_torch(name, args, kwargs, shape):
    torch = pytest.importorskip("torch")
    layer, ref = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    compare_with_torch(layer, ref, _x(*shape), rtol=1e-5, atol=1e-6)
    assert repr(layer) == repr(ref)


def test_max_pool_return_indices():
    torch = pytest.importorskip("torch")
    x = _x(2, 3, 6, 6)
    out, idx = nn.MaxPool2d(2, return_indices=True)(el.tensor(x))
    want, want_idx = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(idx.numpy(), want_idx.numpy())
    np.testing.assert_allclose(out.numpy(), want.numpy())


