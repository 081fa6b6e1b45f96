"""Guards: what must still hold, beyond the cache key, for a trace to be reused. The trace is only valid for the
training flags of the modules it ran, the requires_grad, shape and dtype of the tensors it captured, and (for a
traced module) the very parameter and buffer tensors the module held: `model.eval()`, freezing a layer, resizing
or replacing a parameter all retrace instead of running a stale graph."""


class Guards:
    __slots__ = ("flags", "arrays", "slots")

    def __init__(self, tracer, graph, root):
        """From a finished trace; `root`: the Module the function compiles, if any."""
        modules = dict(tracer.modules)
        if root is not None:  # a compiled Module: its own flags count even where forward is not a submodule call
            modules.update((id(m), (m, m.training)) for m in root.modules())
        flags = [(m, "training", training) for m, training in modules.values()]
        flags += [(n.op, "requires_grad", tracer.saved_state[id(n.op)][4]) for n in graph.captures]
        self.flags = tuple(flags)
        self.arrays = tuple((n.op, n.outputs[0].shape, n.outputs[0].dtype) for n in graph.captures)
        self.slots = tuple((table, tuple(table.values())) for m, _ in modules.values()
                           for table in (m._parameters, m._buffers) if table)

    def hold(self):
        for obj, attr, value in self.flags:
            if getattr(obj, attr) != value:
                return False
        for table, held in self.slots:  # a module's parameters and buffers: still the tensors the trace captured
            if len(table) != len(held) or any(a is not b for a, b in zip(table.values(), held)):
                return False
        for t, shape, dtype in self.arrays:  # a captured tensor resized or cast since (`.data = ...`, `.to(float64)`)
            d = t._data
            if d.shape != shape or d.dtype != dtype:
                return False
        return True
