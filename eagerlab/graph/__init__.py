"""Graph capture. Imported with eagerlab: the control-flow ops (`cond`, `while_loop`) and `TensorSpec`, which also
work eagerly, as in TensorFlow. On first use (eagerlab.function, export, load_exported, onnx, autograph): the tracer,
AutoGraph, the passes, codegen and export, which build on them."""
from .control_flow import cond, while_loop
from .spec import TensorSpec

__all__ = ["cond", "while_loop", "TensorSpec"]
