"""`eagerlab.backends`, as torch.backends: the switches PyTorch scripts set for the GPU libraries.

`cuda.matmul.allow_tf32` is wired to cupy's compute type for float32 matrix products. eagerlab does not call cuDNN
(its convolutions are GEMMs through cupy, so they follow `cuda.matmul.allow_tf32`): the `cudnn` flags are accepted
and kept, and change nothing. `mps` reports Apple's Metal backend as unavailable, as PyTorch does off a Mac."""
from . import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]
