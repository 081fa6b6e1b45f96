"""The UCI optical-recognition handwritten digits (1,797 real 8x8 images, 10 classes), shipped in the package.

Source: E. Alpaydin, C. Kaynak, "Optical Recognition of Handwritten Digits", UCI Machine Learning Repository
(CC BY 4.0), the copy distributed with scikit-learn. Each pixel counts the "on" pixels of a 4x4 block: 0..16.
"""
import gzip
import os

import numpy as np

_PATH = os.path.join(os.path.dirname(__file__), "_data", "digits.csv.gz")


def load_digits():
    """(images, labels): float32 array (1797, 8, 8) with values 0..16, int64 labels 0..9."""
    with gzip.open(_PATH, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    return table[:, :64].reshape(-1, 8, 8).astype(np.float32), table[:, 64].copy()
