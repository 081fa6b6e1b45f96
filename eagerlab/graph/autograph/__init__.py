"""AutoGraph: rewrites a Python function's `if`/`while`/`for`, `break`/`continue`/`return` and `and`/`or`/`not` so
that, when the condition is a tensor, they run as eagerlab.cond / eagerlab.while_loop (TensorFlow's AutoGraph).
Reached as `eagerlab.autograph`, imported on first use."""
from .api import convert, do_not_convert, to_code

__all__ = ["convert", "to_code", "do_not_convert"]
