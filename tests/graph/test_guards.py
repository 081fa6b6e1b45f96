"""When a compiled function may reuse a trace: guards on what the trace depends on beyond the tensor arguments'
shapes (object arguments, parameters replaced or resized after compiling) make it retrace instead of computing with
stale assumptions."""
import gc

import numpy as np
import pytest

import eagerlab
import eagerlab.nn as nn


@pytest.mark.filterwarnings("ignore:eagerlab.function 'f' has been traced")
def test_a_new_object_argument_never_reuses_the_graph_of_a_dead_one():
    # objects are keyed by id: a dead object's id, reused by a new one, must not select the old trace
    class Config:
        def __init__(self, scale):
            self.scale = scale

    @eagerlab.function
    def f(cfg, x):
        return x * cfg.scale

    x = eagerlab.ones(2)
    stale = 0
    for i in range(20):
        cfg = Config(float(i))
        stale += f(cfg, x).numpy()[0] != float(i)
        del cfg
        gc.collect()
    assert stale == 0


def test_replacing_a_parameter_after_compiling_is_seen():
    m = nn.Linear(2, 1)
    f = eagerlab.function(lambda x: m(x))
    x = eagerlab.ones(1, 2)
    with eagerlab.no_grad():
        f(x)
        m.weight = nn.Parameter(eagerlab.zeros(1, 2))
        m.bias = nn.Parameter(eagerlab.zeros(1))
        assert f(x).numpy()[0, 0] == 0.0


def test_a_captured_tensor_resized_after_compiling_retraces():
    m = nn.Linear(4, 3)
    f = eagerlab.function(lambda x: (m(x) * 2).sum(0))
    x = eagerlab.randn(2, 4)
    with eagerlab.no_grad():
        f(x)
        m.weight.data = eagerlab.randn(5, 4)
        m.bias.data = eagerlab.randn(5)
        np.testing.assert_allclose(f(x).numpy(), (m(x) * 2).sum(0).numpy(), rtol=1e-6)
