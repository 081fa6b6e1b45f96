"""keras.datasets: the datasets Keras programs load by name."""
from . import mnist

__all__ = ["mnist"]
