"""The autocast op policy: one table, by op name, of what `eagerlab.autocast` does to each op's floating operands.

PyTorch's lists (aten/src/ATen/autocast_mode.cpp), per device type:
- "lower": run in the autocast dtype (float16 / bfloat16): GEMM-class ops, whose float32 accumulators keep them
  accurate while the low type halves their memory traffic;
- "float32": run in float32: ops whose range or accumulation suffers in 16 bits (losses; on CUDA also softmax,
  exp/log/pow, norms, sum/cumsum/prod);
- "promote": ops of several tensors run in the widest floating type among them;
- "as_is": a PyTorch op not in any list (run in its inputs' types) that eagerlab builds from ops of the lists: the
  autocast is lifted while it runs, so `mv` of float32 tensors stays float32 on the CPU, as in PyTorch.
Every other op runs in its inputs' types. float64 tensors and tensors on another device type are never cast.

Where the rule applies: a public op named here asks the thread's interpreter (`Interpreter.call_op`) at its entry,
so composite ops (addmm, mse_loss) are cast once at their boundary as PyTorch's single kernels are; the GEMM
primitives in PRIMITIVES are also cast at `bind`, wherever they are reached (as PyTorch's own decompositions, e.g.
einsum and tensordot, reach its GEMMs). Backward ops are never cast: gradients flow in the forward's dtypes.
"""
_LOWER = frozenset({
    "matmul", "mm", "bmm", "linear", "addmm", "baddbmm", "einsum", "conv1d", "conv2d", "conv_transpose1d",
    "conv_transpose2d", "scaled_dot_product_attention",
})
_LOSSES = frozenset({
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "nll_loss", "cross_entropy", "mse_loss", "l1_loss",
    "smooth_l1_loss", "huber_loss", "kl_div", "cosine_embedding_loss",
})
POLICY = {
    "cpu": {
        **dict.fromkeys(_LOWER, "lower"),
        **dict.fromkeys(_LOSSES | {"prod"}, "float32"),
        **dict.fromkeys(("cat", "stack"), "promote"),
        **dict.fromkeys(("mv", "dot"), "as_is"),
    },
    "cuda": {
        **dict.fromkeys(_LOWER | {"mv"}, "lower"),
        **dict.fromkeys(_LOSSES | {
            "exp", "expm1", "log", "log2", "log1p", "reciprocal", "rsqrt", "tan", "pow", "softplus", "layer_norm",
            "group_norm", "norm", "cosine_similarity", "logsumexp", "prod", "softmax", "log_softmax", "cumprod",
            "cumsum", "sum"}, "float32"),
        **dict.fromkeys(("atan2", "dot", "tensordot", "scatter_add", "index_put"), "promote"),
    },
}
# "pad" runs in float32 on the CPU for the modes PyTorch lists (reflection_pad, replication_pad), else as is
CONDITIONAL = {("cpu", "pad"): ("mode", 2, frozenset({"reflect", "replicate"}), "float32")}  # (argument, position)

# the GEMM primitives, cast at bind wherever they are reached
PRIMITIVES = frozenset({"matmul", "linear", "conv2d", "conv_transpose2d", "einsum"})

# the public ops whose entry asks the interpreter (a wrapper is put around them when they are registered)
PUBLIC = frozenset(name for table in POLICY.values() for name in table) | {name for _, name in CONDITIONAL}


def rule(device_type, name, args=(), kwargs=None):
    """The policy of op `name` called with (args, kwargs) on `device_type`: "lower", "float32", "promote",
    "as_is" or None (run as is)."""
    found = POLICY.get(device_type, {}).get(name)
    if found is None and (device_type, name) in CONDITIONAL:
        attr, position, values, found_if = CONDITIONAL[device_type, name]
        value = kwargs.get(attr) if kwargs and attr in kwargs else args[position] if len(args) > position else None
        if value in values:
            return found_if
    return found
