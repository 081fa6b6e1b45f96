"""Bad calls raise typed errors (subclasses of ValueError/TypeError/RuntimeError/IndexError) whose messages name
the op and the offending shapes, dtypes or devices."""
import numpy as np
import pytest

import eagerlab as el
from eagerlab._tensor import Tensor
from eagerlab.errors import AutogradError, DeviceError, DTypeError, ShapeError

def fake_cuda(*shape):
    return Tensor._make(np.ones(shape, np.float32), el.device("cuda:0"))


def stale_saved():
    x = el.ones(3, requires_grad=True)
    y = x.exp()
    y.mul_(2)
    y.sum().backward()


def inplace_leaf():
    el.ones(3, requires_grad=True).add_(1)


def backward_twice():
    y = (el.ones(2, requires_grad=True) * 2).sum()
    y.backward()
    y.backward()


CASES = [
    # (id, call, error type, fragments that must all appear in the message)
    ("add-broadcast", lambda: el.ones(2, 3) + el.ones(4), ShapeError, ["add", "(2, 3)", "(4,)"]),
    ("mul-broadcast", lambda: el.ones(2, 3) * el.ones(3, 2), ShapeError, ["mul", "(2, 3)", "(3, 2)"]),
    ("sub-broadcast", lambda: el.ones(5) - el.ones(4), ShapeError, ["sub", "(5,)", "(4,)"]),
    ("div-broadcast", lambda: el.ones(2, 2) / el.ones(3), ShapeError, ["div", "(2, 2)", "(3,)"]),
    ("pow-broadcast", lambda: el.ones(2) ** el.ones(3), ShapeError, ["pow", "(2,)", "(3,)"]),
    ("eq-broadcast", lambda: el.ones(2) == el.ones(3), ShapeError, ["eq", "(2,)", "(3,)"]),
    ("where-broadcast", lambda: el.where(el.ones(2).bool(), el.ones(3), el.ones(2)), ShapeError,
     ["where", "(2,)", "(3,)"]),
    ("matmul-inner", lambda: el.ones(2, 3) @ el.ones(4, 5), ShapeError, ["matmul", "(2, 3)", "(4, 5)"]),
    ("mm-rank", lambda: el.mm(el.ones(2, 3, 4), el.ones(4, 5)), ShapeError, ["mm", "(2, 3, 4)"]),
    ("reshape-size", lambda: el.ones(2, 3).reshape(4, 2), ShapeError, ["reshape", "(4, 2)", "(2, 3)"]),
    ("view-noncontig", lambda: el.ones(2, 3).T.view(6), ShapeError, ["view", "(3, 2)"]),
    ("expand-size", lambda: el.ones(2, 3).expand(4, 3), ShapeError, ["expand", "(4, 3)", "(2, 3)"]),
    ("permute-dims", lambda: el.ones(2, 3).permute(0, 1, 2), ShapeError, ["permute", "(2, 3)"]),
    ("sum-dim", lambda: el.ones(2, 3).sum(dim=2), IndexError, ["sum", "[-2, 1]", "2"]),
    ("transpose-dim", lambda: el.ones(2, 3).transpose(0, 5), IndexError, ["transpose", "5"]),
    ("squeeze-dim", lambda: el.ones(2, 3).unsqueeze(4), IndexError, ["unsqueeze", "4"]),
    ("index-range", lambda: el.ones(2, 3)[5], IndexError, ["5", "size 2"]),
    ("float-index", lambda: el.ones(3)[el.ones(2)], DTypeError, ["float32"]),
    ("int-requires-grad", lambda: el.tensor([1, 2], requires_grad=True), DTypeError, ["int64", "floating point"]),
    ("int-requires-grad-", lambda: el.arange(3).requires_grad_(), DTypeError, ["int64"]),
    ("bool-sub", lambda: el.ones(2).bool() - el.ones(2).bool(), DTypeError, ["sub", "bool"]),
    ("inplace-int-float", lambda: el.arange(3).add_(0.5), DTypeError, ["add_", "float32", "int64"]),
    ("device-mix", lambda: el.ones(3) + fake_cuda(3), DeviceError, ["add", "cpu", "cuda:0"]),
    ("device-mix-matmul", lambda: el.ones(2, 3) @ fake_cuda(3, 2), DeviceError, ["matmul", "cpu", "cuda:0"]),
    ("device-unknown", lambda: el.ones(2).to("tpu"), DeviceError, ["tpu"]),
    ("stale-saved", stale_saved, AutogradError, ["inplace", "ExpBackward0", "version 1", "(3,)"]),
    ("inplace-leaf", inplace_leaf, AutogradError, ["leaf", "(3,)"]),
    ("backward-twice", backward_twice, AutogradError, ["second time"]),
    ("backward-nonscalar", lambda: (el.ones(3, requires_grad=True) * 2).backward(), AutogradError,
     ["scalar", "(3,)"]),
    ("item-many", lambda: el.ones(3).item(), ValueError, ["item", "(3,)"]),
    ("bool-ambiguous", lambda: bool(el.ones(3)), RuntimeError, ["ambiguous", "(3,)"]),
    ("numpy-requires-grad", lambda: (el.ones(2, requires_grad=True) * 2).numpy(), RuntimeError,
     ["numpy", "detach"]),
    ("reshape-two-inferred", lambda: el.ones(6).reshape(-1, -1), ShapeError, ["reshape", "(-1, -1)"]),
    ("matmul-0d", lambda: el.matmul(el.tensor(1.0), el.ones(2)), ShapeError, ["matmul", "()", "(2,)"]),
    ("log_softmax-dim", lambda: el.ones(2, 3).log_softmax(dim=2), IndexError, ["log_softmax", "2"]),
    ("argmax-dim", lambda: el.ones(2, 3).argmax(dim=-3), IndexError, ["argmax", "-3"]),
    ("argmax-empty", lambda: el.ones(0).argmax(), ShapeError, ["argmax", "(0,)"]),
    ("mean-int", lambda: el.arange(3).mean(), DTypeError, ["mean", "int64"]),
    ("setitem-shape", lambda: el.zeros(2, 3).__setitem__(0, el.ones(4)), ShapeError, ["setitem", "(4,)"]),
    ("where-cond-dtype", lambda: el.where(el.ones(2), el.ones(2), el.ones(2)), DTypeError, ["where", "float32"]),
    ("default-dtype-int", lambda: el.set_default_dtype(el.int64), TypeError, ["set_default_dtype", "int64"]),
    ("generator-seed", lambda: el.Generator().manual_seed(-1), ValueError, ["manual_seed", "-1"]),
    ("broadcast_to-rank", lambda: el.ones(2, 3).broadcast_to((3,)), ShapeError, ["expand", "(2, 3)"]),
    ("cat-shapes", lambda: el.cat([el.ones(2, 3), el.ones(2, 4)], dim=0), ShapeError, ["cat", "(2, 3)", "(2, 4)"]),
    ("stack-shapes", lambda: el.stack([el.ones(2, 3), el.ones(3, 2)]), ShapeError, ["stack", "(2, 3)", "(3, 2)"]),
    ("bitwise-float", lambda: el.ones(2) & el.ones(2), DTypeError, ["bitwise_and", "float32"]),
    ("cross_entropy-batch", lambda: el.cross_entropy(el.ones(4, 10), el.zeros(3, dtype=el.int64)), ShapeError,
     ["cross_entropy", "(4, 10)", "(3,)"]),
    ("cross_entropy-class", lambda: el.cross_entropy(el.ones(2, 3), el.tensor([0, 7])), IndexError,
     ["cross_entropy", "7", "3"]),
    ("cross_entropy-target-dtype", lambda: el.cross_entropy(el.ones(2, 3), el.ones(2)), ShapeError,
     ["cross_entropy", "(2, 3)", "(2,)"]),
    ("mse-shapes", lambda: el.mse_loss(el.ones(2, 3), el.ones(3, 2)), ShapeError, ["mse_loss", "(2, 3)", "(3, 2)"]),
    ("bmm-batch", lambda: el.bmm(el.ones(2, 3, 4), el.ones(3, 4, 5)), ShapeError, ["bmm", "(2, 3, 4)", "(3, 4, 5)"]),
    ("linear-features", lambda: el.linear(el.ones(32, 256), el.ones(10, 128)), ShapeError,
     ["linear", "(32, 256)", "(10, 128)"]),
    ("dropout-p", lambda: el.dropout(el.ones(3), p=1.5), ValueError, ["dropout", "1.5"]),
    ("gather-dtype", lambda: el.gather(el.ones(2, 3), 1, el.ones(2, 3)), DTypeError, ["gather", "float32"]),
    ("gather-rank", lambda: el.gather(el.ones(2, 3), 1, el.zeros(2, dtype=el.int64)), ShapeError,
     ["gather", "(2,)", "(2, 3)"]),
    ("index_select-dtype", lambda: el.index_select(el.ones(2, 3), 0, el.ones(2)), DTypeError,
     ["index_select", "float32"]),
    ("masked_fill-mask", lambda: el.ones(2, 3).masked_fill(el.ones(2, 3), 0.0), DTypeError,
     ["masked_fill", "float32"]),
    ("split-sections", lambda: el.ones(5).split([2, 2]), ShapeError, ["split", "[2, 2]", "(5,)"]),
    ("narrow-range", lambda: el.ones(4, 3).narrow(0, 3, 2), ShapeError, ["narrow", "(4, 3)"]),
    ("tril-rank", lambda: el.tril(el.ones(3)), ShapeError, ["tril", "(3,)"]),
    ("dtype-unknown", lambda: el.ones(2, dtype="complex64"), TypeError, ["complex64"]),
]


@pytest.mark.parametrize("call,error,fragments", [pytest.param(c, e, f, id=i) for i, c, e, f in CASES])
def test_bad_call_raises_typed_error_naming_op_and_operands(call, error, fragments):
    assert issubclass(error, (ValueError, TypeError, RuntimeError, IndexError))
    with pytest.raises(error) as info:
        call()
    msg = str(info.value)
    for frag in fragments:
        assert frag in msg, f"{frag!r} not in {msg!r}"


def test_there_are_at_least_40_cases():
    assert len(CASES) >= 40
