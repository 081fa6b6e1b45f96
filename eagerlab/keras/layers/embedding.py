"""Embedding: integer indices -> rows of an (input_dim, output_dim) table."""
from ...nn import functional as F
from .. import initializers, regularizers
from ..saving import register_builtin
from .base import Layer
from .core import positive_int


@register_builtin
class Embedding(Layer):
    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None, *,
                 mask_zero=False, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = positive_int("Embedding", "input_dim", input_dim)
        self.output_dim = positive_int("Embedding", "output_dim", output_dim)
        if mask_zero:
            raise NotImplementedError("Embedding: mask_zero=True (masking) is not supported")
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)

    def build(self, input_shape):
        self.add_weight("embeddings", (self.input_dim, self.output_dim), self.embeddings_initializer,
                        self.embeddings_regularizer)

    def call(self, inputs):
        return F.embedding(inputs if not inputs.is_floating_point() else inputs.long(), self.embeddings)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer)}
