"""Datasets. `load_digits()`: a small real dataset shipped with eagerlab, usable offline."""
from .digits import load_digits

__all__ = ["load_digits"]
