"""Parameter: a Tensor that a Module registers as learnable when assigned as an attribute."""
from .._tensor import Tensor
from ..ops.creation import empty


class Parameter(Tensor):
    """A leaf tensor (requires_grad=True by default) sharing memory with `data`; modules collect these."""

    __slots__ = ()

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter: expected a Tensor as data, got {type(data).__name__}")
        p = cls._make(data._data, data._device)
        if data._vc is None:
            data._vc = [0]
        p._vc = data._vc  # same memory, same version counter
        if requires_grad:
            p.requires_grad_()
        return p

    def __init__(self, data=None, requires_grad=True):  # state is set in __new__; Tensor.__init__ would rebuild it
        pass

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

