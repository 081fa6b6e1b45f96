"""Keras's window arithmetic shared by convolution and pooling: tuples from ints, output lengths and the
"same" padding, which TensorFlow places asymmetrically (the odd pixel goes after)."""
import math


def int_tuple(layer, name, value, rank):
    values = (value,) * rank if isinstance(value, int) else tuple(value)
    if len(values) != rank or any(isinstance(v, bool) or not isinstance(v, int) or v <= 0 for v in values):
        raise ValueError(f"{layer}: `{name}` must be a positive integer or a tuple of {rank} positive integers. "
                         f"Received: {name}={value!r}")
    return values


def check_padding(layer, padding):
    padding = str(padding).lower()
    if padding not in ("valid", "same"):
        raise ValueError(f"{layer}: `padding` must be 'valid' or 'same'. Received: padding={padding!r}")
    return padding


def output_length(n, k, s, padding, dilation=1):
    if n is None:
        return None
    if padding == "same":
        return math.ceil(n / s)
    return max((n - (k - 1) * dilation - 1) // s + 1, 0)


def same_pads(sizes, kernel, strides, dilation):
    """F.pad's list (last dim first) for "same" padding of the given spatial sizes; None when none is needed."""
    pads = []
    for n, k, s, d in reversed(list(zip(sizes, kernel, strides, dilation))):
        total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
        pads += [total // 2, total - total // 2]
    return pads if any(pads) else None


def channels_first(rank):
    """The permutation (N, *spatial, C) -> (N, C, *spatial) for `rank` spatial dims."""
    return (0, rank + 1) + tuple(range(1, rank + 1))


def channels_last(rank):
    """The permutation (N, C, *spatial) -> (N, *spatial, C)."""
    return (0,) + tuple(range(2, rank + 2)) + (1,)
