"""assert_close: tensors, arrays, numbers and nested containers of them compared by shape, dtype and value."""
import numpy as np

from .._tensor import Tensor

# (rtol, atol) by dtype, as torch.testing.assert_close chooses them; integers and bools compare exactly
_TOLERANCES = {np.dtype(np.float16): (1e-3, 1e-5), np.dtype(np.float32): (1.3e-6, 1e-5),
               np.dtype(np.float64): (1e-7, 1e-7)}


def assert_close(actual, expected, *, rtol=None, atol=None, equal_nan=False, check_dtype=True, msg=""):
    """Raise AssertionError unless `actual` and `expected` match: Tensors and numpy arrays by shape, dtype (unless
    check_dtype=False) and values within `atol + rtol * |expected|`; Python numbers by value (and type); tuples,
    lists and dicts item by item (same structure). rtol/atol default by dtype as in torch.testing (float32: 1.3e-6,
    1e-5; float64: 1e-7, 1e-7); give both or neither. The error names where in the structure they differ."""
    if (rtol is None) != (atol is None):
        raise ValueError(f"assert_close: give both rtol and atol or neither (Received: rtol={rtol}, atol={atol})")
    _compare(actual, expected, "", dict(rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=check_dtype), msg)


def _compare(actual, expected, where, options, msg):
    def fail(text):
        prefix = f"{msg}: " if msg else ""
        raise AssertionError(f"{prefix}{text}" + (f" (at output{where})" if where else ""))

    if isinstance(expected, (Tensor, np.ndarray, np.generic)):
        if not isinstance(actual, (Tensor, np.ndarray, np.generic)):
            fail(f"expected an array-like {_describe(expected)}, got {type(actual).__name__}")
        return _compare_arrays(_host(actual), _host(expected), options, fail)
    if isinstance(expected, (tuple, list)):
        if type(actual) is not type(expected) or len(actual) != len(expected):
            fail(f"expected a {type(expected).__name__} of {len(expected)}, got {_describe(actual)}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, f"{where}[{i}]", options, msg)
        return
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or list(actual) != list(expected):
            fail(f"expected a dict with keys {list(expected)}, got {_describe(actual)}")
        for k in expected:
            _compare(actual[k], expected[k], f"{where}[{k!r}]", options, msg)
        return
    if options["check_dtype"] and type(actual) is not type(expected):
        fail(f"expected {type(expected).__name__} {expected!r}, got {type(actual).__name__} {actual!r}")
    if isinstance(expected, float) and isinstance(actual, (int, float)):
        return _compare_arrays(np.asarray(float(actual)), np.asarray(expected), options, fail)
    if actual != expected:
        fail(f"expected {expected!r}, got {actual!r}")


def _compare_arrays(actual, expected, options, fail):
    if actual.shape != expected.shape:
        fail(f"shapes differ: got {actual.shape}, expected {expected.shape}")
    if options["check_dtype"] and actual.dtype != expected.dtype:
        fail(f"dtypes differ: got {actual.dtype}, expected {expected.dtype}")
    if expected.dtype.kind not in "fc" and actual.dtype.kind not in "fc":
        if not np.array_equal(actual, expected):
            fail(f"values differ at {_mismatches(actual != expected)}: got {actual!r}, expected {expected!r}")
        return
    rtol, atol = options["rtol"], options["atol"]
    if rtol is None:
        rtol, atol = max(_TOLERANCES.get(actual.dtype, (0.0, 0.0)), _TOLERANCES.get(expected.dtype, (0.0, 0.0)))
    try:
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=options["equal_nan"])
    except AssertionError as e:
        fail(str(e).strip())


def _mismatches(differ):
    where = np.argwhere(differ)
    return f"{len(where)} of {differ.size} positions, first {tuple(int(i) for i in where[0])}" if differ.ndim \
        else "the 0-d value"


def _host(x):
    if isinstance(x, Tensor):
        return np.asarray(x.detach()._host())
    return np.asarray(x)


def _describe(x):
    if isinstance(x, (Tensor, np.ndarray)):
        return f"{type(x).__name__} of shape {tuple(x.shape)} and dtype {x.dtype}"
    if isinstance(x, (tuple, list)):
        return f"{type(x).__name__} of {len(x)}"
    return f"{type(x).__name__} {x!r}"
