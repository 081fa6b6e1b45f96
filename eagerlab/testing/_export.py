"""check_exported: an op's sample, exported to a file and loaded back, computes what the op computes eagerly."""
from ..autograd import no_grad
from ..graph.export import export, load_exported
from ._compare import assert_close
from ._opinfo import _resolve, tensor_call, to_tensors


def check_exported(op, sample, path):
    """Export a function calling the op with the sample's tensors as its inputs (the other arguments fixed) to
    `path`, load it back as a new object and check that it returns the eager result: the same structure, shapes,
    dtypes and values (to 1e-12)."""
    info, s = _resolve(op, sample)
    fn, inputs = tensor_call(info, *to_tensors(s))
    with no_grad():  # export traces under no_grad: compare with the same mode
        want = fn(*inputs)
    export(fn, tuple(inputs), path)
    loaded = load_exported(path)
    got = loaded(*tensor_call(info, *to_tensors(s))[1])  # fresh tensors holding the same values
    assert_close(got, want, rtol=1e-12, atol=1e-12, equal_nan=True, msg=f"{info.name} exported vs eager on {s}")
