"""Merge layers: called on a list of tensors (Concatenate, Add, Multiply, Average)."""
from ...ops.join import cat
from ..saving import register_builtin
from .base import Layer


class _Merge(Layer):
    def build(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) < 2:
            raise ValueError(f"{type(self).__name__} {self.name!r} must be called on a list of at least 2 inputs, "
                             f"got input shape {input_shape}")
        self._check_shapes([tuple(s) for s in input_shape])

    def _check_shapes(self, shapes):
        if any(s[1:] != shapes[0][1:] for s in shapes):
            raise ValueError(f"{type(self).__name__} {self.name!r} requires inputs of the same shape (batch "
                             f"excepted), got shapes {shapes}")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])


class _Elementwise(_Merge):
    def call(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = self._combine(out, x)
        return out


@register_builtin
class Add(_Elementwise):
    @staticmethod
    def _combine(a, b):
        return a + b


@register_builtin
class Multiply(_Elementwise):
    @staticmethod
    def _combine(a, b):
        return a * b


@register_builtin
class Average(Add):
    def call(self, inputs):
        return super().call(inputs) / len(inputs)


@register_builtin
class Concatenate(_Merge):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def _check_shapes(self, shapes):
        rank = len(shapes[0])
        axis = self.axis % rank if -rank <= self.axis < rank else None
        others = [tuple(d for i, d in enumerate(s) if i not in (0, axis)) for s in shapes]
        if axis in (None, 0) or any(len(s) != rank or o != others[0] for s, o in zip(shapes, others)):
            raise ValueError(f"Concatenate {self.name!r}: inputs must have the same shape except along the "
                             f"concatenation axis {self.axis} (not the batch axis), got shapes {shapes}")

    def call(self, inputs):
        return cat(list(inputs), dim=self.axis)

    def compute_output_shape(self, input_shape):
        sizes = [s[self.axis] for s in input_shape]
        out = list(input_shape[0])
        out[self.axis] = None if None in sizes else sum(sizes)
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
