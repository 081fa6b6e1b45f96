"""Placeholders for a return value not set yet, so a traced cond / while_loop can carry it (TensorFlow's approach).

A `return` inside a tensor-dependent if or loop becomes `do_return = True; retval_ = value`, and the graph must
carry retval_ from the start, before any return ran. What a placeholder must look like (structure, dtype, shape)
is learned by tracing the statement once into a block that is then thrown away; the placeholder is zeros of that
kind. It is never returned: every path of a function whose return value is fillable ends in a return that
overwrites it, and the do_return flag carried beside it says whether one did."""
from ..._tensor import Tensor
from ...errors import UnsupportedError
from ...ops.creation import zeros
from ..pytree import flatten, unflatten
from ..trace import active_tracer
from .variables import Undefined


def pending(values):
    """Whether some value is a fillable return value that no return has set yet."""
    return any(isinstance(v, Undefined) and v.fillable for v in values)


def fill_returns(init, runs, where):
    """`init` (a statement's carried values) with each pending return value replaced by zeros of the kind the
    first of `runs` (functions returning the carried values after running one branch or one iteration) that sets
    it gives it. Only while tracing: eagerly the statement runs in Python and needs no placeholder."""
    missing = [i for i, v in enumerate(init) if isinstance(v, Undefined) and v.fillable]
    tracer = active_tracer()
    if not missing or tracer is None:
        return init
    init = list(init)
    for run in runs:
        _, state = tracer.trace_block(run)  # the block is dropped: only the values' kinds are wanted
        for i in [i for i in missing if not isinstance(state[i], Undefined)]:
            init[i] = _zeros_like(state[i], where)
            missing.remove(i)
        if not missing:
            break
    return tuple(init)


def _zeros_like(value, where):
    leaves, tree = flatten(value)
    return unflatten(tree, [_zero(x, where) for x in leaves])


def _zero(x, where):
    if isinstance(x, Tensor):
        return zeros(tuple(x.shape), dtype=x.dtype, device=x.device)
    if x is None or isinstance(x, (bool, int, float)):
        return x if x is None else type(x)()
    raise UnsupportedError(f"the function returns a {type(x).__name__} from inside the tensor-dependent statement at "
                           f"{where}: only tensors, numbers, None and tuples/lists/dicts of them can be returned "
                           "from a graph's control flow")
