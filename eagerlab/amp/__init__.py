"""Mixed precision: `autocast` (the op policy of eagerlab/ops/autocast_policy.py, applied by an interpreter) and
`GradScaler` (dynamic loss scaling). `eagerlab.cpu.amp` and `eagerlab.cuda.amp` give the same names with the
device type bound, as in PyTorch."""
from .autocast_mode import autocast, get_autocast_dtype, is_autocast_enabled
from .grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast", "get_autocast_dtype", "is_autocast_enabled"]
