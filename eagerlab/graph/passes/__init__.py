"""Graph passes, each small and named; `optimize` runs them in order. Every pass keeps effects where they are."""
from .cse import common_subexpressions
from .dce import dead_code

PIPELINE = (dead_code, common_subexpressions, dead_code)


def optimize(graph):
    for p in PIPELINE:
        p(graph)
    return graph


__all__ = ["optimize", "dead_code", "common_subexpressions", "PIPELINE"]
