"""Callbacks with Lightning's hook names: Callback, ModelCheckpoint, EarlyStopping."""
from .base import Callback
from .early_stopping import EarlyStopping
from .model_checkpoint import ModelCheckpoint

__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint"]
