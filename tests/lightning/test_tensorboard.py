"""TensorBoard event files written through the tensorboard package's writer, read back with its own reader
(skipped when the optional tensorboard extra is not installed)."""
import numpy as np
import pytest

import eagerlab as el
import eagerlab_lightning as pl
from eagerlab.utils.tensorboard import SummaryWriter

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from .test_trainer import Model, _loader, _trainer  # noqa: E402


def _read(folder):
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_summary_writer_scalars_histograms_and_text_read_back(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        for step in range(3):
            writer.add_scalar("loss", el.tensor(1.0 / (step + 1)), step)
        writer.add_histogram("weights", np.arange(100, dtype=np.float32), 7)
        writer.add_text("note", "hello", 1)
    acc = _read(tmp_path)
    assert [(e.step, round(e.value, 5)) for e in acc.Scalars("loss")] == [(0, 1.0), (1, 0.5), (2, 0.33333)]
    (histo,) = acc.Histograms("weights")
    assert histo.step == 7 and histo.histogram_value.num == 100 and histo.histogram_value.max == 99
    (text,) = acc.Tensors("note/text_summary")
    assert text.tensor_proto.string_val == [b"hello"]


def test_add_scalars_writes_one_run_per_tag(tmp_path):
    with SummaryWriter(tmp_path) as writer:
        writer.add_scalars("loss", {"train": 0.5, "val": 0.75}, 3)
    assert [e.value for e in _read(tmp_path / "loss_val").Scalars("loss")] == [0.75]


def test_tensorboard_and_csv_loggers_at_once(tmp_path):
    pl.seed_everything(0)
    loggers = [pl.loggers.TensorBoardLogger(str(tmp_path)), pl.loggers.CSVLogger(str(tmp_path), name="csv")]
    trainer = _trainer(tmp_path, max_epochs=2, logger=loggers, log_every_n_steps=1, enable_checkpointing=False)
    trainer.fit(Model(), _loader(), _loader(False))
    acc = _read(loggers[0].log_dir)
    assert len(acc.Scalars("val_acc")) == 2 and len(acc.Scalars("train_loss")) == 12
    assert [round(e.value, 5) for e in acc.Scalars("val_acc")][-1] == round(trainer.callback_metrics["val_acc"], 5)
    assert (tmp_path / "csv" / "version_0" / "metrics.csv").exists()
