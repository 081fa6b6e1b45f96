"""Where the examples get digits: MNIST IDX files from --data DIR, else the 8x8 digits shipped with eagerlab."""
import argparse

import numpy as np

import eagerlab as el
from eagerlab.utils.data import TensorDataset, random_split


def parse_args(description, epochs):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", metavar="DIR", help="folder with MNIST IDX files (gzipped or not); "
                        "without it, the offline 8x8 digits that ship with eagerlab")
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="cuda" if el.cuda.is_available() else "cpu")
    parser.add_argument("--precision", default="32", choices=("32", "bf16-mixed", "16-mixed"),
                        help="mixed precision: the steps under eagerlab.autocast (bfloat16 or float16, with a "
                        "GradScaler for float16); the weights stay float32")
    return parser.parse_args()


def datasets(data_dir):
    """(train, test) datasets of (image (1, H, W) float32 normalized, label int64), and the image side H."""
    if data_dir:
        from eagerlab.datasets import MNIST, transforms

        transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
        try:
            train = MNIST(data_dir, train=True, transform=transform)
        except RuntimeError as missing:  # a folder with only the test files: split them
            if "Dataset not found" not in str(missing):
                raise
            full = MNIST(data_dir, train=False, transform=transform)
            n_test = len(full) // 5
            return (*random_split(full, [len(full) - n_test, n_test], generator=el.Generator().manual_seed(0)), 28)
        return train, MNIST(data_dir, train=False, transform=transform), 28
    from eagerlab.datasets import load_digits

    images, labels = load_digits()
    images = (images / 16.0 - 0.5) / 0.5
    order = np.random.default_rng(0).permutation(len(images))
    x = el.tensor(images[order, None])  # (N, 1, 8, 8)
    y = el.tensor(labels[order])
    return TensorDataset(x[:1500], y[:1500]), TensorDataset(x[1500:], y[1500:]), 8
