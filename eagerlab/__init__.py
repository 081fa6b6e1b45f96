"""eagerlab: a deep-learning framework on numpy (CPU) and cupy (CUDA).

The public function namespace is generated from the op registry (`eagerlab.ops.OPS`) plus the creation,
autograd and device helpers below, so a new op needs no edit here.
"""
import warnings as _warnings

# PyTorch computes log(0) = -inf and 0/0 = nan silently; numpy warns. Silence only warnings raised from
# eagerlab's own kernels (a filter costs nothing until a warning fires; numpy.errstate per op would cost ~1.5 us).
_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"eagerlab\.")

from . import autograd, backend, cuda, errors, ops, serialization  # noqa: E402
from ._tensor import Size, Tensor, is_tensor  # noqa: E402
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .backend import Generator, as_dtype, get_default_dtype, manual_seed, promote_types, result_type, \
    set_default_dtype
from .backend.blas import get_num_threads, set_num_threads
from .backend.denormals import set_flush_denormal
from .backend.device import Device as device
from .backend.dtypes import (bool_ as bool, bfloat16, dtype, float16, float32, float64, int8, int16, int32, int64,
                             uint8)
from .serialization import load, save
from .graph import TensorSpec, cond, while_loop
from .ops.creation import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, linspace, ones,
                           ones_like, tensor, zeros, zeros_like)

half, float, double, short, int, long = float16, float32, float64, int16, int32, int64

from . import amp  # noqa: E402
from .amp import autocast, get_autocast_dtype, is_autocast_enabled  # noqa: E402


def _amp_device_namespaces():
    """`eagerlab.cpu.amp` / `eagerlab.cuda.amp` as attributes and as importable modules, as in PyTorch."""
    import sys
    import types

    from .amp import device_namespaces

    cpu = types.ModuleType("eagerlab.cpu", "CPU-specific namespaces (eagerlab.cpu.amp)")
    cpu.amp = device_namespaces.cpu
    cuda.amp = device_namespaces.cuda
    sys.modules.update({"eagerlab.cpu": cpu, "eagerlab.cpu.amp": cpu.amp, "eagerlab.cuda.amp": cuda.amp})
    return cpu


cpu = _amp_device_namespaces()


def _export_ops():
    """Bind every public op (and its aliases defined next to it) as eagerlab.<name>."""
    ns = globals()
    for name, info in ops.OPS.items():
        ns.setdefault(name, info.fn)
    for name, fn in ops.EXPORTS.items():
        ns.setdefault(name, fn)


_export_ops()


default_generator = backend.default_generator()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


def numel(input):
    return input.numel()


def is_floating_point(input):
    return input.is_floating_point()


# imported on first attribute access, so `import eagerlab` stays fast
_LAZY_SUBMODULES = ("nn", "optim", "data", "datasets", "utils", "autograph", "testing", "keras", "multiprocessing",
                     "onnx", "accelerator", "backends")


# graph capture, also on first use: name -> (module, attribute or None for the module itself)
_LAZY_ATTRIBUTES = {
    "function": ("eagerlab.graph.function", "function"),
    "run_functions_eagerly": ("eagerlab.graph.function", "run_functions_eagerly"),
    "functions_run_eagerly": ("eagerlab.graph.function", "functions_run_eagerly"),
    "export": ("eagerlab.graph.export", "export"),
    "load_exported": ("eagerlab.graph.export", "load_exported"),
}


def __getattr__(name):
    import importlib

    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_ATTRIBUTES:
        module, attr = _LAZY_ATTRIBUTES[name]
        value = importlib.import_module(module)
        return value if attr is None else getattr(value, attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__version__ = "0.1.0"
