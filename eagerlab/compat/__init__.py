"""Running unmodified PyTorch scripts on eagerlab: `python -m eagerlab.compat.torch script.py [args]`.

The runner only renames modules (`torch.X` is `eagerlab.X`, `torchvision.datasets` is `eagerlab.datasets`, ...):
every name a script reaches is eagerlab's own implementation, and a name eagerlab lacks fails as it would in a
module without it, with a pointer to docs/compat.md. `install()` puts the renaming in place inside a running
interpreter (the tests use it)."""
from ._hook import TorchAliasFinder, install, served_module, uninstall

__all__ = ["TorchAliasFinder", "install", "served_module", "uninstall"]
