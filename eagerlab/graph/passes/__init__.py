"""Graph passes, each small and named; `optimize` runs them in order. Every pass keeps effects where they are.
Memory planning (memory.py) runs last, inside codegen: it decides buffers, not the graph's shape."""
from .cse import common_subexpressions
from .dce import dead_code
from .fold import fold_constants
from .fuse import fuse_elementwise
from .simplify import simplify

PIPELINE = (fold_constants, simplify, dead_code, common_subexpressions, dead_code, fuse_elementwise)


def optimize(graph):
    for p in PIPELINE:
        p(graph)
    return graph


__all__ = ["optimize", "dead_code", "common_subexpressions", "fold_constants", "simplify", "fuse_elementwise",
           "PIPELINE"]
