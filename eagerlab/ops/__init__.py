"""The op registry and every op family. Importing this package registers all primitives and public ops."""
from . import _registry  # noqa: F401
from . import creation, elementwise, elementwise_binary, activation, arith, reduce, reduce_stats, shape, join, index, getitem  # noqa: F401
from . import reduce_prod, reduce_norm, linalg, linalg_einsum, softmax, losses, losses_pointwise, random, dropout  # noqa: F401
from . import index_gather, sorting, resize, attention  # noqa: F401
from ._registry import EXPORTS, OPS, PRIMITIVES, Aval, OpInfo, Primitive, Sample, bind

__all__ = ["EXPORTS", "OPS", "PRIMITIVES", "Aval", "OpInfo", "Primitive", "Sample", "bind"]
