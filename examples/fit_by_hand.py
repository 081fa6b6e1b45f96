"""Train a two-layer network on real handwritten digits with nothing but tensors and backward().

The data (1,797 8x8 digits from UCI) ships inside eagerlab, so this runs offline:
    python examples/fit_by_hand.py
"""
import numpy as np

import eagerlab as el
from eagerlab.datasets import load_digits

el.manual_seed(0)
images, labels = load_digits()
order = np.random.default_rng(0).permutation(len(images))
x = el.tensor(images[order].reshape(-1, 64) / 16.0)  # float32, pixels in [0, 1]
y = el.tensor(labels[order])
x_train, y_train, x_test, y_test = x[:1500], y[:1500], x[1500:], y[1500:]

# Parameters are plain leaf tensors; PyTorch's default Linear init, written out.
w1 = ((el.rand(64, 64) * 2 - 1) / 8).requires_grad_()
b1 = el.zeros(64, requires_grad=True)
w2 = ((el.rand(64, 10) * 2 - 1) / 8).requires_grad_()
b2 = el.zeros(10, requires_grad=True)
params = [w1, b1, w2, b2]


def forward(inputs):
    hidden = (inputs @ w1 + b1).relu()
    return hidden @ w2 + b2


lr, batch = 0.5, 100
for epoch in range(30):
    perm = el.randperm(len(x_train))
    for i in range(0, len(x_train), batch):
        idx = perm[i:i + batch]
        logits = forward(x_train[idx])
        loss = -logits.log_softmax(dim=1)[el.arange(len(idx)), y_train[idx]].mean()
        loss.backward()
        with el.no_grad():  # plain SGD, by hand
            for p in params:
                p -= lr * p.grad
                p.grad = None
    if epoch % 10 == 9:
        with el.no_grad():
            acc = (forward(x_test).argmax(dim=1) == y_test).float().mean().item()
        print(f"epoch {epoch + 1:2d}  loss {loss.item():.4f}  test accuracy {acc:.3f}")

assert acc > 0.9, f"test accuracy {acc:.3f} is too low"
print(f"fit_by_hand: ok, test accuracy {acc:.3f} on {len(x_test)} held-out digits")
