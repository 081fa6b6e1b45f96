"""The checks every Keras layer passes: shape, Keras's parameter count, config round trip, one training step."""
import json

import numpy as np

import eagerlab as el


def check_layer(layer, x, output_shape, params, trainable_params=None):
    """Call `layer` on `x` and check it against what Keras gives for the same configuration; returns the output."""
    out = layer(x)
    assert tuple(out.shape) == output_shape
    in_shape = [_batchless(v) for v in x] if isinstance(x, list) else _batchless(x)
    assert tuple(layer.compute_output_shape(in_shape)) == (None,) + output_shape[1:]
    assert layer.count_params() == params
    if trainable_params is not None:
        assert sum(int(np.prod(w.shape)) for w in layer.trainable_weights) == trainable_params
    _check_round_trip(layer, x, out)
    _check_training_step(layer, x)
    return out


def _batchless(x):
    return (None,) + np.shape(x)[1:]


def _check_round_trip(layer, x, out):
    config = json.loads(json.dumps(layer.get_config()))
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    clone(x)
    clone.set_weights(layer.get_weights())
    layer.eval()
    clone.eval()
    np.testing.assert_array_equal(clone(x).detach().numpy(), layer(x).detach().numpy())
    layer.train()


def _check_training_step(layer, x):
    weights = layer.trainable_weights
    if not weights:
        return
    optimizer = el.optim.SGD(weights, lr=0.01)

    def loss():
        el.manual_seed(0)  # the same dropout masks before and after the step
        return (layer(x) ** 2).mean() + sum(layer.losses)

    before = loss()
    before.backward()
    for w in weights:
        assert w.grad is not None and np.isfinite(w.grad.numpy()).all()
    optimizer.step()
    with el.no_grad():
        assert loss().item() < before.item()
