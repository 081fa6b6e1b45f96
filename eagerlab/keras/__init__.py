"""eagerlab.keras: the Keras front end (`from eagerlab import keras`): Sequential, functional and subclassed models
with compile / fit / evaluate / predict / summary / save, on eagerlab's nn, optim, graph capture and training."""
from . import (activations, callbacks, datasets, initializers, layers, losses, metrics, mixed_precision, models,
               optimizers, regularizers, saving)
from .layers import Input, Layer
from .models import Model, Sequential, load_model

__all__ = ["activations", "callbacks", "datasets", "initializers", "layers", "losses", "metrics", "mixed_precision",
           "models",
           "optimizers", "regularizers", "saving", "Input", "Layer", "Model", "Sequential", "load_model"]
