"""eagerlab.keras: the Keras front end (`from eagerlab import keras`)."""
from . import activations, initializers, layers, regularizers, saving

__all__ = ["activations", "initializers", "layers", "regularizers", "saving"]
