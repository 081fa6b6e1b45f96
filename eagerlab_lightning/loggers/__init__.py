"""Loggers: CSVLogger (lightning_logs/version_N/metrics.csv and hparams.yaml) and TensorBoardLogger (event files,
with the optional tensorboard extra)."""
from .csv_logs import CSVLogger
from .tensorboard import TensorBoardLogger

__all__ = ["CSVLogger", "TensorBoardLogger"]
