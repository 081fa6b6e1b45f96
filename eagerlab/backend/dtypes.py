"""eagerlab dtypes, the numpy dtype behind each, and PyTorch's type-promotion rules."""
import numpy as np

from ..errors import DTypeError

# Categories order the promotion lattice: bool < integer < floating.
BOOL, INT, FLOAT = 0, 1, 2


class dtype:
    """A tensor element type (`eagerlab.float32`, ...); `.np` is the numpy dtype that stores it."""

    __slots__ = ("name", "np", "category", "itemsize", "is_signed")

    def __init__(self, name, np_dtype, category):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.category = category
        self.itemsize = self.np.itemsize
        self.is_signed = category == FLOAT or self.np.kind == "i"

    @property
    def is_floating_point(self):
        return self.category == FLOAT

    is_complex = False

    def __repr__(self):
        return f"eagerlab.{self.name}"

    def __reduce__(self):  # dtypes are singletons: copying or unpickling one must give the same object
        return as_dtype, (self.name,)


float16 = dtype("float16", np.float16, FLOAT)
float32 = dtype("float32", np.float32, FLOAT)
float64 = dtype("float64", np.float64, FLOAT)
int8 = dtype("int8", np.int8, INT)
int16 = dtype("int16", np.int16, INT)
int32 = dtype("int32", np.int32, INT)
int64 = dtype("int64", np.int64, INT)
uint8 = dtype("uint8", np.uint8, INT)
bool_ = dtype("bool", np.bool_, BOOL)

ALL = (float16, float32, float64, int8, int16, int32, int64, uint8, bool_)
ALIASES = {"half": float16, "float": float32, "double": float64, "short": int16, "int": int32, "long": int64}
_BY_NP = {d.np: d for d in ALL}
_BY_NAME = {**{d.name: d for d in ALL}, **ALIASES}


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
        return _BY_NP[np.dtype(np_dtype)]
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


def _promote_same_group(dtypes):
    """Promote dtypes that PyTorch treats as one priority group: the highest category wins outright."""
    top = max(d.category for d in dtypes)
    out = None
    for d in dtypes:
        if d.category == top:
            out = d if out is None else _BY_NP[np.promote_types(out.np, d.np)]
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
