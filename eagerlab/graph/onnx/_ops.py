"""One converter per primitive: `convert(b, node)` emits the ONNX nodes computing `node`'s outputs (named
b.outs(node)) with the _Builder `b`. Composites (gelu, mean, cross-entropy...) reach here as their primitives."""
import numpy as np

from ...errors import UnsupportedError
from ..ir import Value

CONVERTERS = {}


def converts(*names):
    def register(fn):
        for n in names:
            CONVERTERS[n] = fn
        return fn

    return register


def _simple(onnx_op):
    """Ops whose operands map one to one. A Python number operand becomes a constant of the tensor operands' dtype
    (it is weakly typed: they already have the dtype the op computes in)."""

    def convert(b, node):
        dtype = next(x.dtype for x in reversed(node.inputs) if isinstance(x, Value))  # where: not the condition's
        b.emit(onnx_op, [b.operand(x, dtype) for x in node.inputs], b.outs(node))

    return convert


for _name, _op in {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "pow": "Pow", "relu": "Relu",
                   "sigmoid": "Sigmoid", "tanh": "Tanh", "erf": "Erf", "exp": "Exp", "log": "Log", "sqrt": "Sqrt",
                   "neg": "Neg", "abs": "Abs", "clone": "Identity", "matmul": "MatMul", "where": "Where",
                   "gt": "Greater", "lt": "Less", "ge": "GreaterOrEqual", "le": "LessOrEqual", "eq": "Equal"}.items():
    CONVERTERS[_name] = _simple(_op)


@converts("leaky_relu", "elu")
def _piecewise(b, node):
    """ONNX's LeakyRelu (x < 0 ? alpha x : x: the same values) and Elu, with the slope or alpha as `alpha`."""
    attr = "negative_slope" if node.op.name == "leaky_relu" else "alpha"
    b.emit("LeakyRelu" if node.op.name == "leaky_relu" else "Elu", [b.name(node.inputs[0])], b.outs(node),
           alpha=float(node.attrs[attr]))


@converts("reshape")
def _reshape(b, node):
    (x,), (out,) = node.inputs, node.outputs
    # 0 copies the input's first dim and -1 infers it, so a batch size other than the example's still works
    first = [] if not out.shape else [0 if x.shape and out.shape[0] == x.shape[0] else -1]
    shape = first + list(out.shape[1:])
    b.emit("Reshape", [b.name(x), b.const(np.array(shape, np.int64), "shape")], b.outs(node))


@converts("linear")
def _linear(b, node):
    x, w, *bias = node.inputs
    if x.ndim == 2:
        b.emit("Gemm", [b.name(x), b.name(w)] + [b.name(v) for v in bias], b.outs(node), transB=1)
        return
    wt = b.emit("Transpose", [b.name(w)], perm=[1, 0])
    if not bias:
        b.emit("MatMul", [b.name(x), wt], b.outs(node))
        return
    b.emit("Add", [b.emit("MatMul", [b.name(x), wt]), b.name(bias[0])], b.outs(node))


@converts("softmax", "log_softmax")
def _softmax(b, node):
    b.emit("Softmax" if node.op.name == "softmax" else "LogSoftmax", [b.name(node.inputs[0])], b.outs(node),
           axis=node.attrs["dim"])


@converts("gelu")
def _gelu(b, node):
    """x * Phi(x) with Phi = 0.5 (1 + erf(x / sqrt 2)), both outputs (Phi is the second; opset 17 has no Gelu)."""
    (x,), (out, cdf) = node.inputs, b.outs(node)
    erf = b.emit("Erf", [b.emit("Mul", [b.name(x), b.operand(0.7071067811865476, x.dtype)])])
    b.emit("Mul", [b.emit("Add", [erf, b.operand(1.0, x.dtype)]), b.operand(0.5, x.dtype)], [cdf])
    b.emit("Mul", [b.name(x), cdf], [out])


@converts("conv2d")
def _conv(b, node):
    a = node.attrs
    (top, bottom), (left, right) = a["padding"]
    b.emit("Conv", [b.name(v) for v in node.inputs], b.outs(node), kernel_shape=list(node.inputs[1].shape[2:]),
           strides=list(a["stride"]), pads=[top, left, bottom, right], dilations=list(a["dilation"]),
           group=a["groups"])


@converts("max_pool2d")
def _max_pool(b, node):
    a = node.attrs
    b.emit("MaxPool", [b.name(node.inputs[0])], b.outs(node), kernel_shape=list(a["kernel"]),
           strides=list(a["stride"]), pads=list(a["padding"]) * 2, dilations=list(a["dilation"]),
           ceil_mode=int(a["ceil_mode"]))


@converts("avg_pool2d")
def _avg_pool(b, node):
    a = node.attrs
    if a["divisor_override"] is not None:
        raise UnsupportedError(f"onnx.export: avg_pool2d with divisor_override={a['divisor_override']} has no "
                               "ONNX equivalent")
    b.emit("AveragePool", [b.name(node.inputs[0])], b.outs(node), kernel_shape=list(a["kernel"]),
           strides=list(a["stride"]), pads=list(a["padding"]) * 2, ceil_mode=int(a["ceil_mode"]),
           count_include_pad=int(a["count_include_pad"]))


def _affine_params(b, node, params, shape, dtype):
    """(scale, bias) names for an optional weight and bias (given by attrs["affine"]): ones / zeros if absent."""
    has_w, has_b = node.attrs["affine"]
    params = list(params)
    w = b.name(params.pop(0)) if has_w else b.const(np.ones(shape, dtype), "ones")
    bias = b.name(params.pop(0)) if has_b else b.const(np.zeros(shape, dtype), "zeros")
    return w, bias


@converts("normalize_by_stats")
def _batch_norm(b, node):
    x, mean, var, *params = node.inputs
    w, bias = _affine_params(b, node, params, (x.shape[1],), x.dtype)
    b.emit("BatchNormalization", [b.name(x), w, bias, b.name(mean), b.name(var)], b.outs(node),
           epsilon=node.attrs["eps"])


@converts("normalize")
def _layer_norm(b, node):
    x, *params = node.inputs
    a = node.attrs
    first = x.ndim - len(a["axes"])
    if tuple(a["axes"]) != tuple(range(first, x.ndim)) or tuple(a["wshape"]) != tuple(x.shape[first:]) or any(
            b.used(v) for v in node.outputs[1:]):
        raise UnsupportedError(f"onnx.export: normalize over axes {a['axes']} of a {x.ndim}-d input with weight "
                               f"shape {a['wshape']} (group_norm, instance_norm or batch statistics in training "
                               "mode) has no ONNX mapping here; only layer_norm and eval-mode batch_norm do")
    w, bias = _affine_params(b, node, params, x.shape[first:], x.dtype)
    b.emit("LayerNormalization", [b.name(x), w, bias], b.outs(node)[:1], axis=first, epsilon=a["eps"])


@converts("permute")
def _permute(b, node):
    b.emit("Transpose", [b.name(node.inputs[0])], b.outs(node), perm=list(node.attrs["dims"]))


@converts("cat")
def _cat(b, node):
    b.emit("Concat", [b.name(v) for v in node.inputs], b.outs(node), axis=node.attrs["dim"])


@converts("split")
def _split(b, node):
    bounds = node.attrs["bounds"]
    sizes = b.const(np.diff(np.array(bounds, np.int64)), "split")
    b.emit("Split", [b.name(node.inputs[0]), sizes], b.outs(node), axis=node.attrs["dim"])


@converts("unsqueeze")
def _unsqueeze(b, node):
    axes = b.const(np.array([node.attrs["dim"]], np.int64), "axes")
    b.emit("Unsqueeze", [b.name(node.inputs[0]), axes], b.outs(node))


@converts("one_hot")
def _one_hot(b, node):
    # eagerlab's kernel, x[..., None] == arange(n): ONNX's OneHot would wrap negative classes around instead.
    # (ONNX has no error to raise: out-of-range classes give zero rows there, where eagerlab raises.)
    x, n = b.name(node.inputs[0]), node.attrs["num_classes"]
    column = b.emit("Unsqueeze", [x, b.const(np.array([-1], np.int64), "axes")])
    hits = b.emit("Equal", [column, b.const(np.arange(n, dtype=np.int64), "classes")])
    b.emit("Cast", [hits], b.outs(node), to=b.elem_type(np.int64))


@converts("embedding")
def _embedding(b, node):
    weight, index = node.inputs
    b.emit("Gather", [b.name(weight), b.name(index)], b.outs(node), axis=0)


@converts("sum", "amax", "amin")
def _reduce(b, node):
    dims = list(node.attrs["dims"])
    x = b.name(node.inputs[0])
    if not dims:  # numpy reduces over no axis; ONNX would reduce over all of them
        b.emit("Identity", [x], b.outs(node))
        return
    onnx_op = {"sum": "ReduceSum", "amax": "ReduceMax", "amin": "ReduceMin"}[node.op.name]
    _emit_reduce(b, onnx_op, x, dims, node.attrs["keepdim"], b.outs(node))


def _emit_reduce(b, onnx_op, x, dims, keepdim, outputs=None):
    keep = int(keepdim)
    if onnx_op == "ReduceSum" or b.opset >= 18:  # axes became an input (ReduceSum in opset 13, the rest in 18)
        return b.emit(onnx_op, [x, b.const(np.array(dims, np.int64), "axes")], outputs, keepdims=keep)
    return b.emit(onnx_op, [x], outputs, axes=dims, keepdims=keep)


@converts("all", "any")
def _all_any(b, node):
    """ONNX has no boolean reduction: the min (all) or max (any) of the truth values as int32, back to bool."""
    dims, to_bool = list(node.attrs["dims"]), b.elem_type(np.bool_)
    truth = b.emit("Cast", [b.name(node.inputs[0])], None if dims else b.outs(node), to=to_bool)
    if not dims:  # numpy reduces over no axis: only the truth values
        return
    ints = b.emit("Cast", [truth], to=b.elem_type(np.int32))
    reduced = _emit_reduce(b, "ReduceMin" if node.op.name == "all" else "ReduceMax", ints, dims,
                           node.attrs["keepdim"])
    b.emit("Cast", [reduced], b.outs(node), to=to_bool)


@converts("cast")
def _cast(b, node):
    b.emit("Cast", [b.name(node.inputs[0])], b.outs(node), to=b.elem_type(node.attrs["dtype"].np))


@converts("unbind")
def _unbind(b, node):
    x, dim = b.name(node.inputs[0]), node.attrs["dim"]
    for i, (v, out) in enumerate(zip(node.outputs, b.outs(node))):
        if b.used(v):  # a scalar index: Gather drops the axis, as unbind does
            b.emit("Gather", [x, b.const(np.array(i, np.int64), "index")], [out], axis=dim)


@converts("stack")
def _stack(b, node):
    axes = b.const(np.array([node.attrs["dim"]], np.int64), "axes")
    pieces = [b.emit("Unsqueeze", [b.name(v), axes]) for v in node.inputs]
    b.emit("Concat", pieces, b.outs(node), axis=node.attrs["dim"])


_INT64_MAX, _INT64_MIN = np.iinfo(np.int64).max, np.iinfo(np.int64).min


@converts("getitem")
def _getitem(b, node):
    """Basic indexing (ints, slices, None, Ellipsis): one Slice over the sliced dims (an int i as i:i+1), then
    Squeeze for the ints and Unsqueeze for the Nones. Full slices are left out, so that they take any size."""
    x = node.inputs[0]
    index = list(node.attrs["index"])
    if Ellipsis in index:
        at = index.index(Ellipsis)
        index[at:at + 1] = [slice(None)] * (x.ndim - sum(item is not None for item in index if item is not Ellipsis))
    index += [slice(None)] * (x.ndim - sum(item is not None for item in index))
    starts, ends, steps, axes, dropped, new_axes, dim, out_dim = [], [], [], [], [], [], 0, 0
    for item in index:
        if item is None:
            new_axes.append(out_dim)
            out_dim += 1
            continue
        if isinstance(item, int):  # (a negative i stays relative to the end: -1 is the slice -1:, to the end)
            end = _INT64_MAX if item == -1 else item + 1
            starts.append(item), ends.append(end), steps.append(1), axes.append(dim), dropped.append(dim)
        elif item != slice(None):
            step = 1 if item.step is None else item.step
            starts.append(item.start if item.start is not None else 0 if step > 0 else _INT64_MAX)
            ends.append(item.stop if item.stop is not None else _INT64_MAX if step > 0 else _INT64_MIN)
            steps.append(step), axes.append(dim)
            out_dim += 1
        else:
            out_dim += 1
        dim += 1
    out = b.name(x)
    if axes:
        out = b.emit("Slice", [out] + [b.const(np.array(v, np.int64), hint) for v, hint in
                                       ((starts, "starts"), (ends, "ends"), (axes, "axes"), (steps, "steps"))])
    if dropped:
        out = b.emit("Squeeze", [out, b.const(np.array(dropped, np.int64), "axes")])
    if new_axes:
        out = b.emit("Unsqueeze", [out, b.const(np.array(new_axes, np.int64), "axes")])
    b.emit("Identity", [out], b.outs(node))
