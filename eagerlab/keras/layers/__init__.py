"""Keras layers (channels-last, built lazily from the first input's shape)."""
from .base import Layer
from .core import Activation, Dense, Dropout, Flatten, Reshape

__all__ = ["Layer", "Activation", "Dense", "Dropout", "Flatten", "Reshape"]
