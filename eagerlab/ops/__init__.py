"""The op registry and every op family. Importing this package registers all primitives and public ops."""
from . import _registry  # noqa: F401
from . import creation, conversion, elementwise, elementwise_binary, activation, arith, arith_logical  # noqa: F401
from . import reduce, reduce_stats, reduce_prod, reduce_norm  # noqa: F401
from . import shape, join, index, getitem, index_gather, sorting, pad  # noqa: F401
from . import linalg, linalg_einsum, softmax, losses, losses_pointwise, random, dropout  # noqa: F401
from . import conv, conv_transpose, pool, pool_avg, pool_adaptive  # noqa: F401
from . import normalization, batch_norm, embedding, resize, attention, rnn  # noqa: F401
from ._registry import EXPORTS, OPS, PRIMITIVES, Aval, OpInfo, Primitive, Sample, bind

__all__ = ["EXPORTS", "OPS", "PRIMITIVES", "Aval", "OpInfo", "Primitive", "Sample", "bind"]
