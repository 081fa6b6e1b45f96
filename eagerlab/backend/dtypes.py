"""eagerlab dtypes, the numpy dtype behind each, and PyTorch's type-promotion rules.

bfloat16 is stored as `ml_dtypes.bfloat16` (the numpy extension the JAX project maintains). Importing ml_dtypes
costs more than the rest of `import eagerlab` together (~0.7 s measured), so it is the `bf16` extra and is imported
on the first use of bfloat16's numpy type, not at `import eagerlab`: `eagerlab.bfloat16` itself always exists.
"""
from collections.abc import Mapping

import numpy as np

from ..errors import DTypeError, UnsupportedError

# Categories order the promotion lattice: bool < integer < floating.
BOOL, INT, FLOAT = 0, 1, 2


class dtype:
    """A tensor element type (`eagerlab.float32`, ...); `.np` is the numpy dtype that stores it."""

    __slots__ = ("name", "np", "category", "itemsize", "is_signed")

    def __init__(self, name, np_dtype, category, itemsize=None):
        self.name = name
        if np_dtype is not None:  # None: resolved on first use of `.np` (bfloat16, see __getattr__)
            self.np = np.dtype(np_dtype)
        self.category = category
        self.itemsize = self.np.itemsize if itemsize is None else itemsize
        self.is_signed = category == FLOAT or self.np.kind == "i"

    def __getattr__(self, attr):
        # Reached only while a slot is unset: bfloat16's numpy type before ml_dtypes has been imported.
        if attr == "np" and self.name == "bfloat16":
            self.np = _bfloat16_numpy_type()
            _BY_NP[self.np] = self
            return self.np
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {attr!r}")

    @property
    def is_floating_point(self):
        return self.category == FLOAT

    is_complex = False

    def __repr__(self):
        return f"eagerlab.{self.name}"

    def __reduce__(self):  # dtypes are singletons: copying or unpickling one must give the same object
        return as_dtype, (self.name,)


float16 = dtype("float16", np.float16, FLOAT)
bfloat16 = dtype("bfloat16", None, FLOAT, itemsize=2)
float32 = dtype("float32", np.float32, FLOAT)
float64 = dtype("float64", np.float64, FLOAT)
int8 = dtype("int8", np.int8, INT)
int16 = dtype("int16", np.int16, INT)
int32 = dtype("int32", np.int32, INT)
int64 = dtype("int64", np.int64, INT)
uint8 = dtype("uint8", np.uint8, INT)
bool_ = dtype("bool", np.bool_, BOOL)

ALL = (float16, bfloat16, float32, float64, int8, int16, int32, int64, uint8, bool_)
LOW_PRECISION = (float16, bfloat16)  # the floating types whose GEMMs are computed in float32 and rounded on CPU
ALIASES = {"half": float16, "float": float32, "double": float64, "short": int16, "int": int32, "long": int64}
_BY_NP = {d.np: d for d in ALL if d is not bfloat16}


def is_floating_np(np_dtype):
    """Whether a numpy dtype holds floats: kind "f", or ml_dtypes' bfloat16 (which numpy files under kind "V")."""
    return np_dtype.kind == "f" or np_dtype.name == "bfloat16"


def _bfloat16_numpy_type():
    try:
        import ml_dtypes
    except ImportError:
        raise UnsupportedError(
            "bfloat16 needs the ml_dtypes package (the numpy extension that stores it): install eagerlab's bf16 "
            "extra, `pip install 'eagerlab[bf16]'` (or `pip install ml_dtypes`)") from None
    return np.dtype(ml_dtypes.bfloat16)
_BY_NAME = {**{d.name: d for d in ALL}, **ALIASES}


class LittleEndianTable(Mapping):
    """name -> little-endian numpy dtype, for file formats' allow-lists. Values are eagerlab dtypes or numpy dtypes;
    an eagerlab dtype's numpy type is looked up only when asked for (so listing bfloat16 imports no ml_dtypes)."""

    def __init__(self, entries):
        self._entries = dict(entries)

    def __getitem__(self, name):
        d = self._entries[name]
        return (d.np if type(d) is dtype else np.dtype(d)).newbyteorder("<")

    def __iter__(self):
        return iter(self._entries)

    def __len__(self):
        return len(self._entries)


class _Default:
    float = float32


def get_default_dtype():
    return _Default.float


def set_default_dtype(d):
    d = as_dtype(d)
    if not d.is_floating_point:
        raise DTypeError(f"set_default_dtype: only floating-point types are allowed as default, got {d}")
    _Default.float = d


def from_numpy_dtype(np_dtype):
    """The eagerlab dtype storing as `np_dtype`; unsupported numpy types raise DTypeError."""
    try:
        return _BY_NP[np_dtype]
    except KeyError:
        pass
    try:
        np_dtype = np.dtype(np_dtype)
        if np_dtype.name == "bfloat16" and bfloat16.np == np_dtype:  # an ml_dtypes array before bfloat16's first use
            return bfloat16
        return _BY_NP[np_dtype]
    except (KeyError, TypeError):
        raise DTypeError(
            f"numpy dtype {np_dtype} is not supported; eagerlab supports "
            + ", ".join(d.name for d in ALL)
        ) from None


def as_dtype(d):
    """Accept an eagerlab dtype, its name, a numpy dtype or a Python type (float, int, bool)."""
    if type(d) is dtype:
        return d
    if isinstance(d, str):
        if d in _BY_NAME:
            return _BY_NAME[d]
        raise DTypeError(f"unknown dtype name {d!r}; expected one of {sorted(_BY_NAME)}")
    if d is float:
        return _Default.float
    if d is int:
        return int64
    if d is bool:
        return bool_
    return from_numpy_dtype(d)


def _promote_pair(a, b):
    if a is b:
        return a
    if a in LOW_PRECISION and b in LOW_PRECISION:
        return float32  # neither holds the other (PyTorch: float16 + bfloat16 -> float32)
    if a is bfloat16 or b is bfloat16:  # numpy would say bfloat16 + int64 -> float64; PyTorch keeps bfloat16
        other = b if a is bfloat16 else a
        return bfloat16 if other.category < FLOAT else other
    return _BY_NP[np.promote_types(a.np, b.np)]


def _promote_same_group(dtypes):
    """Promote dtypes that PyTorch treats as one priority group: the highest category wins outright."""
    top = max(d.category for d in dtypes)
    out = None
    for d in dtypes:
        if d.category == top:
            out = d if out is None else _promote_pair(out, d)
    return out


def promote_types(a, b):
    """PyTorch's promote_types for two dtypes (int32 + float16 -> float16, uint8 + int8 -> int16)."""
    return _promote_same_group((as_dtype(a), as_dtype(b)))


def scalar_dtype(value):
    """The dtype a Python (or numpy) scalar takes on its own: bool, int64, or the default float."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return bool_
    if isinstance(value, int):
        return int64
    if isinstance(value, float):
        return _Default.float
    raise DTypeError(f"expected a Tensor or a Python number, got {type(value).__name__}")


def result_type(*operands):
    """PyTorch's result type: dimensioned tensors outrank 0-d tensors, which outrank Python scalars,
    unless a lower-priority operand is of a higher category (int tensor + 2.5 -> float32)."""
    groups = ([], [], [])
    for x in operands:
        if hasattr(x, "_data"):
            groups[0 if x._data.ndim else 1].append(x.dtype)
        else:
            groups[2].append(scalar_dtype(x))
    top = max(d.category for g in groups for d in g)
    for level, g in enumerate(groups):
        best = [d for d in g if d.category == top]
        if best:
            return _promote_same_group(best) if level < 2 else {BOOL: bool_, INT: int64, FLOAT: _Default.float}[top]
    raise DTypeError("result_type: no operands")
