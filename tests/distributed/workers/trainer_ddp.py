"""Run on 2 ranks: Trainer(strategy="ddp", devices=2) fits the seed LightningModule, rank 0 alone writes one
checkpoint and the logs, sync_dist reduces the logged values, a second fit resumes from the checkpoint, and a compiled
fit averages too."""
import glob
import os
import sys

import numpy as np

import eagerlab as el
import eagerlab.nn as nn
import eagerlab.nn.functional as F
import eagerlab.optim as optim
import eagerlab_lightning as pl
from eagerlab.utils.data import DataLoader, TensorDataset


class CustomModel(pl.LightningModule):  # the Lightning seed program's module
    def __init__(self, lr=1e-3, hidden=128):
        super(CustomModel, self).__init__()
        self.save_hyperparameters()
        self.model = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Dropout(0.2),
                                   nn.Linear(hidden, 10))

    def forward(self, x):
        return self.model(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        self.log("train_loss", loss, prog_bar=True, sync_dist=True)
        self.log("rank_sum", float(self.trainer.global_rank + 1), reduce_fx="sum", sync_dist=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self.log("val_loss", F.cross_entropy(logits, y), sync_dist=True)
        self.log("val_acc", (logits.argmax(dim=1) == y).float().mean(), prog_bar=True, sync_dist=True)

    def configure_optimizers(self):
        return optim.AdamW(self.parameters(), lr=self.hparams.lr)


root = sys.argv[1]
pl.seed_everything(0)
data = np.random.default_rng(0)
centers = data.standard_normal((10, 1, 28, 28)).astype(np.float32)
y = data.integers(0, 10, 384)
x = (centers[y] + 3 * data.standard_normal((384, 1, 28, 28))).astype(np.float32)  # ten noisy clusters
train = DataLoader(TensorDataset(el.tensor(x[:256]), el.tensor(y[:256])), batch_size=16, shuffle=True)
val = DataLoader(TensorDataset(el.tensor(x[256:]), el.tensor(y[256:])), batch_size=64)

model = CustomModel(lr=2e-3)
checkpoint = pl.callbacks.ModelCheckpoint(monitor="val_acc", mode="max")
trainer = pl.Trainer(strategy="ddp", devices=2, max_epochs=3, default_root_dir=root, callbacks=[checkpoint],
                     enable_progress_bar=False, log_every_n_steps=1)
trainer.fit(model, train, val)
rank, accuracy = trainer.global_rank, trainer.callback_metrics["val_acc"]
assert (trainer.world_size, trainer.is_global_zero) == (2, rank == 0)
assert trainer.global_step == 3 * 256 // 16 // 2, trainer.global_step  # each process: half of every epoch
assert trainer.callback_metrics["rank_sum"] == 3.0, trainer.callback_metrics  # 1 + 2, summed over the ranks
files = glob.glob(os.path.join(root, "**", "*.ckpt"), recursive=True)
assert files == [checkpoint.best_model_path], (files, checkpoint.best_model_path)
assert len(glob.glob(os.path.join(root, "**", "metrics.csv"), recursive=True)) == 1
assert trainer.callback_metrics["val_acc"] > 0.8, trainer.callback_metrics  # (chance: 0.1)

# the replicas are equal (rank 0's start, averaged gradients)
flat = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
both = [el.zeros(len(flat)) for _ in range(2)]
el.distributed.all_gather(both, el.tensor(flat))
assert np.array_equal(both[0].numpy(), both[1].numpy())

# resume: one more epoch from the checkpoint, on both ranks
resumed = pl.Trainer(strategy="ddp", devices=2, max_epochs=4, default_root_dir=root, logger=False,
                     enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
again = CustomModel(lr=2e-3)
resumed.fit(again, train, val, ckpt_path=checkpoint.best_model_path)
assert (resumed.current_epoch, resumed.global_step) == (4, 4 * 256 // 16 // 2), (resumed.current_epoch,
                                                                                  resumed.global_step)

# compile=True: the gradient all-reduces and the synced logs are effects of the compiled step
compiled = CustomModel(lr=2e-3)
trainer = pl.Trainer(strategy="ddp", devices=2, max_epochs=1, default_root_dir=root, logger=False, compile=True,
                     enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
trainer.fit(compiled, train)
assert trainer.callback_metrics["rank_sum"] == 3.0, trainer.callback_metrics
flat = np.concatenate([p.detach().numpy().ravel() for p in compiled.parameters()])
el.distributed.all_gather(both, el.tensor(flat))
assert np.array_equal(both[0].numpy(), both[1].numpy())
print(f"rank {rank}: ok val_acc={accuracy:.3f}")
