"""Data-parallel wrappers (torch.nn.parallel): DistributedDataParallel, and DataParallel for one device."""
from .data_parallel import DataParallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
