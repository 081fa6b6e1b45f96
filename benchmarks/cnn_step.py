"""A LeNet-style CNN training step on 28x28 digits at batch 64 (conv-relu-pool x2, two linears, SGD momentum)."""
import numpy as np

from _timing import per_call_us, try_torch


def _lenet(nn):
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def _step(lib, nn, optim, batch):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((batch, 1, 28, 28)).astype(np.float32))
    y = lib.tensor(rng.integers(0, 10, batch))
    model = _lenet(nn)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    return step


def rows():
    import eagerlab
    import eagerlab.nn as nn
    import eagerlab.optim as optim

    torch = try_torch()
    ours = 1e6 / per_call_us(_step(eagerlab, nn, optim, 64))
    theirs = 1e6 / per_call_us(_step(torch, torch.nn, torch.optim, 64)) if torch else None
    return [("LeNet CNN SGD step, batch 64", "steps/s", ours, theirs, "higher")]


if __name__ == "__main__":
    from run import print_table

    print_table(rows())
