"""`eagerlab.onnx` is `eagerlab.graph.onnx` (PyTorch users write torch.onnx.export): the same module object, so
`import eagerlab.onnx` works as `import torch.onnx` does."""
import sys

from .graph import onnx

sys.modules[__name__] = onnx
