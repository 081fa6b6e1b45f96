"""eagerlab_lightning: the Lightning style on eagerlab (`import eagerlab_lightning as pl`): subclass
LightningModule, hand it to a Trainer."""
import random

import numpy as np

import eagerlab

from . import callbacks, loggers
from .datamodule import LightningDataModule
from .module import LightningModule
from .trainer import Trainer


def seed_everything(seed=0, workers=False):
    """Seed eagerlab's, numpy's and Python's generators; returns the seed."""
    seed = int(seed)
    eagerlab.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    return seed


__all__ = ["LightningModule", "LightningDataModule", "Trainer", "callbacks", "loggers", "seed_everything"]
