"""Named results of ops returning (values, indices), as PyTorch's torch.return_types: unpack as a tuple, or read
`.values` / `.indices`."""
from collections import namedtuple

values_indices = namedtuple("values_indices", ("values", "indices"))
