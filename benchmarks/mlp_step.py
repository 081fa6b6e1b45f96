"""The seed MLP training step (784-128-10, ReLU, cross entropy, Adam) at batch 32 and 1024: steps per second."""
import numpy as np

from _timing import per_call_us, try_torch


def _step(lib, nn, optim, batch):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((batch, 784)).astype(np.float32))
    y = lib.tensor(rng.integers(0, 10, batch))
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    return step


def rows():
    import eagerlab
    import eagerlab.nn as nn
    import eagerlab.optim as optim

    torch = try_torch()
    out = []
    for batch in (32, 1024):
        ours = 1e6 / per_call_us(_step(eagerlab, nn, optim, batch))
        theirs = 1e6 / per_call_us(_step(torch, torch.nn, torch.optim, batch)) if torch else None
        out.append((f"MLP 784-128-10 Adam step, batch {batch}", "steps/s", ours, theirs, "higher"))
    return out


if __name__ == "__main__":
    from run import print_table

    print_table(rows())
