"""Which primitives can write their result into a given buffer (`out=`), and how: the table fusion and memory
planning share. An entry computes exactly what the primitive's impl computes (same ufunc, same operand dtypes),
so a lowered node gives bit-identical results."""
from ...backend import kernels, piecewise
from ...backend.blas import matmul as gemm
from ...backend.low_precision import is_low_precision
from ..ir import Value

# elementwise primitives -> the ufunc their impl applies (relu is maximum(x, 0); comparisons give bool)
UFUNCS = {
    "add": "add", "sub": "subtract", "mul": "multiply", "div": "true_divide", "neg": "negative", "exp": "exp",
    "log": "log", "sqrt": "sqrt", "sin": "sin", "cos": "cos", "tanh": "tanh", "abs": "absolute", "square": "square",
    "maximum": "maximum", "minimum": "minimum", "relu": "maximum", "gt": "greater", "lt": "less",
    "ge": "greater_equal", "le": "less_equal", "eq": "equal", "ne": "not_equal",
}
# elementwise primitives whose kernel takes an attribute, and that attribute's name (their impl calls the kernel)
PIECEWISE = {"leaky_relu": (piecewise.leaky_relu, "negative_slope"),
             "leaky_relu_backward": (piecewise.leaky_relu_backward, "negative_slope"),
             "elu": (piecewise.elu, "alpha"), "elu_backward": (piecewise.elu_backward, "alpha")}
_COMPARISONS = {"gt", "lt", "ge", "le", "eq", "ne"}
_SCALARS = (bool, int, float)


def is_elementwise(node):
    """A node the table can lower elementwise: every operand a Value of the output's dtype (inputs of a
    comparison: of one dtype) or a Python scalar, so the ufunc sees exactly what the impl sees. Not on 16-bit
    floats: their impls compute in float32 and round (low_precision.py), faster than numpy's float16 loops and
    with the eager bits (numpy's float16 maximum keeps a ReLU's -0.0)."""
    name = node.kind == "prim" and node.op.name
    if name not in UFUNCS and name not in PIECEWISE and name != "cast" or len(node.outputs) != 1:
        return False
    out = node.outputs[0]
    values = [x for x in node.inputs if isinstance(x, Value)]
    if is_low_precision(out.dtype) or any(is_low_precision(v.dtype) for v in values):
        return False
    if node.op.name == "cast":
        return isinstance(node.inputs[0], Value)
    if not values or any(not isinstance(x, (Value,) + _SCALARS) for x in node.inputs):
        return False
    want = values[0].dtype if node.op.name in _COMPARISONS else out.dtype
    return all(v.dtype == want for v in values)


def elementwise_step(xp, node):
    """fn(out, *operands) -> out: the node's op written into `out` (operands as the node lists them)."""
    if node.op.name == "cast":
        dtype = node.outputs[0].dtype
        return lambda out, x: x.astype(dtype) if out is None else _copy(xp, out, x)
    if node.op.name in PIECEWISE:
        kernel, attr = PIECEWISE[node.op.name]
        value = node.attrs[attr]
        return lambda out, *xs: kernel(xp, *xs, value, out=out)
    ufunc = getattr(xp, UFUNCS[node.op.name])
    if node.op.name == "relu":
        return lambda out, x: kernels.relu(xp, x, out)
    return lambda out, *xs: ufunc(*xs, out=out)


def _copy(xp, out, x):
    xp.copyto(out, x, casting="unsafe")  # astype's conversion, into the buffer
    return out


def lowering(xp, node):
    """fn(out, *inputs) writing node's result into `out`, or None when the node has no such lowering."""
    if node.kind != "prim" or len(node.outputs) != 1:
        return None
    if is_elementwise(node):
        return elementwise_step(xp, node)
    make = _OTHERS.get(node.op.name)
    if make is None or is_low_precision(node.outputs[0].dtype):  # 16-bit impls run in float32 (low_precision.py)
        return None
    return make(xp, node)


def _linear(xp, node):
    x, w = node.inputs[:2]
    if not (isinstance(x, Value) and x.ndim == 2 and len(node.inputs) in (2, 3)):
        return None
    if len(node.inputs) == 2:
        return lambda out, x, w: gemm(xp, x, w.T, out)

    def run(out, x, w, b):
        gemm(xp, x, w.T, out)
        out += b  # the impl's `out += b`
        return out

    return run


def _matmul(xp, node):
    a, b = node.inputs
    if a.ndim == 2 and b.ndim == 2:  # the impl's path for matrices is one xp.matmul
        return lambda out, a, b: gemm(xp, a, b, out)
    return None


def _sum(xp, node):
    dims, keepdim = node.attrs["dims"], node.attrs["keepdim"]
    return lambda out, x: xp.sum(x, axis=dims, keepdims=keepdim, dtype=x.dtype, out=out)


_OTHERS = {"linear": _linear, "matmul": _matmul, "sum": _sum}
