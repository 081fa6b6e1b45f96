"""Keras layers (channels-last, built lazily from the first input's shape)."""
from .base import Layer
from .conv import Conv1D, Conv2D
from .core import Activation, Dense, Dropout, Flatten, Reshape
from .input_layer import Input, InputLayer
from .pooling import AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D

__all__ = ["Layer", "Input", "InputLayer", "Activation", "Dense", "Dropout", "Flatten", "Reshape", "Conv1D", "Conv2D", "AveragePooling2D",
           "GlobalAveragePooling2D", "GlobalMaxPooling2D", "MaxPooling2D"]
