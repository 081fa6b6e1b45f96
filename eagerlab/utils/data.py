"""`eagerlab.utils.data` is `eagerlab.data` (PyTorch users write torch.utils.data): the same module object."""
import sys

from .. import data

sys.modules[__name__] = data
