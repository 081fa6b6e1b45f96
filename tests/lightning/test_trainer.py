"""eagerlab_lightning: fit / validate / test, self.log's epoch means, the hook order, checkpoints (top-k, last,
exact resume), EarlyStopping, schedulers, the CSV logger and hyperparameters."""
import csv
import glob
import os

import numpy as np
import pytest

import eagerlab as el
import eagerlab.nn as nn
import eagerlab.nn.functional as F
import eagerlab_lightning as pl
from eagerlab.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(0)
X = rng.standard_normal((90, 5)).astype(np.float32)
Y = (X[:, 0] > 0).astype(np.int64)


def _loader(shuffle=True, batch_size=16):
    return DataLoader(TensorDataset(el.tensor(X), el.tensor(Y)), batch_size=batch_size, shuffle=shuffle)


class Model(pl.LightningModule):
    def __init__(self, lr=0.05, hidden=8, scheduler=False):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(5, hidden), nn.ReLU(), nn.Dropout(0.1), nn.Linear(hidden, 2))

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self.log("val_loss", F.cross_entropy(logits, y))
        self.log("val_acc", (logits.argmax(1) == y).float().mean(), prog_bar=True)

    def test_step(self, batch, batch_idx):
        x, y = batch
        self.log("test_acc", (self(x).argmax(1) == y).float().mean())

    def configure_optimizers(self):
        opt = el.optim.SGD(self.parameters(), lr=self.hparams.lr)
        if self.hparams.scheduler:
            return {"optimizer": opt, "lr_scheduler": {"scheduler": el.optim.lr_scheduler.StepLR(opt, 1, 0.5),
                                                       "interval": "epoch"}}
        return opt


def _trainer(tmp_path, **kw):
    return pl.Trainer(**{"default_root_dir": str(tmp_path), "enable_progress_bar": False,
                         "enable_model_summary": False, **kw})


def test_fit_counts_epochs_and_steps_and_test_returns_epoch_means(tmp_path):
    pl.seed_everything(0)
    model = Model()
    trainer = _trainer(tmp_path, max_epochs=3)
    trainer.fit(model, _loader(), _loader(False))
    assert trainer.current_epoch == 3 and trainer.global_step == 3 * 6
    (result,) = trainer.test(model, _loader(False, batch_size=32), verbose=False)  # batches of 32, 32, 26
    with el.no_grad():
        model.eval()
        want = float((model(el.tensor(X)).argmax(1).numpy() == Y).mean())
    assert result["test_acc"] == pytest.approx(want)  # batch-size weighted: the short last batch is not overweighted
    assert {"val_loss", "val_acc", "train_loss"} <= set(trainer.callback_metrics)


class HookRecorder(pl.callbacks.Callback):
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        if name.startswith(("on_", "setup", "teardown")):
            return lambda *args: self.calls.append(name)
        raise AttributeError(name)


def test_the_hooks_of_a_fit_come_in_lightnings_order(tmp_path):
    rec = HookRecorder()
    small = DataLoader(TensorDataset(el.tensor(X[:4]), el.tensor(Y[:4])), batch_size=2)
    _trainer(tmp_path, max_epochs=1, callbacks=[rec], logger=False, enable_checkpointing=False,
             num_sanity_val_steps=1).fit(Model(), small, small)
    batch = ["on_train_batch_start", "on_before_backward", "on_after_backward", "on_before_optimizer_step",
             "on_train_batch_end"]
    val = ["on_validation_epoch_start", "on_validation_batch_start", "on_validation_batch_end",
           "on_validation_batch_start", "on_validation_batch_end", "on_validation_epoch_end"]
    assert rec.calls == (["setup", "on_fit_start", "on_sanity_check_start", "on_validation_epoch_start",
                          "on_validation_batch_start", "on_validation_batch_end", "on_validation_epoch_end",
                          "on_sanity_check_end", "on_train_start", "on_train_epoch_start"] + batch * 2
                         + ["on_validation_start"] + val + ["on_validation_end", "on_train_epoch_end", "on_train_end",
                                                             "on_fit_end", "teardown"])


def test_model_checkpoint_keeps_the_top_k_and_last(tmp_path):
    pl.seed_everything(0)
    ckpt = pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path / "ck"), monitor="val_acc", mode="max", save_top_k=2,
                                        save_last=True, filename="{epoch}-{val_acc:.3f}")
    _trainer(tmp_path, max_epochs=4, callbacks=[ckpt], logger=False).fit(Model(), _loader(), _loader(False))
    files = sorted(os.listdir(tmp_path / "ck"))
    assert "last.ckpt" in files and len(files) == 3  # two best and last
    assert set(ckpt.best_k_models) == {str(tmp_path / "ck" / f) for f in files if f != "last.ckpt"}
    assert ckpt.best_model_score == max(ckpt.best_k_models.values())
    assert os.path.basename(ckpt.best_model_path).startswith("epoch=")


def test_resume_from_a_checkpoint_gives_the_bits_of_an_uninterrupted_fit(tmp_path):
    pl.seed_everything(1)
    straight = Model(scheduler=True)
    _trainer(tmp_path / "a", max_epochs=4, logger=False).fit(straight, _loader(), _loader(False))

    pl.seed_everything(1)
    first = Model(scheduler=True)
    ckpt = pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path / "b"), save_last=True)
    _trainer(tmp_path / "b", max_epochs=2, callbacks=[ckpt], logger=False).fit(first, _loader(), _loader(False))
    pl.seed_everything(99)  # the checkpoint brings back the generators' states
    resumed = Model(scheduler=True)
    trainer = _trainer(tmp_path / "b", max_epochs=4, logger=False)
    trainer.fit(resumed, _loader(), _loader(False), ckpt_path=ckpt.last_model_path)
    assert trainer.current_epoch == 4 and trainer.global_step == 4 * 6
    for a, b in zip(straight.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_early_stopping_stops_and_load_from_checkpoint_restores_hparams(tmp_path):
    pl.seed_everything(0)
    stop = pl.callbacks.EarlyStopping(monitor="val_loss", patience=1, min_delta=10.0)
    ckpt = pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path), monitor="val_loss")
    trainer = _trainer(tmp_path, max_epochs=10, callbacks=[stop, ckpt], logger=False)
    trainer.fit(Model(lr=0.02, hidden=6), _loader(), _loader(False))
    assert trainer.current_epoch == 2 and stop.wait_count == 1
    again = Model.load_from_checkpoint(ckpt.best_model_path)
    assert again.hparams.lr == 0.02 and again.hparams.hidden == 6 and again.net[0].out_features == 6


def test_csv_logger_writes_metrics_and_hparams(tmp_path):
    pl.seed_everything(0)
    trainer = _trainer(tmp_path, max_epochs=2, logger=pl.loggers.CSVLogger(str(tmp_path)), log_every_n_steps=2)
    trainer.fit(Model(lr=0.1), _loader(), _loader(False))
    (metrics,) = glob.glob(str(tmp_path / "lightning_logs" / "version_0" / "metrics.csv"))
    rows = list(csv.DictReader(open(metrics)))
    assert [r["epoch"] for r in rows if r.get("val_acc")] == ["0", "1"]
    assert sum(1 for r in rows if r.get("train_loss")) >= 6
    hparams = open(tmp_path / "lightning_logs" / "version_0" / "hparams.yaml").read().splitlines()
    assert hparams == ["lr: 0.1", "hidden: 8", "scheduler: false"]


def test_schedulers_step_per_epoch_and_unsupported_flags_say_so(tmp_path):
    model = Model(scheduler=True)
    trainer = _trainer(tmp_path, max_epochs=3, logger=False, enable_checkpointing=False)
    trainer.fit(model, _loader())
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.05 * 0.5 ** 3)
    with pytest.raises(ValueError, match="precision='8-mixed'.*16-mixed"):
        pl.Trainer(precision="8-mixed")
    with pytest.raises(el.errors.UnsupportedError, match="accumulate_grad_batches=2, compile=True"):
        pl.Trainer(accumulate_grad_batches=2, compile=True)
    with pytest.raises(TypeError, match="unexpected argument 'max_epoch'"):
        pl.Trainer(max_epoch=3)


def test_eagerlab_never_imports_the_lightning_package():
    root = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "eagerlab")
    offenders = [path for path in glob.glob(os.path.join(root, "**", "*.py"), recursive=True)
                 if "eagerlab_lightning" in open(path, encoding="utf-8").read()]
    assert not offenders


class BothWays(Model):
    def training_step(self, batch, batch_idx):
        loss = super().training_step(batch, batch_idx)
        self.log("loss_both", loss, on_step=True, on_epoch=True, reduce_fx="max")
        return loss


def test_a_metric_logged_per_step_and_per_epoch_gets_both_names(tmp_path):
    trainer = _trainer(tmp_path, max_epochs=1, logger=False, enable_checkpointing=False)
    trainer.fit(BothWays(), _loader())
    assert {"loss_both_step", "loss_both_epoch", "train_loss"} <= set(trainer.callback_metrics)
    assert trainer.callback_metrics["loss_both_epoch"] >= trainer.callback_metrics["loss_both_step"]  # the max


def test_sigterm_finishes_the_step_writes_a_checkpoint_and_returns(tmp_path):
    import signal

    sent = pl.callbacks.LambdaCallback(
        on_train_batch_end=lambda trainer, module, out, batch, i: i == 2 and os.kill(os.getpid(), signal.SIGTERM))
    trainer = _trainer(tmp_path, max_epochs=5, callbacks=[sent], logger=False)
    trainer.fit(Model(), _loader(), _loader(False))
    assert trainer.received_signal == signal.SIGTERM and trainer.global_step == 3 and trainer.current_epoch == 0
    assert os.path.isfile(trainer.interrupted_checkpoint_path)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or callable(signal.getsignal(signal.SIGTERM))


def test_timer_and_learning_rate_monitor(tmp_path):
    logger = pl.loggers.CSVLogger(str(tmp_path))
    trainer = _trainer(tmp_path, max_epochs=50, logger=logger, enable_checkpointing=False,
                       callbacks=[pl.callbacks.Timer(duration=0), pl.callbacks.LearningRateMonitor()])
    trainer.fit(Model(), _loader())
    assert trainer.global_step == 1  # the timer stopped the fit after its first step
    assert any(row.get("lr-SGD") == 0.05 for row in logger.rows)


RESUME_SCRIPT = """
import os, signal, sys
import numpy as np
import eagerlab_lightning as pl
sys.path.insert(0, {tests!r})
from tests.lightning.test_trainer import Model, _loader
stop_at, ckpt = int(sys.argv[1]), sys.argv[2]
pl.seed_everything(3)
model = Model(scheduler=True)
callbacks = []
if stop_at >= 0:
    callbacks.append(pl.callbacks.LambdaCallback(on_train_batch_end=lambda t, m, o, b, i:
                                                 t.global_step == stop_at and os.kill(os.getpid(), signal.SIGTERM)))
trainer = pl.Trainer(max_epochs=3, default_root_dir=os.path.dirname(ckpt), logger=False, enable_progress_bar=False,
                     enable_model_summary=False, callbacks=callbacks)
if stop_at == -2:
    pl.seed_everything(77)  # the checkpoint brings back every random state
    trainer.fit(model, _loader(), _loader(False), ckpt_path=ckpt)
else:
    trainer.fit(model, _loader(), _loader(False))
    if trainer.interrupted_checkpoint_path:
        os.replace(trainer.interrupted_checkpoint_path, ckpt)
np.save(ckpt + f".{{stop_at}}.npy", np.concatenate([p.detach().numpy().ravel() for p in model.parameters()]))
"""


def test_a_fit_stopped_inside_an_epoch_resumes_in_a_new_process_with_the_same_bits(tmp_path):
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    script = tmp_path / "run.py"
    script.write_text(RESUME_SCRIPT.format(tests=root))
    ckpt = str(tmp_path / "stopped.ckpt")
    env = {**os.environ, "PYTHONPATH": root}
    for stop_at in (-1, 8, -2):  # uninterrupted; stopped after step 8 (inside epoch 1 of 0..2); resumed
        subprocess.run([sys.executable, str(script), str(stop_at), ckpt], check=True, env=env)
    straight, resumed = np.load(ckpt + ".-1.npy"), np.load(ckpt + ".-2.npy")
    np.testing.assert_array_equal(resumed, straight)
    assert not np.array_equal(np.load(ckpt + ".8.npy"), straight)  # (the stopped run really stopped early)


def test_last_skips_a_damaged_newest_checkpoint_and_a_damaged_file_is_named(tmp_path):
    import time

    pl.seed_everything(0)
    ckpt = pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path / "ck"), save_top_k=-1, monitor="val_acc", mode="max")
    _trainer(tmp_path, max_epochs=2, callbacks=[ckpt], logger=False).fit(Model(), _loader(), _loader(False))
    time.sleep(0.01)
    with open(tmp_path / "ck" / "damaged.ckpt", "wb") as f:  # newer than the others, and unreadable
        f.write(b"EAGERLAB" + b"\x00" * 30)
    trainer = _trainer(tmp_path, max_epochs=3, logger=False,
                       callbacks=[pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path / "ck"))])
    with pytest.warns(RuntimeWarning, match="skipping .*damaged.ckpt"):
        trainer.fit(Model(), _loader(), _loader(False), ckpt_path="last")
    assert trainer.current_epoch == 3
    with pytest.raises(el.errors.SerializationError, match="damaged.ckpt"):
        _trainer(tmp_path, max_epochs=3, logger=False).fit(Model(), _loader(),
                                                           ckpt_path=str(tmp_path / "ck" / "damaged.ckpt"))


def test_kill_9_while_writing_checkpoints_leaves_a_loadable_one(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from eagerlab.training.state import read_training_state

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = str(tmp_path / "c.ckpt")
    code = f"""
import eagerlab as el, eagerlab.nn as nn
from eagerlab.training.state import save_training_state
model = nn.Linear(1000, 1000)
print("ready", flush=True)
for i in range(100000):
    save_training_state({path!r}, model, loop={{"step": i}})
"""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": root})
    proc.stdout.readline()
    deadline = time.time() + 20
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    record = read_training_state(path)  # whole: the writes replace the file atomically
    assert record["loop"]["step"] >= 0 and tuple(record["model"]["weight"].shape) == (1000, 1000)


def test_compile_runs_the_whole_training_step_as_one_graph_with_eager_bits(tmp_path):
    trained = {}
    for compile in (False, True):
        pl.seed_everything(4)
        model = Model(scheduler=True)
        trainer = _trainer(tmp_path, max_epochs=2, logger=False, enable_checkpointing=False, compile=compile)
        trainer.fit(model, _loader(), _loader(False))
        trained[compile] = (model, trainer)
    (eager, eager_trainer), (compiled, compiled_trainer) = trained[False], trained[True]
    for a, b in zip(eager.parameters(), compiled.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert compiled_trainer._compiled_step.trace_count == 1  # 90 samples: batches of 16 and a last one of 10
    assert compiled_trainer.callback_metrics["train_loss"] == eager_trainer.callback_metrics["train_loss"]
    assert compiled_trainer.callback_metrics["val_acc"] == eager_trainer.callback_metrics["val_acc"]


def test_accumulating_two_batches_of_8_equals_one_batch_of_16(tmp_path):
    weights = {}
    for batch_size, accumulate in ((16, 1), (8, 2)):
        pl.seed_everything(6)
        model = Model()
        model.net[2].p = 0.0  # no dropout: both runs see the same numbers
        trainer = _trainer(tmp_path, max_epochs=1, logger=False, enable_checkpointing=False,
                           accumulate_grad_batches=accumulate, limit_train_batches=2 * accumulate)
        trainer.fit(model, _loader(False, batch_size=batch_size))
        weights[accumulate] = [p.detach().numpy().copy() for p in model.parameters()]
        assert trainer.global_step == 2  # optimizer steps, as Lightning counts them
    for a, b in zip(weights[1], weights[2]):  # the mean over 16 = half the means over its two halves of 8
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_fast_dev_run_max_time_and_detect_anomaly(tmp_path):
    trainer = _trainer(tmp_path, fast_dev_run=True)
    trainer.fit(Model(), _loader(), _loader(False))
    assert trainer.global_step == 1 and trainer.logger is None and trainer.checkpoint_callback is None
    timed = _trainer(tmp_path, max_epochs=100, max_time={"seconds": 0}, logger=False, enable_checkpointing=False)
    timed.fit(Model(), _loader())
    assert timed.global_step == 0

    class Nan(Model):
        def training_step(self, batch, batch_idx):
            return (self(batch[0]) * float("nan")).sum()

    with pytest.raises(el.errors.AutogradError, match="returned nan values"):
        _trainer(tmp_path, max_epochs=1, logger=False, enable_checkpointing=False, detect_anomaly=True).fit(
            Nan(), _loader())


class Data(pl.LightningDataModule):
    def __init__(self):
        self.setups, self.restored = [], None

    def setup(self, stage):
        self.setups.append(stage)

    def train_dataloader(self):
        return _loader()

    def val_dataloader(self):
        return _loader(False)

    def state_dict(self):
        return {"setups": len(self.setups)}

    def load_state_dict(self, state):
        self.restored = state


def test_val_check_interval_validates_inside_the_epoch_and_checkpoints_resume_there(tmp_path):
    rec = HookRecorder()
    ckpt = pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path / "ck"), save_last=True)
    data = Data()
    trainer = _trainer(tmp_path, max_epochs=1, val_check_interval=2, callbacks=[rec, ckpt], logger=False,
                       num_sanity_val_steps=0)
    trainer.fit(Model(), datamodule=data)
    assert rec.calls.count("on_validation_end") == 3 and data.setups == ["fit"]  # after batches 2 and 4, and 6
    again = Data()
    resumed = _trainer(tmp_path, max_epochs=2, logger=False)
    resumed.fit(Model(), datamodule=again, ckpt_path=ckpt.last_model_path)
    assert resumed.current_epoch == 2 and again.restored == {"setups": 1}


def test_overfit_batches_trains_and_validates_on_the_same_first_batches(tmp_path):
    seen = {"train": [], "val": []}

    class Spy(Model):
        def training_step(self, batch, batch_idx):
            seen["train"].append(batch[1].tolist())
            return super().training_step(batch, batch_idx)

        def validation_step(self, batch, batch_idx):
            seen["val"].append(batch[1].tolist())
            return super().validation_step(batch, batch_idx)

    _trainer(tmp_path, max_epochs=2, overfit_batches=2, logger=False, enable_checkpointing=False,
             num_sanity_val_steps=0).fit(Spy(), _loader(), _loader(False))
    first_two = [Y[:16].tolist(), Y[16:32].tolist()]
    assert seen["train"] == first_two * 2 and seen["val"] == first_two * 2


def test_every_n_train_steps_and_the_model_summary(tmp_path, capsys):
    ckpt = pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path / "steps"), every_n_train_steps=4, save_top_k=-1)
    pl.Trainer(default_root_dir=str(tmp_path), max_epochs=1, logger=False, enable_progress_bar=False,
               callbacks=[ckpt]).fit(Model(), _loader())
    assert sorted(os.listdir(tmp_path / "steps")) == ["epoch=0-step=4.ckpt"]
    out = capsys.readouterr().out
    assert "net  | Sequential" in out and "66  Total params" in out  # 5*8+8 + 8*2+2


class Manual(Model):
    def __init__(self):
        super().__init__()
        self.automatic_optimization = False

    def training_step(self, batch, batch_idx):
        opt = self.optimizers()
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        opt.zero_grad()
        self.manual_backward(loss)
        opt.step()
        self.log("manual_loss", loss)


def test_manual_optimization_steps_the_optimizer_itself(tmp_path):
    model = Manual()
    before = [p.detach().numpy().copy() for p in model.parameters()]
    trainer = _trainer(tmp_path, max_epochs=1, logger=False, enable_checkpointing=False)
    trainer.fit(model, _loader())
    assert trainer.global_step == 6 and "manual_loss" in trainer.callback_metrics
    assert all(not np.array_equal(b, p.detach().numpy()) for b, p in zip(before, model.parameters()))


class Diverging(Model):
    def validation_step(self, batch, batch_idx):
        self.log("val_loss", float("nan"))


def test_early_stopping_stops_on_a_non_finite_metric_and_checkpoint_hooks_run(tmp_path):
    stop = pl.callbacks.EarlyStopping(monitor="val_loss", patience=10, check_finite=True)
    trainer = _trainer(tmp_path, max_epochs=5, callbacks=[stop], logger=False, enable_checkpointing=False)
    trainer.fit(Diverging(), _loader(), _loader(False))
    assert trainer.current_epoch == 1 and stop.stopped_epoch == 0

    class Hooked(Model):
        def on_save_checkpoint(self, checkpoint):
            checkpoint["note"] = "kept"

        def on_load_checkpoint(self, checkpoint):
            self.loaded_note = checkpoint["extra"]["note"]

    ckpt = pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path / "h"))
    _trainer(tmp_path, max_epochs=1, callbacks=[ckpt], logger=False).fit(Hooked(), _loader())
    assert Hooked.load_from_checkpoint(ckpt.best_model_path).loaded_note == "kept"


def test_validate_and_test_from_a_checkpoint_path(tmp_path):
    pl.seed_everything(0)
    ckpt = pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path / "v"), monitor="val_acc", mode="max")
    trained = Model()
    _trainer(tmp_path, max_epochs=2, callbacks=[ckpt], logger=False).fit(trained, _loader(), _loader(False))
    (from_file,) = _trainer(tmp_path, logger=False).validate(Model(), _loader(False), ckpt_path=ckpt.best_model_path,
                                                              verbose=False)
    assert from_file["val_acc"] == pytest.approx(ckpt.best_model_score)
