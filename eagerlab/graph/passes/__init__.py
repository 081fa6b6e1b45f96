"""Graph passes, each small and named; `optimize` runs them in order. Every pass keeps effects where they are.
The optimized graph stays made of registered primitives (export and ONNX read it); `lower` then prepares a copy for
codegen: elementwise chains fused, and the memory plan codegen follows. Both decide how it runs, not what."""
from .cse import common_subexpressions
from .dce import dead_code
from .fold import fold_constants
from .fuse import fuse_elementwise
from .memory import plan_memory
from .simplify import simplify

PIPELINE = (fold_constants, simplify, dead_code, common_subexpressions, dead_code)


def optimize(graph):
    for p in PIPELINE:
        p(graph)
    return graph


def lower(graph, xp):
    """(a copy of the optimized graph fused for execution, its MemoryPlan): what codegen.CompiledGraph takes."""
    lowered = fuse_elementwise(graph.copy())
    return lowered, plan_memory(lowered, xp)


__all__ = ["optimize", "lower", "dead_code", "common_subexpressions", "fold_constants", "simplify", "fuse_elementwise",
           "plan_memory", "PIPELINE"]
