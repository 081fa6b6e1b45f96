"""cond and while_loop, the public functions: tensor-dependent control flow as functions (TensorFlow's tf.cond /
tf.while_loop). While a function is traced they hand over to traced_control_flow.py.

Called eagerly they run the chosen branch / the loop in Python, so autograd records exactly the ops that ran.
AutoGraph rewrites `if`/`while` on tensors into these calls, which is why their rules are the graph's rules even
eagerly: the predicate is one boolean value, and the loop variables keep their structure, dtypes and shapes from
one iteration to the next."""
from .._tensor import Tensor
from .trace import active_tracer
from ..errors import DTypeError, ShapeError, fmt_shape


def _predicate(op_name, pred):
    """A Python bool from a bool/number or a one-element tensor; other tensors are refused (ambiguous)."""
    if isinstance(pred, Tensor):
        if pred.numel() != 1:
            raise ShapeError(f"{op_name}: the predicate must be a single value (a 0-d bool tensor), got a tensor of "
                             f"shape {fmt_shape(pred.shape)}; reduce it first, e.g. with .any() or .all()")
        return bool(pred.item())
    return bool(pred)


def cond(pred, true_fn, false_fn):
    """true_fn() if pred else false_fn(); `pred` a Python bool or a one-element tensor."""
    if not callable(true_fn) or not callable(false_fn):
        raise TypeError(f"cond: true_fn and false_fn must be callables taking no arguments, got "
                        f"{type(true_fn).__name__} and {type(false_fn).__name__}")
    tracer = active_tracer()
    if tracer is not None and isinstance(pred, Tensor):
        from .traced_control_flow import traced_cond

        return traced_cond(tracer, pred, true_fn, false_fn)
    return true_fn() if _predicate("cond", pred) else false_fn()


def _signature(value):
    if isinstance(value, Tensor):
        return ("tensor", tuple(value.shape), value.dtype)
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(_signature(v) for v in value))
    return ("python", type(value).__name__)


def _check_same(before, after):
    """Loop variables keep their structure, and tensors their dtype and shape, across iterations."""
    if len(before) != len(after):
        raise ShapeError(f"while_loop: body_fn returned {len(after)} loop variables, expected {len(before)}")
    for i, (b, a) in enumerate(zip(before, after)):
        sb, sa = _signature(b), _signature(a)
        if sb == sa:
            continue
        if sb[0] == sa[0] == "tensor" and sb[2] is not sa[2]:
            raise DTypeError(f"while_loop: loop variable {i} changed dtype from {sb[2].name} to {sa[2].name} in "
                             "one iteration; cast it inside body_fn so it keeps one dtype")
        if sb[0] == sa[0] == "tensor":
            raise ShapeError(f"while_loop: loop variable {i} changed shape from {fmt_shape(sb[1])} to "
                             f"{fmt_shape(sa[1])} in one iteration; loop variables must keep their shape")
        raise TypeError(f"while_loop: loop variable {i} changed from {sb} to {sa} in one iteration")


def while_loop(cond_fn, body_fn, loop_vars, maximum_iterations=None):
    """Repeat `loop_vars = body_fn(*loop_vars)` while `cond_fn(*loop_vars)`; returns the final loop_vars (a
    tuple, or the single value when one variable was given as a non-sequence)."""
    single = not isinstance(loop_vars, (tuple, list))
    values = (loop_vars,) if single else tuple(loop_vars)
    if maximum_iterations is not None and maximum_iterations < 0:
        raise ValueError(f"while_loop: maximum_iterations must be non-negative, got {maximum_iterations}")
    tracer = active_tracer()
    if tracer is not None:
        from .traced_control_flow import traced_while

        return traced_while(tracer, cond_fn, body_fn, loop_vars if single else values, single,
                            maximum_iterations)
    steps = 0
    while (maximum_iterations is None or steps < maximum_iterations) and _predicate("while_loop",
                                                                                     cond_fn(*values)):
        out = body_fn(*values)
        out = (out,) if single or not isinstance(out, (tuple, list)) else tuple(out)
        _check_same(values, out)
        values = out
        steps += 1
    return values[0] if single else values
