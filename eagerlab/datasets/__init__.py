"""Datasets. `load_digits()`: a small real dataset shipped with eagerlab, usable offline. MNIST and FashionMNIST
(torchvision's API, IDX files from a local root or downloaded); `transforms` (torchvision.transforms' names)."""
from . import transforms
from .digits import load_digits
from .mnist import MNIST, FashionMNIST

__all__ = ["FashionMNIST", "MNIST", "load_digits", "transforms"]
