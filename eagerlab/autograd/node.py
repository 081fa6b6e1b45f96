"""The tape: one Node per recorded op, holding edges to its inputs' nodes and what its backward saved."""
import traceback

from .._tensor import Tensor
from ..errors import AutogradError, fmt_shape
from .anomaly import AnomalyMode


class Node:
    """`tensor.grad_fn`: the record of one differentiable op application.

    edges[i] is None (input i needs no grad), (node, k) for output k of an earlier node, or (leaf_tensor, -1).
    `saved` holds what the op's backward declared it needs, nothing more: input tensors as themselves
    (with the version they had), outputs as their raw array + version counter (so no Tensor -> Node -> Tensor
    reference cycle keeps activations alive).
    """

    __slots__ = ("prim", "attrs", "edges", "shapes", "needs", "_saved", "_versions", "n_out", "pre_hooks",
                 "hooks", "trace", "__weakref__")

    def __init__(self, prim, attrs, edges, shapes, n_out, needs=None):
        self.prim = prim
        self.attrs = attrs
        self.edges = edges
        self.shapes = shapes
        self.needs = needs if needs is not None else tuple(e is not None for e in edges)
        self.n_out = n_out
        self._saved = ()
        self._versions = ()
        self.pre_hooks = None  # {output index: [hook]} from register_hook/retain_grad on non-leaf tensors
        self.hooks = None
        self.trace = traceback.extract_stack() if AnomalyMode.enabled else None

    def name(self):
        return self.prim.backward_name

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"

    @property
    def next_functions(self):
        return tuple((None, 0) if e is None else ((e[0], e[1]) if isinstance(e[0], Node) else (e[0], 0))
                     for e in self.edges)

    def register_hook(self, fn):
        """fn(grad_inputs, grad_outputs) runs after this node's backward, as in PyTorch."""
        if self.hooks is None:
            self.hooks = []
        self.hooks.append(fn)

    def save(self, inputs, outputs):
        """Keep the declared inputs (Tensors or plain values) and outputs (wrapped on use) for backward; a None
        (something the op's gradients will not read) stays None."""
        versions = [(x._vc[0] if x._vc is not None else 0) if isinstance(x, Tensor) else None for x in inputs]
        if outputs:  # (list appends: ~0.4 us cheaper per op than unpacking into tuples)
            inputs = inputs + [None if t is None else _SavedOutput(t) for t in outputs]
            versions += [None if t is None else 0 for t in outputs]
        self._saved = tuple(inputs)
        self._versions = tuple(versions)

    def save_output(self, t):
        """save([], [t]): the one output only (relu, sigmoid, tanh, exp, ...), on the hot path of every such op."""
        self._saved = (_SavedOutput(t),)
        self._versions = (0,)

    @property
    def saved(self):
        """The saved values for backward, checking no in-place op changed a saved tensor since."""
        if self._saved is None:
            raise AutogradError(
                f"{self.name()}: trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Specify retain_graph=True on the first "
                "backward() or autograd.grad() call if you need to backward through the graph again."
            )
        out = []
        for x, v in zip(self._saved, self._versions):
            if v is None:  # a constant (a Python number passed to the op)
                out.append(x)
            elif type(x) is _SavedOutput:
                out.append(x.unpack(self))
            elif (x._vc[0] if x._vc is not None else 0) != v:
                kind = "output" if x._node is not None else "a leaf input"
                raise AutogradError(
                    f"one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: [{x.dtype.name} tensor of shape {fmt_shape(x.shape)}], {kind} saved by "
                    f"{self.name()}, is at version {x._version}; expected version {v} instead. Hint: replace "
                    f"the in-place op (x += ..., x.add_(...), x[...] = ...) with its out-of-place form."
                )
            else:
                out.append(x)
        return out

    def release(self):
        self._saved = None


class _SavedOutput:
    """An op's output kept for its own backward: the array and version counter, re-wrapped on use."""

    __slots__ = ("data", "device", "vc", "version", "out_index", "requires_grad")

    def __init__(self, t):
        self.data, self.device, self.out_index, self.requires_grad = t._data, t._device, t._out, t.requires_grad
        if t._vc is None:
            t._vc = [0]
        self.vc = t._vc
        self.version = t._vc[0]

    def unpack(self, node):
        if self.vc[0] != self.version:
            raise AutogradError(
                f"one of the variables needed for gradient computation has been modified by an inplace "
                f"operation: [{self.data.dtype} tensor of shape {fmt_shape(self.data.shape)}], which is output "
                f"{self.out_index} of {node.name()}, is at version {self.vc[0]}; expected version "
                f"{self.version} instead. Hint: replace the in-place op with its out-of-place form."
            )
        t = Tensor._make(self.data, self.device, self.requires_grad)
        t._node, t._out, t._vc = (node if self.requires_grad else None), self.out_index, self.vc
        return t
