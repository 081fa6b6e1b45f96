"""Keras fit against PyTorch's hand-written loop: the seed model (Flatten, Dense 128 relu, Dropout 0.2, Dense 10
softmax; Adam; batch 32) on 8,000 digits, seconds per epoch, with the progress bar on (written to a pipe here, as
in a log). PyTorch's side is the loop its tutorials teach, over a DataLoader of the same arrays."""
import io
import sys
import time

import numpy as np

from _timing import try_torch

N, EPOCHS = 8000, 5


def _data():
    rng = np.random.default_rng(0)
    return rng.random((N, 28, 28), dtype=np.float32), rng.integers(0, 10, N)


def _best_epoch(run_epoch):
    times = []
    for _ in range(EPOCHS):
        t0 = time.perf_counter()
        run_epoch()
        times.append(time.perf_counter() - t0)
    return min(times[1:])  # the first epoch also traces (eagerlab) or warms caches (both)


def eagerlab_fit():
    from eagerlab import keras

    x, y = _data()
    model = keras.Sequential([keras.layers.Flatten(input_shape=(28, 28)), keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dropout(0.2), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    stdout, sys.stdout = sys.stdout, io.StringIO()  # the bar runs, as in a log file
    try:
        return _best_epoch(lambda: model.fit(x, y, epochs=1, batch_size=32, verbose=1))
    finally:
        sys.stdout = stdout


def torch_loop(torch):
    x, y = _data()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)),
                                         batch_size=32, shuffle=True)
    nn = torch.nn
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()

    def epoch():
        model.train()
        correct = total = 0
        for xb, yb in loader:
            opt.zero_grad()
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            correct += (out.argmax(1) == yb).sum().item()
            total += len(yb)

    return _best_epoch(epoch)


def rows():
    torch = try_torch()
    return [("keras fit, seed MLP, 8000 digits, batch 32", "s/epoch", eagerlab_fit(),
             torch_loop(torch) if torch else None, "lower")]


if __name__ == "__main__":
    from run import print_table

    print_table(rows())
