"""Whole nn.Modules through eagerlab.save / eagerlab.load (torch.save(model, f) / torch.load(f)), without pickle:
the round trip, the weights_only policy and its allow-list, and the objects save and load refuse."""
import io
import json
import pickle
import struct
import sys
import zlib

import numpy as np
import pytest

import eagerlab as el
import eagerlab.nn as nn
import eagerlab.nn.functional as F
from eagerlab.errors import SerializationError, WeightsOnlyError
from eagerlab.serialization import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals


class Scale(nn.Module):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor


class TiedLM(nn.Module):
    """word_language_model's pattern: embedding, LSTM, decoder tied to the embedding, plus attributes of every kind
    a model keeps."""

    def __init__(self, ntoken=11, nhid=6):
        super().__init__()
        self.encoder = nn.Embedding(ntoken, nhid)
        self.rnn = nn.LSTM(nhid, nhid, 2, dropout=0.25)
        self.decoder = nn.Linear(nhid, ntoken)
        self.decoder.weight = self.encoder.weight  # tied
        self.scale = Scale(0.5)
        self.same_scale = self.scale  # one child under two names
        self.register_buffer("steps", el.tensor(3))
        self.register_buffer("cache", el.ones(2), persistent=False)
        self.frozen = nn.Parameter(el.arange(3.0), requires_grad=False)
        self.mask = el.tril(el.ones(4, 4))  # a plain tensor attribute, as TransformerModel's src_mask
        self.hyper = {"ntoken": ntoken, "betas": (0.9, 0.99), "name": "lm", "none": None, "tags": ["a", "b"]}
        self.kinds = {"x", "y"}
        self.dtype_used, self.device_used = el.float32, el.device("cpu")
        self.activation = F.relu  # an eagerlab function, saved by name
        self.parent_list = [self.scale]  # a plain list holding a module that is also a child

    def forward(self, x, hidden):
        out, hidden = self.rnn(self.encoder(x), hidden)
        return self.decoder(self.scale(self.activation(out))), hidden


def roundtrip(obj, **load_args):
    buf = io.BytesIO()
    el.save(obj, buf)
    buf.seek(0)
    return el.load(buf, **load_args)


def test_round_trip_keeps_class_values_modes_ties_and_forward():
    el.manual_seed(0)
    model = TiedLM()
    model.rnn.eval()  # a child in another mode than its parent
    model.encoder.weight.grad = el.ones(11, 6)  # grads are not saved (as in PyTorch)
    loaded = roundtrip(model, weights_only=False)
    assert type(loaded) is TiedLM and type(loaded.scale) is Scale and type(loaded.rnn) is nn.LSTM
    assert loaded.training and not loaded.rnn.training and loaded.decoder.training
    assert loaded.decoder.weight is loaded.encoder.weight and isinstance(loaded.encoder.weight, nn.Parameter)
    assert loaded.same_scale is loaded.scale and loaded.parent_list[0] is loaded.scale
    assert loaded.encoder.weight.requires_grad and not loaded.frozen.requires_grad
    assert loaded.encoder.weight.grad is None
    assert [n for n, _ in loaded.named_parameters()] == [n for n, _ in model.named_parameters()]
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert a.dtype is b.dtype and np.array_equal(a.numpy(), b.numpy()), name
    assert "cache" not in loaded.state_dict() and loaded.cache.tolist() == [1.0, 1.0]
    assert loaded.mask.tolist() == model.mask.tolist() and type(loaded.mask) is el.Tensor
    assert loaded.hyper == model.hyper and type(loaded.hyper["betas"]) is tuple
    assert loaded.kinds == {"x", "y"} and loaded.dtype_used is el.float32 and loaded.device_used == "cpu"
    assert loaded.activation is F.relu and loaded.scale.factor == 0.5
    model.eval(), loaded.eval()
    x, h = el.randint(0, 11, (5, 2)), (el.zeros(2, 2, 6), el.zeros(2, 2, 6))
    with el.no_grad():
        assert np.array_equal(model(x, h)[0].numpy(), loaded(x, h)[0].numpy())


def test_loaded_model_trains_with_its_tie():
    loaded = roundtrip(TiedLM(), weights_only=False)
    opt = el.optim.SGD(loaded.parameters(), lr=0.1)
    assert len(opt.param_groups[0]["params"]) == len(list(TiedLM().parameters()))  # the tie counted once
    x, h = el.randint(0, 11, (5, 2)), (el.zeros(2, 2, 6), el.zeros(2, 2, 6))
    before = loaded.encoder.weight.detach().clone()
    loss = loaded(x, h)[0].pow(2).mean()
    loss.backward()
    opt.step()
    assert not np.array_equal(before.numpy(), loaded.encoder.weight.numpy())
    assert loaded.decoder.weight is loaded.encoder.weight


def test_eagerlab_modules_load_with_the_default_weights_only():
    el.manual_seed(1)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.1)).eval()
    loaded_layer, loaded = roundtrip(layer), roundtrip(model)
    assert loaded_layer.activation is F.relu and type(loaded_layer.self_attn.out_proj).__name__ == \
        "NonDynamicallyQuantizableLinear"
    assert not loaded.training and isinstance(loaded[1], nn.ReLU)
    x = el.randn(3, 4)
    with el.no_grad():
        assert np.array_equal(model(x).numpy(), loaded(x).numpy())
    layer.eval(), loaded_layer.eval()
    src = el.randn(5, 2, 8)
    with el.no_grad():
        assert np.array_equal(layer(src).numpy(), loaded_layer(src).numpy())


def test_weights_only_refuses_other_classes_with_the_fix_in_the_message():
    buf = io.BytesIO()
    el.save(TiedLM(), buf)
    buf.seek(0)
    with pytest.raises(WeightsOnlyError) as info:
        el.load(buf)
    msg = str(info.value)
    assert f"class {__name__}.TiedLM at obj" in msg and "weights_only=False" in msg
    assert "add_safe_globals([TiedLM])" in msg and "safe_globals" in msg
    assert isinstance(info.value, SerializationError) and isinstance(info.value, pickle.UnpicklingError)


def test_allow_list_and_safe_globals_context():
    data = io.BytesIO()
    el.save(TiedLM(), data)
    assert get_safe_globals() == []
    with safe_globals([TiedLM]):
        with pytest.raises(WeightsOnlyError, match=f"class {__name__}.Scale at obj.scale"):
            el.load(io.BytesIO(data.getvalue()))
        with safe_globals([Scale]):
            assert get_safe_globals() == [TiedLM, Scale]
            assert type(el.load(io.BytesIO(data.getvalue()))) is TiedLM
        assert get_safe_globals() == [TiedLM]
    assert get_safe_globals() == []
    add_safe_globals([TiedLM, Scale])
    try:
        assert type(el.load(io.BytesIO(data.getvalue()), weights_only=None)) is TiedLM
    finally:
        clear_safe_globals()
    with pytest.raises(TypeError, match="pairs are not supported yet"):
        add_safe_globals([(TiedLM, "x.TiedLM")])
    with pytest.raises(TypeError, match="expected classes and functions, got int"):
        add_safe_globals([3])


class Holder(nn.Module):
    def __init__(self, value):
        super().__init__()
        self.inner = nn.Module()
        self.inner.value = value


@pytest.mark.parametrize("value,fragment", [
    (io.BytesIO(), "of type 'BytesIO' at obj.inner.value"),
    (object(), "of type 'object' at obj.inner.value"),
    (lambda x: x, "the function at obj.inner.value"),
    ([1, {"k": print.__self__}], "of type 'module' at obj.inner.value[1]['k']"),
])
def test_attributes_save_cannot_represent_are_refused_with_their_path(tmp_path, value, fragment):
    with pytest.raises(SerializationError) as info:
        el.save(Holder(value), tmp_path / "m.el")
    assert fragment in str(info.value), str(info.value)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_local_classes_hooks_and_compiled_forwards_are_refused():
    class Local(nn.Module):
        pass

    with pytest.raises(SerializationError, match="the class of the Local at obj.*defined inside a function"):
        el.save(Local(), io.BytesIO())
    model = nn.Linear(2, 2)
    model.register_forward_hook(lambda m, a, out: out)
    with pytest.raises(SerializationError, match=r"at obj._forward_hooks\[0\].*lambda"):
        el.save(model, io.BytesIO())


class Slotted(nn.Module):
    __slots__ = ("secret",)


def test_classes_with_slots_are_refused_rather_than_saved_without_them():
    with pytest.raises(SerializationError, match=r"cannot save a Slotted: its class declares __slots__ \(secret\)"):
        el.save(Slotted(), io.BytesIO())


def test_module_class_and_state_dicts_keep_the_plain_format():
    """A state dict (even of Parameters) is still written as format version 2, loading as plain tensors."""
    model = nn.Linear(2, 3)
    buf = io.BytesIO()
    el.save({"w": model.weight, "sd": model.state_dict()}, buf)
    assert struct.unpack("<I", buf.getvalue()[8:12]) == (2,)
    buf.seek(0)
    out = el.load(buf)
    assert type(out["w"]) is el.Tensor and not out["w"].requires_grad
    buf = io.BytesIO()
    el.save(model, buf)
    assert struct.unpack("<I", buf.getvalue()[8:12]) == (3,)


# ---- hand-edited files: the header is rewritten (with a fresh CRC), so only the loader's checks stand ----------
def edit(obj, change):
    """The bytes of el.save(obj) with change(header) applied to its JSON header."""
    buf = io.BytesIO()
    el.save(obj, buf)
    data = buf.getvalue()
    (hlen,) = struct.unpack("<Q", data[12:20])
    header = json.loads(data[24:24 + hlen])
    change(header)
    raw = json.dumps(header).encode()
    raw += b" " * (-(24 + len(raw)) % 64)
    fields = data[8:12] + struct.pack("<Q", len(raw))
    return data[:8] + fields + struct.pack("<I", zlib.crc32(raw, zlib.crc32(fields))) + raw + data[24 + hlen:]


def set_class(name):
    def change(header):
        header["root"]["object"] = name
    return change


def set_child_class(name):
    def change(header):
        header["root"]["state"][2][1][0][1]["object"] = name  # modules group, first child
    return change


def test_edited_file_naming_a_non_module_class_is_refused():
    for name, fragment in [("collections:OrderedDict", "collections.OrderedDict is not an nn.Module"),
                           ("os:system", "os.system is not an nn.Module"),
                           ("eagerlab.nn.modules.linear:NoSuchLayer", "NoSuchLayer does not exist"),
                           ("no module", "bad class or function name 'no module'")]:
        with pytest.raises(SerializationError, match=fragment):
            el.load(io.BytesIO(edit(nn.Linear(2, 2), set_class(name))), weights_only=False)
    with pytest.raises(WeightsOnlyError, match="the class os.system at obj: it is not eagerlab's own"):
        el.load(io.BytesIO(edit(nn.Linear(2, 2), set_class("os:system"))))
    with pytest.raises(WeightsOnlyError, match="eagerlab does not trust it"):  # eagerlab's, but not a Module
        el.load(io.BytesIO(edit(nn.Sequential(nn.ReLU()), set_child_class("eagerlab.serialization:save"))))


def test_weights_only_never_imports_the_module_a_file_names(tmp_path, monkeypatch):
    (tmp_path / "canary_mod.py").write_text("import pathlib\npathlib.Path(__file__).with_name('ran').touch()\n"
                                            "import eagerlab.nn as nn\nclass Layer(nn.Module):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    data = edit(nn.Linear(2, 2), set_class("canary_mod:Layer"))
    with pytest.raises(WeightsOnlyError):
        el.load(io.BytesIO(data))
    assert "canary_mod" not in sys.modules and not (tmp_path / "ran").exists()
    try:
        loaded = el.load(io.BytesIO(data), weights_only=False)  # the user's choice: import it, as pickle would
        assert type(loaded).__module__ == "canary_mod" and (tmp_path / "ran").exists()
        assert loaded.weight.shape == (2, 2)
    finally:
        sys.modules.pop("canary_mod", None)


def _plain_tensor_as_parameter(header):
    header["root"]["state"][0][1][1][1] = {"tensor": 1, "device": "cpu"}  # the bias, the last object


def _bad_ref(header):
    header["root"]["state"][0][1][0][1] = {"ref": 7}


def _duplicate_attribute(header):
    attrs = header["root"]["state"][3][1]
    attrs.append(attrs[0])


def _training_not_bool(header):
    attrs = header["root"]["state"][3][1]
    next(a for a in attrs if a[0] == "training")[1] = "yes"


def _groups_renamed(header):
    header["root"]["state"][0][0] = "params"


def _object_out_of_order(header):
    header["root"]["id"] = 3


@pytest.mark.parametrize("change,fragment", [
    (_plain_tensor_as_parameter, "parameter 'bias' must be a Parameter or None, got Tensor"),
    (_bad_ref, "bad object reference 7 at obj.weight"),
    (_duplicate_attribute, "duplicate attribute"),
    (_training_not_bool, "attribute 'training' must be a bool"),
    (_groups_renamed, "must be the groups ['parameters', 'buffers', 'modules', 'attributes']"),
    (_object_out_of_order, "object id 3 at obj is out of order"),
], ids=lambda v: getattr(v, "__name__", "")[1:])
def test_edited_module_files_are_refused(change, fragment):
    with pytest.raises(SerializationError) as info:
        el.load(io.BytesIO(edit(nn.Linear(2, 2), change)))
    assert fragment in str(info.value), str(info.value)


def test_version_3_entries_in_a_version_2_file_are_refused():
    def downgrade(header):
        header["root"] = {"dtype": "float32"}
    data = bytearray(edit([], downgrade))
    data[8:12] = struct.pack("<I", 2)
    (hlen,) = struct.unpack("<Q", data[12:20])
    data[20:24] = struct.pack("<I", zlib.crc32(bytes(data[24:24 + hlen]), zlib.crc32(bytes(data[8:20]))))
    with pytest.raises(SerializationError, match="entry 'dtype' at obj needs format version 3, but the file is "
                                                 "version 2"):
        el.load(io.BytesIO(bytes(data)))


def test_out_proj_has_pytorchs_class():
    torch = pytest.importorskip("torch")
    ours = type(nn.MultiheadAttention(8, 2).out_proj)
    theirs = type(torch.nn.MultiheadAttention(8, 2).out_proj)
    assert ours.__name__ == theirs.__name__ and issubclass(ours, nn.Linear)


def test_refusal_is_the_exception_pytorch_raises():
    """Code that catches torch.load's weights_only refusal (pickle.UnpicklingError) catches eagerlab's too."""
    torch = pytest.importorskip("torch")
    caught = []
    for save, load, model in [(torch.save, torch.load, torch.nn.Linear(2, 2)), (el.save, el.load, TiedLM())]:
        buf = io.BytesIO()
        save(model, buf)
        buf.seek(0)
        try:
            load(buf)
        except pickle.UnpicklingError as e:
            caught.append("weights_only" in str(e).replace("Weights only", "weights_only"))
    assert caught == [True, True]
