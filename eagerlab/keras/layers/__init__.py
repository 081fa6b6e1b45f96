"""Keras layers (channels-last, built lazily from the first input's shape)."""
from .base import Layer
from .conv import Conv1D, Conv2D
from .core import Activation, Dense, Dropout, Flatten, Rescaling, Reshape
from .embedding import Embedding
from .input_layer import Input, InputLayer
from .merge import Add, Average, Concatenate, Multiply
from .normalization import BatchNormalization, LayerNormalization
from .pooling import (AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
                      GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPooling1D, MaxPooling2D)
from .recurrent import GRU, LSTM, SimpleRNN

__all__ = ["Layer", "Input", "InputLayer", "Activation", "Dense", "Dropout", "Flatten", "Rescaling", "Reshape",
           "Conv1D", "Conv2D", "Embedding", "Add", "Average", "Concatenate", "Multiply", "BatchNormalization",
           "LayerNormalization", "AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D",
           "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "MaxPooling1D", "MaxPooling2D", "GRU",
           "LSTM", "SimpleRNN"]
