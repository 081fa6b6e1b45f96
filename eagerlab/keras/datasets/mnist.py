"""keras.datasets.mnist.load_data(path=...): ((x_train, y_train), (x_test, y_test)) as uint8 images (N, 28, 28)
and uint8 labels, as Keras returns them. `path` is Keras's mnist.npz, or a folder with the IDX files (plain or
gzipped, as torchvision lays them out); the default looks in ~/.keras/datasets and downloads the IDX files there
when the network allows."""
import os

import numpy as np

from ...datasets import MNIST

DEFAULT_FOLDER = os.path.join("~", ".keras", "datasets")


def load_data(path="mnist.npz"):
    """The MNIST train and test splits as numpy arrays."""
    path = os.path.expanduser(os.fspath(path))
    candidates = [path] if os.path.isabs(path) or os.path.exists(path) else [
        path, os.path.join(os.path.expanduser(DEFAULT_FOLDER), path)]
    for candidate in candidates:
        if candidate.endswith(".npz") and os.path.isfile(candidate):
            with np.load(candidate, allow_pickle=False) as f:  # (no pickle: a hostile file cannot run code)
                return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
        if os.path.isdir(candidate):
            return _idx_splits(candidate, download=False)
    return _idx_splits(os.path.expanduser(DEFAULT_FOLDER), download=True)


def _idx_splits(folder, download):
    splits = []
    for train in (True, False):
        ds = MNIST(folder, train=train, download=download)
        splits.append((np.asarray(ds.data, dtype=np.uint8), np.asarray(ds.targets, dtype=np.uint8)))
    return tuple(splits)
