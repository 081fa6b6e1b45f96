"""eagerlab.nn: Module, Parameter, layers, losses, functional (F), init and utils - PyTorch's torch.nn."""
from . import functional, init, parallel, utils
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _modules_all
from .parameter import Parameter
from . import _saving  # noqa: F401,E402  (registers how eagerlab.save / load handle whole Modules)

__all__ = ["Parameter", "functional", "init", "parallel", "utils"] + _modules_all
