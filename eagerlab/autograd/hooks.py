"""Tensor hooks: register_hook, retain_grad, register_post_accumulate_grad_hook, and the handle every register_*hook
returns (tensors here; modules and optimizers use the same handle). autograd/__init__.py attaches them to Tensor.

They live beside the engine that runs them, not in _tensor.py: the Tensor keeps only the two slots they fill
(`_hooks` on a leaf, `_retains_grad`); a non-leaf's hooks sit on its Node (`pre_hooks`, by output index), where
the engine finds them.
"""
import weakref

from ..errors import AutogradError
from .engine import PostAccumulateHook


class _RemovableHandle:
    """Returned by register_*hook (tensors, modules, optimizers): `.remove()` takes the hook out of its list; also a
    context manager that removes it on exit."""

    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _node_hooks(tensor):
    """The grad hooks of a non-leaf: its Node's list for this output."""
    node = tensor._node
    if node.pre_hooks is None:
        node.pre_hooks = {}
    return node.pre_hooks.setdefault(tensor._out, [])


def _leaf_hooks(tensor):
    if tensor._hooks is None:
        tensor._hooks = []
    return tensor._hooks


def retain_grad(self):
    """Keep `.grad` for this non-leaf tensor after backward."""
    if not self.requires_grad:
        raise AutogradError("can't retain_grad on Tensor that has requires_grad=False")
    if self._node is None or self._retains_grad:
        return
    self._retains_grad = True
    ref = weakref.ref(self)

    def keep(g):
        t = ref()
        if t is not None:
            t.grad = g.detach() if t.grad is None else t.grad + g.detach()

    keep.retains_grad = True
    _node_hooks(self).append(keep)


def register_hook(self, hook):
    """hook(grad) -> new grad or None, run when this tensor's gradient is computed. Returns a handle."""
    if not self.requires_grad:
        raise AutogradError("cannot register a hook on a tensor that doesn't require gradient")
    hooks = _node_hooks(self) if self._node is not None else _leaf_hooks(self)
    # the retained .grad sees every hook's result, whenever retain_grad() was called (as in PyTorch >= 2.0)
    before = next((i for i, h in enumerate(hooks) if getattr(h, "retains_grad", False)), len(hooks))
    hooks.insert(before, hook)
    return _RemovableHandle(hooks, hook)


def register_post_accumulate_grad_hook(self, hook):
    """hook(tensor) runs once a backward has accumulated this leaf's whole gradient into .grad (PyTorch 2.1's
    name; DistributedDataParallel launches its all-reduces from it). Returns a handle with .remove()."""
    if self._node is not None:
        raise AutogradError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    if not self.requires_grad:
        raise AutogradError("cannot register a hook on a tensor that doesn't require gradient")
    entry = PostAccumulateHook(hook)
    hooks = _leaf_hooks(self)
    hooks.append(entry)
    return _RemovableHandle(hooks, entry)

