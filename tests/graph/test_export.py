"""eagerlab.export / load_exported: round trips in a fresh process that never imports the model's code, weights by
name, and every way a file or a call can be wrong (each a typed error naming the problem, nothing executed)."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import eagerlab
import eagerlab.nn as nn
import eagerlab.optim as optim
from eagerlab.errors import DeviceError, DTypeError, SerializationError, ShapeError, UnsupportedError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def examples():
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    try:
        import mnist_cnn
        import mnist_mlp
    finally:
        sys.path.pop(0)
    return mnist_mlp, mnist_cnn


def loop_fn(x, n):
    """A while loop whose body holds a cond, returning a dict with Python values beside the tensors."""
    def body(i, acc):
        acc = eagerlab.cond(acc.sum() > 10.0, lambda: acc * 0.5, lambda: acc + x)
        return i + 1, acc

    i, acc = eagerlab.while_loop(lambda i, acc: i < n, body, (eagerlab.tensor(0), eagerlab.zeros_like(x)))
    return {"acc": acc, "steps": i, "note": ("done", float("inf"), None), "tail": x[1:, ::2]}


def test_round_trip_in_a_process_without_the_model_code(tmp_path, examples):
    mnist_mlp, mnist_cnn = examples
    eagerlab.manual_seed(0)
    models = {"mlp": mnist_mlp.MLP(8).eval(), "cnn": mnist_cnn.Net(8).eval()}
    x = eagerlab.randn(5, 1, 8, 8)
    for name, model in models.items():
        eagerlab.export(model, (x,), str(tmp_path / f"{name}.elx"))
        with eagerlab.no_grad():
            np.save(tmp_path / f"{name}_want.npy", model(x).numpy())
    xs, n = eagerlab.tensor(np.arange(6, dtype=np.float32).reshape(2, 3)), eagerlab.tensor(7)
    eagerlab.export(loop_fn, (xs, n), str(tmp_path / "loop.elx"))
    want = loop_fn(xs, n)
    np.save(tmp_path / "x.npy", x.numpy())
    code = textwrap.dedent(f"""
        import sys, numpy as np, eagerlab
        d = {str(tmp_path)!r}
        x = eagerlab.tensor(np.load(d + "/x.npy"))
        for name in ("mlp", "cnn"):
            f = eagerlab.load_exported(d + "/" + name + ".elx")
            np.save(d + "/" + name + "_got.npy", f(x).numpy())
        out = eagerlab.load_exported(d + "/loop.elx")(
            eagerlab.tensor(np.arange(6, dtype=np.float32).reshape(2, 3)), eagerlab.tensor(7))
        np.save(d + "/acc.npy", out["acc"].numpy())
        print(out["steps"].item(), out["note"], tuple(out["tail"].shape))
        assert not any(m.startswith(("mnist", "test_export")) for m in sys.modules), "model code was imported"
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": ROOT}, cwd=str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[0] == "7 ('done', inf, None) (1, 2)"
    for name in models:
        np.testing.assert_allclose(np.load(tmp_path / f"{name}_got.npy"), np.load(tmp_path / f"{name}_want.npy"),
                                   atol=1e-6)
    np.testing.assert_allclose(np.load(tmp_path / "acc.npy"), want["acc"].numpy(), atol=1e-6)


def test_weights_keep_their_names_and_are_what_the_graph_reads(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.LayerNorm(4), nn.Linear(4, 3)).eval()
    model[1].running_mean.copy_(eagerlab.randn(4))
    x = eagerlab.randn(2, 1, 6, 6)
    eagerlab.export(model, (x,), str(tmp_path / "m.elx"))
    f = eagerlab.load_exported(str(tmp_path / "m.elx"))
    state = {k: v for k, v in model.state_dict().items() if "num_batches_tracked" not in k}
    assert sorted(f.state_dict()) == sorted(state)  # (in the order the graph first reads them)
    for k, v in state.items():
        np.testing.assert_array_equal(f.state_dict()[k].numpy(), v.numpy())
    with eagerlab.no_grad():
        np.testing.assert_allclose(f(x).numpy(), model(x).numpy(), atol=1e-6)
        f.state_dict()["6.bias"].add_(1.0)  # the graph reads its weights by reference
        np.testing.assert_allclose(f(x).numpy(), model(x).numpy() + 1.0, atol=1e-6)
    assert [s.name for s in f.input_specs] == ["input"] and f.input_specs[0].shape == (2, 1, 6, 6)
    assert "conv2d" in str(f.graph) and "_graph_fn" in f.code


def test_random_ops_draw_afresh_from_the_default_generator(tmp_path):
    x = eagerlab.zeros(2, 3)
    eagerlab.export(lambda x: x + eagerlab.rand(2, 3), (x,), str(tmp_path / "r.elx"))
    f = eagerlab.load_exported(str(tmp_path / "r.elx"))
    a, b = f(x).numpy(), f(x).numpy()
    assert not np.array_equal(a, b) and (a >= 0).all() and (a < 1).all()
    with pytest.raises(UnsupportedError, match="user-made eagerlab.Generator"):
        eagerlab.export(lambda x: x + eagerlab.rand(2, 3, generator=eagerlab.Generator()), (x,),
                        str(tmp_path / "g.elx"))


def test_side_effects_are_refused_at_export(tmp_path):
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)

    def train_step(x):
        opt.zero_grad()
        loss = model(x).sum()
        loss.backward()
        opt.step()
        return loss

    with pytest.raises(UnsupportedError, match="a training step"):
        eagerlab.export(train_step, (eagerlab.randn(4, 3),), str(tmp_path / "t.elx"))
    total = eagerlab.zeros(())

    def accumulate(x):
        total.add_(x.sum())
        return total

    with pytest.raises(UnsupportedError, match="side effect"):
        eagerlab.export(accumulate, (eagerlab.randn(4, 3),), str(tmp_path / "t.elx"))
    with pytest.raises(UnsupportedError, match=r"model.eval\(\)"):
        eagerlab.export(nn.BatchNorm1d(3), (eagerlab.randn(4, 3),), str(tmp_path / "bn.elx"))
    assert not os.path.exists(tmp_path / "t.elx") and not os.path.exists(tmp_path / "bn.elx")
    with pytest.raises(TypeError, match="tuple of tensors"):
        eagerlab.export(model, ([1.0, 2.0, 3.0],), str(tmp_path / "t.elx"))


def test_calls_that_do_not_match_the_input_specs(tmp_path):
    eagerlab.export(nn.Linear(3, 2), (eagerlab.randn(4, 3),), str(tmp_path / "l.elx"))
    f = eagerlab.load_exported(str(tmp_path / "l.elx"))
    with pytest.raises(ShapeError, match=r"argument 0 \('input'\) has shape \(5, 3\).*\(4, 3\)"):
        f(eagerlab.randn(5, 3))
    with pytest.raises(DTypeError, match="float64, expected float32"):
        f(eagerlab.randn(4, 3, dtype=eagerlab.float64))
    with pytest.raises(TypeError, match="takes 1 tensor argument"):
        f(eagerlab.randn(4, 3), eagerlab.randn(4, 3))
    with pytest.raises(TypeError, match="must be a Tensor"):
        f(np.zeros((4, 3), np.float32))


# ---- hostile and corrupt files ------------------------------------------------------------------------------------
@pytest.fixture
def exported(tmp_path):
    """(path, the container's dict, the graph as JSON) of an exported small MLP, for tampering."""
    path = str(tmp_path / "m.elx")
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).eval()
    eagerlab.export(model, (eagerlab.randn(5, 3),), path)
    obj = eagerlab.load(path)
    return path, obj, json.loads(obj["graph"])


def _rewrite(path, obj, graph=None):
    if graph is not None:
        obj = {**obj, "graph": json.dumps(graph)}
    eagerlab.save(obj, path)


def _first_prim(graph, op):
    return next(n for n in graph["body"]["nodes"] if n.get("op") == op)


def _tamper_op(g):
    _first_prim(g, "relu")["op"] = "os.system"


def _tamper_attr(g):
    _first_prim(g, "linear")["attrs"] = {"shape": {"tuple": [{"int": 2}]}}


def _tamper_reshape(g):
    node = _first_prim(g, "relu")
    node["op"], node["attrs"] = "reshape", {"shape": {"tuple": [{"int": 3}, {"int": 5}]}}


def _tamper_dangling(g):
    _first_prim(g, "relu")["inputs"] = [{"value": 999}]


def _tamper_later_value(g):
    nodes = g["body"]["nodes"]
    nodes[0]["inputs"][0] = {"value": nodes[-1]["outputs"][0]["id"]}


def _tamper_tag(g):
    _first_prim(g, "relu")["inputs"] = [{"pickle": "cos\nsystem\n"}]


def _tamper_shape(g):
    _first_prim(g, "relu")["outputs"][0]["shape"] = [5, 5]


def _tamper_dtype(g):
    g["inputs"][0]["dtype"] = "object"


def _tamper_kind(g):
    g["body"]["nodes"][0]["kind"] = "effect"


def _tamper_weight_name(g):
    g["captures"][0]["weight"] = "missing"


def _tamper_named_class(g):
    g["outputs"] = {"named": ["os.system", [g["outputs"]]]}


def _tamper_named_length(g):
    g["outputs"] = {"named": ["values_indices", [g["outputs"]]]}


def _tamper_duplicate_id(g):
    g["body"]["nodes"][1]["outputs"][0]["id"] = g["body"]["nodes"][0]["outputs"][0]["id"]


@pytest.mark.parametrize("tamper,match", [
    (_tamper_op, "unknown primitive 'os.system'"),
    (_tamper_attr, r"node 0 \(linear\).*rejects its recorded operands or attributes"),
    (_tamper_reshape, r"reshape.*rejects"),
    (_tamper_dangling, "value 999, which is not defined"),
    (_tamper_later_value, "not defined before it"),
    (_tamper_tag, "unknown tag 'pickle'"),
    (_tamper_shape, r"output 0 is recorded as float32\[5, 5\].*gives float32\[5, 4\]"),
    (_tamper_dtype, "unknown dtype 'object'"),
    (_tamper_kind, "unknown node kind 'effect'"),
    (_tamper_weight_name, "names weight 'missing', which the file does not hold"),
    (_tamper_duplicate_id, "is not a new non-negative int"),
    (_tamper_named_class, r"expected \[one of \['Size', 'values_indices'\], \[items\]\], got \['os.system'"),
    (_tamper_named_length, r"values_indices has 2 items \('values', 'indices'\), got 1"),
])
def test_hostile_graphs_are_refused(exported, tamper, match):
    path, obj, graph = exported
    tamper(graph)
    _rewrite(path, obj, graph)
    with pytest.raises(SerializationError, match=match):
        eagerlab.load_exported(path)


def test_bad_weights_and_containers_are_refused(exported, tmp_path):
    path, obj, graph = exported
    name = graph["captures"][0]["weight"]
    _rewrite(path, {**obj, "weights": {**obj["weights"], name: np.zeros((2, 2), np.float32)}})
    with pytest.raises(SerializationError, match=rf"weight '{name}' is float32\[2, 2\]"):
        eagerlab.load_exported(path)
    _rewrite(path, {**obj, "weights": {**obj["weights"], "extra": np.zeros(1, np.float32)}})
    with pytest.raises(SerializationError, match=r"\['extra'\] are in the file but not used"):
        eagerlab.load_exported(path)
    _rewrite(path, {**obj, "graph": obj["graph"][:-5]})
    with pytest.raises(SerializationError, match="not valid JSON"):
        eagerlab.load_exported(path)
    _rewrite(path, {**obj, "version": 2})
    with pytest.raises(SerializationError, match="version 2"):
        eagerlab.load_exported(path)
    eagerlab.save({"weight": eagerlab.zeros(2)}, path)
    with pytest.raises(SerializationError, match="not an exported function"):
        eagerlab.load_exported(path)


def test_corrupt_bytes_are_refused(exported):
    path, obj, _ = exported
    _rewrite(path, obj)
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(SerializationError, match="truncated"):
        eagerlab.load_exported(path)
    with open(path, "wb") as f:
        f.write(b"\x80\x04" + data[2:])
    with pytest.raises(SerializationError, match="pickle"):
        eagerlab.load_exported(path)


def test_a_device_this_machine_lacks_is_a_device_error(exported):
    if eagerlab.cuda.is_available():
        pytest.skip("this machine has a GPU")
    path, obj, graph = exported
    graph["inputs"][0]["device"] = "cuda:0"
    _rewrite(path, obj, graph)
    with pytest.raises(DeviceError, match="cuda:0"):
        eagerlab.load_exported(path)


@pytest.mark.filterwarnings("ignore::UserWarning")  # the samples' own warnings (kl_div's reduction)
def test_every_attribute_the_op_samples_use_round_trips_through_the_codec():
    """Each op sample's attributes and Python operands encode to JSON and decode to equal values of the same
    types, so a new attribute type shows up here before it breaks export."""
    from eagerlab.graph.export._codec import decode, encode
    from eagerlab.testing import InferSpy, run_samples

    seen = []

    class Recorder(InferSpy):
        def bind(self, prim, args, attrs):
            if "generator" not in attrs:  # the samples' replaying generator is not the default one
                seen.append((prim.name, attrs, [a for a in args if not isinstance(a, eagerlab.Tensor)]))
            return super().bind(prim, args, attrs)

    run_samples(Recorder())  # forward and backward: a traced backward is exported too
    assert len(seen) > 100

    def same(a, b):
        if isinstance(a, (tuple, list)):
            return type(b) is (list if isinstance(a, list) else tuple) and len(a) == len(b) and all(
                same(x, y) for x, y in zip(a, b))
        if isinstance(a, dict):
            return type(b) is dict and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
        if isinstance(a, float) and a != a:
            return type(b) is float and b != b
        return type(a) is type(b) and a == b

    for name, attrs, constants in seen:
        for x in (attrs, constants):
            text = json.dumps(encode(x, name), allow_nan=False)
            assert same(decode(json.loads(text), name), x), (name, x)


def test_a_graph_codegen_fuses_exports_as_registered_primitives(tmp_path):
    f = eagerlab.function(lambda x: ((x.exp() * 2 - 1) / 3).relu())
    x = eagerlab.tensor(np.linspace(-2, 2, 6, dtype=np.float32))
    want = f(x).numpy()
    assert any(n.name.startswith("fused[") for n in f._last.compiled.graph.nodes())  # run fused ...
    path = str(tmp_path / "fused.elx")
    eagerlab.export(f, (x,), path)  # ... exported as the primitives
    np.testing.assert_allclose(eagerlab.load_exported(path)(x).numpy(), want, rtol=1e-6)


def test_named_results_and_shapes_come_back_as_themselves(tmp_path):
    """sort/topk/max(dim) return (values, indices) read by name, and x.shape an eagerlab.Size, in the compiled and
    the loaded function as eagerly; a user's own namedtuple, whose class the file does not name, comes back from the
    file as a plain tuple."""
    from collections import namedtuple

    pair = namedtuple("pair", "a b")

    def f(x):
        return x.max(dim=1), x.sort(dim=0), x.shape, pair(x, x + 1)

    x = eagerlab.tensor(np.array([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]], np.float32))
    assert [type(r) for r in eagerlab.function(f)(x)] == [type(r) for r in f(x)]
    path = str(tmp_path / "named.elx")
    eagerlab.export(f, (x,), path)
    top, ordered, shape, mine = eagerlab.load_exported(path)(x)
    np.testing.assert_array_equal(top.values.numpy(), [3.0, 5.0])
    np.testing.assert_array_equal(top.indices.numpy(), [0, 1])
    np.testing.assert_array_equal(ordered.indices.numpy(), [[1, 0, 0], [0, 1, 1]])
    assert type(shape) is eagerlab.Size and shape == (2, 3) and shape.numel() == 6
    assert type(mine) is tuple and len(mine) == 2
