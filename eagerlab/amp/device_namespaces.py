"""`eagerlab.cpu.amp` and `eagerlab.cuda.amp`: PyTorch's per-device spellings of autocast and GradScaler."""
import types

from .autocast_mode import autocast as _autocast
from .grad_scaler import GradScaler as _GradScaler


def _namespace(device_type, default_dtype_doc):
    class autocast(_autocast):
        __doc__ = f"eagerlab.autocast('{device_type}', ...) (default dtype {default_dtype_doc})."

        def __init__(self, enabled=True, dtype=None, cache_enabled=None):
            super().__init__(device_type, dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)

    class GradScaler(_GradScaler):
        __doc__ = f"eagerlab.amp.GradScaler('{device_type}', ...)."

        def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                     enabled=True):
            super().__init__(device_type, init_scale, growth_factor, backoff_factor, growth_interval, enabled)

    module = types.ModuleType(f"eagerlab.{device_type}.amp", f"autocast and GradScaler for device type "
                                                             f"'{device_type}'")
    module.autocast, module.GradScaler = autocast, GradScaler
    autocast.__module__ = GradScaler.__module__ = module.__name__
    autocast.__qualname__, GradScaler.__qualname__ = "autocast", "GradScaler"
    return module


cpu = _namespace("cpu", "bfloat16")
cuda = _namespace("cuda", "float16")
