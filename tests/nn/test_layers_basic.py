"""Linear, Bilinear, Flatten/Unflatten, activations, dropout and loss layers against PyTorch, and gradcheck."""
import numpy as np
import pytest

import eagerlab as el
import eagerlab.nn as nn
from eagerlab.errors import ShapeError

from eagerlab.testing import compare_with_torch, gradcheck_layer

rng = np.random.default_rng(0)


def _x(*shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("bias", [True, False])
def test_linear(bias):
    torch = pytest.importorskip("torch")
    compare_with_torch(nn.Linear(5, 3, bias=bias), torch.nn.Linear(5, 3, bias=bias), _x(2, 4, 5))
    gradcheck_layer(nn.Linear(3, 2, bias=bias), _x(2, 3))


def test_linear_default_init_matches_pytorch_bounds():
    layer = nn.Linear(400, 50)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    bound = 1 / np.sqrt(400)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound and np.abs(b).max() <= bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.05 * bound  # U(-b, b) has std b / sqrt(3)


def test_bilinear():
    torch = pytest.importorskip("torch")
    compare_with_torch(nn.Bilinear(3, 4, 2), torch.nn.Bilinear(3, 4, 2), _x(5, 3), _x(5, 4))
    gradcheck_layer(nn.Bilinear(2, 3, 2), _x(2, 2), _x(2, 3))


def test_flatten_unflatten():
    torch = pytest.importorskip("torch")
    compare_with_torch(nn.Flatten(), torch.nn.Flatten(), _x(2, 3, 4, 5))
    compare_with_torch(nn.Flatten(0, 1), torch.nn.Flatten(0, 1), _x(2, 3, 4))
    compare_with_torch(nn.Unflatten(1, (2, -1)), torch.nn.Unflatten(1, (2, -1)), _x(3, 8))
    with pytest.raises(ShapeError,
                       match=r"Unflatten: unflatten: sizes \(3, 3\) don.t multiply up to the size of dim 1 \(8\)"):
        nn.Unflatten(1, (3, 3))(el.zeros(2, 8))


ACTIVATIONS = [("ReLU", ()), ("ReLU6", ()), ("LeakyReLU", (0.2,)), ("ELU", (0.7,)), ("GELU", ()),
               ("GELU", ("tanh",)), ("SiLU", ()), ("Sigmoid", ()), ("Tanh", ()), ("Softplus", (2.0, 5.0)),
               ("Hardtanh", (-0.5, 0.5)), ("Hardsigmoid", ()), ("Hardswish", ()), ("Mish", ()), ("LogSigmoid", ()),
               ("Softsign", ()), ("Softmax", (1,)), ("LogSoftmax", (1,))]


@pytest.mark.parametrize("name,args", ACTIVATIONS)
def test_activation_matches_torch(name, args):
    torch = pytest.importorskip("torch")
    x = _x(4, 6) * 3
    x[np.abs(x) < 0.05] = 0.3  # keep away from kinks
    compare_with_torch(getattr(nn, name)(*args), getattr(torch.nn, name)(*args), x, rtol=1e-4, atol=1e-5)
    assert repr(getattr(nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


def test_activation_inplace_and_bad_arguments():
    x = el.tensor([-1.0, 3.0])
    assert nn.ReLU(inplace=True)(x) is x and x.tolist() == [0.0, 3.0]
    assert repr(nn.ReLU(True)) == "ReLU(inplace=True)"
    with pytest.raises(TypeError, match="unexpected arguments"):
        nn.ReLU(slope=1)


def test_dropout_train_and_eval():
    layer = nn.Dropout(0.25)
    x = el.ones(200, 100)
    y = layer(x).numpy()
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)} and abs((y == 0).mean() - 0.25) < 0.02
    layer.eval()
    assert layer(x) is x or np.array_equal(layer(x).numpy(), x.numpy())
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    ch = nn.Dropout2d(0.5)(el.ones(4, 8, 3, 3)).numpy()
    assert all(len(np.unique(ch[n, c])) == 1 for n in range(4) for c in range(8))  # whole channels


LOSSES = [("MSELoss", {}, "float"), ("L1Loss", {"reduction": "sum"}, "float"), ("SmoothL1Loss", {"beta": 0.5}, "float"),
          ("HuberLoss", {"delta": 0.7, "reduction": "none"}, "float"), ("BCELoss", {}, "prob"),
          ("BCEWithLogitsLoss", {}, "prob"), ("KLDivLoss", {"reduction": "batchmean"}, "logprob"),
          ("CrossEntropyLoss", {}, "index"), ("CrossEntropyLoss", {"label_smoothing": 0.1, "ignore_index": 1}, "index"),
          ("CrossEntropyLoss", {}, "probs"), ("NLLLoss", {"reduction": "sum"}, "index")]


@pytest.mark.parametrize("name,kwargs,kind", LOSSES)
def test_loss_layers_match_torch(name, kwargs, kind):
    torch = pytest.importorskip("torch")
    x = _x(6, 4)
    if name == "BCELoss":
        x = 1 / (1 + np.exp(-x))
    if name in ("KLDivLoss", "NLLLoss"):
        x = x - np.log(np.exp(x).sum(1, keepdims=True))
    target = {"float": _x(6, 4), "prob": rng.uniform(size=(6, 4)).astype(np.float32),
              "logprob": np.log(rng.dirichlet(np.ones(4), 6)).astype(np.float32),
              "index": rng.integers(0, 4, 6), "probs": rng.dirichlet(np.ones(4), 6).astype(np.float32)}[kind]
    compare_with_torch(getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs), x, target, rtol=1e-4)
    assert repr(getattr(nn, name)(**kwargs)) == repr(getattr(torch.nn, name)(**kwargs))


def test_weighted_losses_and_pos_weight():
    torch = pytest.importorskip("torch")
    w = rng.uniform(0.5, 2, 4).astype(np.float32)
    compare_with_torch(nn.CrossEntropyLoss(weight=el.tensor(w)), torch.nn.CrossEntropyLoss(
        weight=torch.tensor(w)), _x(6, 4), rng.integers(0, 4, 6), rtol=1e-4)
    compare_with_torch(nn.BCEWithLogitsLoss(pos_weight=el.tensor(w)), torch.nn.BCEWithLogitsLoss(
        pos_weight=torch.tensor(w)), _x(6, 4), rng.uniform(size=(6, 4)).astype(np.float32), rtol=1e-4)
    loss = nn.CrossEntropyLoss(weight=el.ones(4))
    assert "weight" in dict(loss.named_buffers())
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.MSELoss(reduction="avg")


def test_cosine_embedding_loss():
    torch = pytest.importorskip("torch")
    y = np.array([1, -1, 1], dtype=np.float32)
    compare_with_torch(nn.CosineEmbeddingLoss(0.2), torch.nn.CosineEmbeddingLoss(0.2), _x(3, 5), _x(3, 5), y,
                       rtol=1e-4)
