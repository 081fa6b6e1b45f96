"""Activation functions (more arrive with the nn layers): relu, sigmoid, tanh."""
import numpy as np

from ._registry import Sample, apply_inplace, bind, method, op, primitive
from . import _infer as I

relu_p = primitive("relu", I.same, save_outputs=(0,))(lambda xp, x: xp.maximum(x, 0))


@relu_p.defvjp
def _(ctx, g):
    (out,) = ctx.saved
    return g * (out > 0),


def _away_from_zero(rng):
    def draw(shape):
        x = rng.standard_normal(shape)
        return x + np.sign(x) * 0.1  # keep finite differences off the kink at 0

    return [Sample(draw((3, 4))), Sample(draw(())), Sample(draw((4, 3)).T, note="non-contiguous"),
            Sample(draw((0, 2)), note="empty")]


@op(methods=("relu",), samples=_away_from_zero, torch="relu", ref=lambda x: np.maximum(x, 0))
def relu(input):
    return bind(relu_p, input)


method("relu_")(lambda self: apply_inplace(relu_p, self))

sigmoid_p = primitive("sigmoid", I.same, save_outputs=(0,))(
    lambda xp, x: xp.exp(-xp.logaddexp(x.dtype.type(0), -x)))  # 1 / (1 + e^-x) without overflow


@sigmoid_p.defvjp
def _(ctx, g):
    (out,) = ctx.saved
    return g * out * (1 - out),


@op(methods=("sigmoid",), samples=_away_from_zero, torch="sigmoid", ref=lambda x: 1 / (1 + np.exp(-x)))
def sigmoid(input):
    return bind(sigmoid_p, I.to_float("sigmoid", input))


tanh_p = primitive("tanh", I.same, save_outputs=(0,))(lambda xp, x: xp.tanh(x))


@tanh_p.defvjp
def _(ctx, g):
    (out,) = ctx.saved
    return g * (1 - out * out),


@op(methods=("tanh",), samples=_away_from_zero, torch="tanh", ref=np.tanh)
def tanh(input):
    return bind(tanh_p, I.to_float("tanh", input))
