"""DataParallel: PyTorch's single-process wrapper. On the CPU or one GPU it runs the wrapped module as is (what
PyTorch does with fewer than two devices); splitting a batch over several GPUs in one process is not supported."""
from ...backend import Device, cuda_device_count
from ...errors import UnsupportedError
from ..modules.module import Module


class DataParallel(Module):
    """Wraps `module` (its weights appear as `module.*` in state_dict, as in PyTorch)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        self.module = module
        self.dim = dim
        if device_ids is None:
            device_ids = list(range(cuda_device_count()))
        self.device_ids = [d.index if isinstance(d, Device) else int(d) for d in device_ids]
        if len(self.device_ids) > 1:
            raise UnsupportedError(
                f"DataParallel over {len(self.device_ids)} GPUs (device_ids={self.device_ids}) is not supported yet "
                "in eagerlab; pass device_ids=[0], or use one process per GPU (DistributedDataParallel)")
        self.output_device = output_device

    def forward(self, *inputs, **kwargs):
        if self.device_ids:
            device = Device("cuda", self.device_ids[0])
            inputs = tuple(x.to(device) if hasattr(x, "to") else x for x in inputs)
        return self.module(*inputs, **kwargs)
