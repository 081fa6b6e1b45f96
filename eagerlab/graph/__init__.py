"""Graph capture (in progress): the control-flow ops (`cond`, `while_loop`) and `TensorSpec`, which also work
eagerly, as in TensorFlow. The tracer, AutoGraph and the executor build on them."""
from .control_flow import cond, while_loop
from .spec import TensorSpec

__all__ = ["cond", "while_loop", "TensorSpec"]
