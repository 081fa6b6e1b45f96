"""load_exported on files from strangers: a graph that would allocate more than the host can give is refused at
load, a loop that never ends is stopped, and a graph that passed every check but fails on its data raises a typed
error naming the op. Hostile files are made the way an attacker would: export a legitimate function, edit the
graph description, write the container back through eagerlab.save (so its own checks still pass)."""
import json
import time

import numpy as np
import pytest

import eagerlab
from eagerlab import errors
from eagerlab.errors import IndexOutOfRange, ResourceLimitError, SerializationError
from eagerlab.graph.export._limits import check_memory, default_max_bytes


def _exported(tmp_path, fn, inputs, name="m.elx"):
    """(path, container dict, graph JSON) of `fn` exported for `inputs`."""
    path = str(tmp_path / name)
    eagerlab.export(fn, inputs, path)
    obj = eagerlab.load(path)
    return path, obj, json.loads(obj["graph"])


def _rewrite(path, obj, graph):
    eagerlab.save({**obj, "graph": json.dumps(graph)}, path)


def _prims(block, op):
    """Every prim node running `op` in `block`, nested blocks included."""
    for node in block["nodes"]:
        if node.get("op") == op:
            yield node
        for b in node.get("blocks", ()):
            yield from _prims(b, op)


def count_to(x, n):
    i, acc = eagerlab.while_loop(lambda i, a: i < n, lambda i, a: (i + 1, a + x), (eagerlab.tensor(0),
                                                                                 eagerlab.zeros_like(x)))
    return acc


# ---- loops ------------------------------------------------------------------------------------------------------
def test_a_loop_whose_condition_never_turns_false_is_stopped_by_the_iteration_limit(tmp_path):
    path, obj, graph = _exported(tmp_path, count_to, (eagerlab.ones(3), eagerlab.tensor(5)))
    (step,) = [n for n in _prims(graph["body"], "add") if n["inputs"][1] == {"int": 1}]
    step["inputs"][1] = {"int": 0}  # i never grows: `while i < n` forever
    _rewrite(path, obj, graph)
    f = eagerlab.load_exported(path)
    start = time.perf_counter()
    with pytest.raises(ResourceLimitError, match=r"while loop 0 .*limit of 100_000 loop iterations per call.*"
                                                 r"max_loop_iterations="):
        f(eagerlab.ones(3), eagerlab.tensor(5))
    assert time.perf_counter() - start < 10  # about 0.4 s; without the limit it never ends
    f = eagerlab.load_exported(path, max_loop_iterations=50)
    with pytest.raises(ResourceLimitError, match="limit of 50 loop"):
        f(eagerlab.ones(3), eagerlab.tensor(5))


def test_the_loop_limit_counts_every_iteration_and_a_trusting_caller_raises_it(tmp_path):
    path, _, _ = _exported(tmp_path, count_to, (eagerlab.ones(3), eagerlab.tensor(5)))
    f = eagerlab.load_exported(path, max_loop_iterations=7)
    np.testing.assert_array_equal(f(eagerlab.ones(3), eagerlab.tensor(7)).numpy(), [7, 7, 7])
    with pytest.raises(ResourceLimitError):  # a legitimate file asked for more than its loader allows
        f(eagerlab.ones(3), eagerlab.tensor(8))
    np.testing.assert_array_equal(f(eagerlab.ones(3), eagerlab.tensor(2)).numpy(), [2, 2, 2])  # still usable
    f = eagerlab.load_exported(path, max_loop_iterations=None)
    np.testing.assert_array_equal(f(eagerlab.ones(3), eagerlab.tensor(200_000)).numpy(), [200_000] * 3)


def test_nested_loops_share_one_budget_and_a_loops_own_maximum_ends_it_quietly(tmp_path):
    def nested(x, n, m):
        def outer(i, acc):
            j, acc = eagerlab.while_loop(lambda j, a: j < m, lambda j, a: (j + 1, a + x), (eagerlab.tensor(0), acc))
            return i + 1, acc

        return eagerlab.while_loop(lambda i, a: i < n, outer, (eagerlab.tensor(0), eagerlab.zeros_like(x)))[1]

    path, _, _ = _exported(tmp_path, nested, (eagerlab.ones(2), eagerlab.tensor(3), eagerlab.tensor(5)))
    args = (eagerlab.ones(2), eagerlab.tensor(3), eagerlab.tensor(5))  # 3 outer + 3 * 5 inner iterations
    np.testing.assert_array_equal(eagerlab.load_exported(path, max_loop_iterations=18)(*args).numpy(), [15, 15])
    with pytest.raises(ResourceLimitError, match="while loop 1 "):  # the inner loop is the one that went past
        eagerlab.load_exported(path, max_loop_iterations=17)(*args)

    def bounded(x):  # the traced code's own maximum is exported with the loop and ends it before the limit
        return eagerlab.while_loop(lambda i, a: i >= 0, lambda i, a: (i + 1, a + x),
                                   (eagerlab.tensor(0), eagerlab.zeros_like(x)), maximum_iterations=9)[1]

    path, _, graph = _exported(tmp_path, bounded, (eagerlab.ones(2),), "bounded.elx")
    assert graph["body"]["nodes"][-1]["attrs"] == {"maximum_iterations": {"int": 9}}
    np.testing.assert_array_equal(eagerlab.load_exported(path, max_loop_iterations=10)(eagerlab.ones(2)).numpy(),
                                  [9, 9])


# ---- memory -----------------------------------------------------------------------------------------------------
def test_expand_to_a_huge_shape_then_add_is_refused_at_load(tmp_path):
    path, obj, graph = _exported(tmp_path, lambda x: x.expand(5, 4) + 1, (eagerlab.ones(4),))
    huge = 1 << 34  # x (4,) -> (2**34, 4) float32: 256 GiB
    expand, add = graph["body"]["nodes"]
    expand["attrs"]["shape"] = {"tuple": [{"int": huge}, {"int": 4}]}
    expand["outputs"][0]["shape"] = add["outputs"][0]["shape"] = [huge, 4]
    _rewrite(path, obj, graph)
    start = time.perf_counter()
    with pytest.raises(ResourceLimitError, match=r"value %1 \(expand, float32\(17179869184, 4\)\) is 256.0 GiB, "
                                                 r"more than load_exported allows \(max_bytes=.*\).*max_bytes="):
        eagerlab.load_exported(path)
    with pytest.raises(ResourceLimitError, match="256.0 GiB"):
        eagerlab.load_exported(path, max_bytes=1 << 37)
    assert time.perf_counter() - start < 10  # refused before anything is allocated or run


def test_the_peak_of_intermediates_alive_at_once_counts():
    def f(x):
        a, b = x + 1, x + 2
        return a * b + x

    graph = eagerlab.function(f).get_concrete_function(eagerlab.ones(64)).graph  # float32[64]: 256 bytes each
    check_memory(graph, 3 * 256, "f")  # a, b and a * b at once
    with pytest.raises(ResourceLimitError, match=r"f: running the graph needs about 768 bytes of intermediates"):
        check_memory(graph, 3 * 256 - 1, "f")
    check_memory(graph, None, "f")
    total = eagerlab.function(lambda x: x.sum()).get_concrete_function(eagerlab.ones(1000)).graph
    check_memory(total, 4, "total")  # the caller's 4000-byte input is in memory already: only the 4-byte sum counts


def test_the_estimate_is_at_least_the_memory_plans_peak(tmp_path):
    import eagerlab.nn as nn

    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10)).eval()
    path, _, _ = _exported(tmp_path, model, (eagerlab.randn(8, 1, 8, 8),))
    graph = eagerlab.load_exported(path).graph
    from eagerlab.graph.passes import lower

    report = lower(graph, np)[1].report
    with pytest.raises(ResourceLimitError):
        check_memory(graph, report["peak_bytes_unplanned"] - 1, "model")
    assert default_max_bytes() >= 1 << 30


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "1GB"])
def test_limits_must_be_positive_ints_or_none(tmp_path, bad):
    path, _, _ = _exported(tmp_path, lambda x: x + 1, (eagerlab.ones(2),))
    for name in ("max_bytes", "max_loop_iterations"):
        with pytest.raises(ValueError, match=f"{name} must be a positive int"):
            eagerlab.load_exported(path, **{name: bad})


# ---- failures at run time are typed -------------------------------------------------------------------------------
def test_an_index_the_file_changed_out_of_range_is_a_typed_error_naming_the_op(tmp_path):
    path, obj, graph = _exported(tmp_path, lambda x: x[eagerlab.tensor([0, 2])] * 2, (eagerlab.ones(3),))
    ((name, index),) = obj["constants"].items()
    eagerlab.save({**obj, "constants": {name: np.array([0, 99], index.dtype)}}, path)
    f = eagerlab.load_exported(path)  # the shapes all agree: only running it can tell
    with pytest.raises(IndexOutOfRange, match=r"99 is out of bounds.*while running the loaded graph: op index\("
                                              r"float32\(3,\), int64\(2,\)"):
        f(eagerlab.ones(3))


def _rich(x, idx):
    """Ops with integer attributes an attacker can edit: dims, shapes, slices, paddings, gather indices."""
    y = x.reshape(2, 3, 4).permute(2, 0, 1)[1:, :, ::2]
    z = eagerlab.nn.functional.pad(y, (1, 0)).sum(dim=1, keepdim=True)
    w = eagerlab.gather(x.reshape(6, 4), 1, idx).cumsum(0)
    return z.flatten(), w.max(dim=0).values, eagerlab.cat([x[:2], x[-2:]]).transpose(0, 1).topk(2, dim=0)[0]


def test_mutated_graphs_that_pass_validation_never_fail_with_a_raw_error(tmp_path):
    args = (eagerlab.randn(6, 4), eagerlab.tensor(np.random.default_rng(0).integers(0, 4, (6, 2))))
    path, obj, graph = _exported(tmp_path, _rich, args)
    text = json.dumps(graph)
    spots = [i for i in range(len(text)) if text.startswith('{"int": ', i)]
    rng = np.random.default_rng(1)
    outcomes = {"refused": 0, "ran": 0, "typed error": 0}
    for k in range(150):
        at = spots[rng.integers(len(spots))] + len('{"int": ')
        end = text.index("}", at)
        value = int(rng.choice([-2, -1, 0, 1, 2, 3, 5, 7, 100, 1 << 40]))
        _rewrite(path, obj, json.loads(text[:at] + str(value) + text[end:]))
        try:
            f = eagerlab.load_exported(path)
        except (SerializationError, ResourceLimitError):
            outcomes["refused"] += 1
            continue
        try:
            f(*args)
            outcomes["ran"] += 1
        except Exception as e:  # the point: only eagerlab's typed errors
            assert type(e).__module__ == errors.__name__, (k, type(e), e)
            outcomes["typed error"] += 1
    assert outcomes["refused"] > 50 and outcomes["ran"] > 10, outcomes
