"""Graph passes, each small and named; `optimize` runs them in order. Every pass keeps effects where they are.
The optimized graph stays made of registered primitives (export and ONNX read it); `lower` then fuses elementwise
chains for codegen, and memory planning (memory.py) runs inside codegen: both decide how it runs, not what."""
from .cse import common_subexpressions
from .dce import dead_code
from .fold import fold_constants
from .fuse import fuse_elementwise
from .simplify import simplify

PIPELINE = (fold_constants, simplify, dead_code, common_subexpressions, dead_code)


def optimize(graph):
    for p in PIPELINE:
        p(graph)
    return graph


def lower(graph):
    """A copy of the optimized graph, fused for execution."""
    return fuse_elementwise(graph.copy())


__all__ = ["optimize", "lower", "dead_code", "common_subexpressions", "fold_constants", "simplify", "fuse_elementwise",
           "PIPELINE"]
