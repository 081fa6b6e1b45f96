"""Callbacks with Lightning's hook names."""
from .base import Callback
from .early_stopping import EarlyStopping
from .misc import LambdaCallback, LearningRateMonitor, ModelSummary, Timer
from .model_checkpoint import ModelCheckpoint

__all__ = ["Callback", "EarlyStopping", "LambdaCallback", "LearningRateMonitor", "ModelCheckpoint", "ModelSummary",
           "Timer"]
