"""The Lightning Trainer against eagerlab's plain loop: the seed LightningModule (Flatten, Linear 128, ReLU,
Dropout, Linear 10; AdamW; batch 32; self.log of the loss each step) on 8,000 digits, seconds per epoch, with the
progress bar on (written to a pipe here, as in a log). The plain loop is the same model, optimizer and DataLoader
in a hand-written for-loop that also reads the loss each step."""
import io
import sys
import time

import numpy as np

N = 8000


def _parts():
    import eagerlab as el
    import eagerlab.nn as nn
    from eagerlab.utils.data import DataLoader, TensorDataset

    rng = np.random.default_rng(0)
    x, y = rng.random((N, 28, 28), dtype=np.float32), rng.integers(0, 10, N)
    loader = DataLoader(TensorDataset(el.tensor(x), el.tensor(y)), batch_size=32, shuffle=True)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))
    return el, net, loader


def _best(run_epoch, epochs=5):
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        run_epoch()
        times.append(time.perf_counter() - t0)
    return min(times[1:])


def plain_loop():
    el, net, loader = _parts()
    opt = el.optim.AdamW(net.parameters(), lr=1e-3)

    def epoch():
        net.train()
        for x, y in loader:
            opt.zero_grad()
            loss = el.nn.functional.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            loss.item()

    return _best(epoch)


def trainer_fit(compile=False):
    import eagerlab_lightning as pl

    el, net, loader = _parts()

    class Seed(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = net

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = el.nn.functional.cross_entropy(self.net(x), y)
            self.log("train_loss", loss, prog_bar=True)
            return loss

        def configure_optimizers(self):
            return el.optim.AdamW(self.parameters(), lr=1e-3)

    model = Seed()
    stdout, sys.stdout = sys.stdout, io.StringIO()
    try:
        def epoch():
            pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_model_summary=False,
                       compile=compile).fit(model, loader)
        return _best(epoch)
    finally:
        sys.stdout = stdout


def rows():
    plain, trainer, compiled = plain_loop(), trainer_fit(), trainer_fit(compile=True)
    return [("lightning Trainer.fit vs eagerlab's plain loop, 8000 digits", "s/epoch", trainer, None, "lower"),
            ("lightning Trainer(compile=True).fit", "s/epoch", compiled, None, "lower"),
            ("  (plain eager loop, same model)", "s/epoch", plain, None, "lower")]


if __name__ == "__main__":
    from run import print_table

    print_table(rows())
