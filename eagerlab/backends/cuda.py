"""`eagerlab.backends.cuda`: `matmul.allow_tf32` (TF32 tensor cores for float32 GEMMs on Ampere and newer)."""
from ..backend import cuda_available
from ..backend import cuda_runtime as _runtime


class _Matmul:
    """`backends.cuda.matmul`: reading or setting `allow_tf32` reads or sets cupy's float32 GEMM compute type."""

    __slots__ = ()

    @property
    def allow_tf32(self):
        return _runtime.matmul_tf32()

    @allow_tf32.setter
    def allow_tf32(self, value):
        _runtime.set_matmul_tf32(value)

    def __setattr__(self, name, value):
        if name != "allow_tf32":
            raise AttributeError(f"backends.cuda.matmul has no setting {name!r} in eagerlab (only allow_tf32); "
                                 "see docs/compat.md")
        object.__setattr__(self, name, value)


matmul = _Matmul()


def is_built():
    """True when eagerlab can reach CUDA here (cupy imports and sees a GPU)."""
    return cuda_available()
