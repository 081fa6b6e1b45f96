"""Loggers: CSVLogger (lightning_logs/version_N/metrics.csv and hparams.yaml)."""
from .csv_logs import CSVLogger

__all__ = ["CSVLogger"]
