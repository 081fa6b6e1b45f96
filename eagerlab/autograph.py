"""AutoGraph's public API, `eagerlab.autograph` (implementation in eagerlab.graph.autograph); imported on first use,
since it needs ast and inspect."""
from .graph.autograph import convert, do_not_convert, to_code

__all__ = ["convert", "to_code", "do_not_convert"]
