"""The graph IR itself: copies are independent of their original."""
import numpy as np

import eagerlab
from eagerlab.graph.ir import Value
from eagerlab.graph.passes import fuse_elementwise


def _graph():
    w = eagerlab.tensor(np.ones((3, 3), np.float32))

    def f(x):
        h = ((x @ w) * 2 + 1).relu()
        return eagerlab.cond(h.sum() > 0, lambda: h.exp(), lambda: -h), {"w": w}

    return eagerlab.function(f).get_concrete_function(eagerlab.ones(2, 3)).graph


def _parts(graph):
    nodes = [*graph.captures, *graph.nodes()]
    values = [v for n in nodes for v in n.outputs] + list(graph.inputs)
    return nodes, values


def test_copy_prints_the_same_and_shares_no_node_or_value():
    graph = _graph()
    copy = graph.copy()
    assert str(copy) == str(graph)
    nodes, values = _parts(graph)
    copy_nodes, copy_values = _parts(copy)
    assert not {id(n) for n in nodes} & {id(n) for n in copy_nodes}
    assert not {id(v) for v in values} & {id(v) for v in copy_values}
    assert all(a.op is b.op for a, b in zip(nodes, copy_nodes))  # primitives, captured tensors, constants shared
    assert all(v.node in copy_nodes for v in copy_values if v.node.kind != "input")
    assert all(isinstance(x, Value) and x in copy_values for x in copy.outputs)


def test_changing_a_copy_leaves_the_original_as_it_was():
    graph = _graph()
    before = str(graph)
    fused = fuse_elementwise(graph.copy())
    assert any(n.name.startswith("fused[") for n in fused.nodes()) and str(graph) == before


def test_map_static_rewrites_the_copy_only():
    graph = _graph()
    copy = graph.copy(map_static=lambda x: tuple(2 * s for s in x) if isinstance(x, tuple) else x)
    assert copy.inputs[0].shape == (4, 6) and graph.inputs[0].shape == (2, 3)
