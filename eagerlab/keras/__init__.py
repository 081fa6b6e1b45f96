"""eagerlab.keras: the Keras front end (`from eagerlab import keras`): Sequential and subclassed models with
compile / fit / evaluate / predict / summary / save, on eagerlab's nn, optim and graph capture."""
from . import activations, callbacks, initializers, layers, losses, metrics, models, optimizers, regularizers, saving
from .layers import Input, Layer
from .models import Model, Sequential, load_model

__all__ = ["activations", "callbacks", "initializers", "layers", "losses", "metrics", "models", "optimizers",
           "regularizers", "saving", "Input", "Layer", "Model", "Sequential", "load_model"]
