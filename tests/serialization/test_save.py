"""eagerlab.save: unsupported objects are refused before anything is written, naming where they sit in obj;
writes to a path are atomic (temp file, fsync, rename, directory fsync) and a failure leaves the old file."""
import io
import os
import stat

import numpy as np
import pytest

import eagerlab as el
from eagerlab.errors import SerializationError
from eagerlab.serialization import _storages


class Foo:
    pass


def cyclic():
    x = []
    x.append(x)
    return x


def local_function():
    def inner():
        return 0
    return inner


BAD = [
    # (id, obj, fragments of the message)
    ("object", {"model": {"layers": [1, 2, Foo()]}},
     ["save: cannot save object of type 'Foo' at obj['model']['layers'][2]", "nn.Module"]),
    ("lambda", {3: (1, lambda: 0)}, ["the function at obj[3][1]", "lambda"]),
    ("local-function", [local_function()], ["the function at obj[0]", "defined inside a function"]),
    ("bytes", b"raw", ["'bytes' at obj"]),
    ("tuple-key", {"a": {(1, 2): 3}}, ["dict key (1, 2) of type 'tuple' at obj['a']", "str or int"]),
    ("float-key", {1.5: 0}, ["dict key 1.5 of type 'float'"]),
    ("bool-key", {True: 0}, ["dict key True of type 'bool'"]),
    ("none-key", {None: 0}, ["of type 'NoneType'"]),
    ("object-array", {"a": np.array([None, 1])}, ["dtype object at obj['a']"]),
    ("str-array", [np.array(["x"])], ["dtype <U1 at obj[0]"]),
    ("cycle", cyclic(), ["deeper than 64 levels", "cycle"]),
    ("huge-int", 10 ** 5000, ["cannot encode"]),
]


@pytest.mark.parametrize("obj,fragments", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_unsupported_objects_name_their_path_and_write_nothing(tmp_path, obj, fragments):
    path = tmp_path / "out.el"
    with pytest.raises(SerializationError) as info:
        el.save(obj, path)
    for fragment in fragments:
        assert fragment in str(info.value)
    assert os.listdir(tmp_path) == []


def test_int_like_keys_are_saved_as_int():
    buf = io.BytesIO()
    el.save({np.int64(3): "a"}, buf)
    buf.seek(0)
    assert el.load(buf) == {3: "a"}


def test_bad_file_arguments():
    with pytest.raises(TypeError, match="text mode"):
        el.save([1], io.StringIO())
    with pytest.raises(TypeError, match="path or a writable binary file object, got int"):
        el.save([1], 3)
    with pytest.raises(TypeError, match="text mode"):
        el.load(io.StringIO("x"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        el.save([1], "/nonexistent-dir-for-eagerlab/x.el")
    with pytest.raises(FileNotFoundError):
        el.load("/nonexistent-dir-for-eagerlab/x.el")


def _fail_writing_second_array(monkeypatch, exc):
    """Each storage's bytes are asked for twice: to checksum them (before the file is opened), then to write them.
    With two storages, the fourth call is the write of the second, after the first was written."""
    real, calls = _storages.Storage.bytes, []

    def flaky(self, arrays):
        calls.append(self)
        if len(calls) == 4:
            raise exc
        return real(self, arrays)

    monkeypatch.setattr(_storages.Storage, "bytes", flaky)
    return calls


@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), KeyboardInterrupt()],
                         ids=["disk-full", "interrupt"])
def test_failure_mid_save_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch, exc):
    path = tmp_path / "ckpt.el"
    el.save({"w": el.ones(3)}, path)
    old = path.read_bytes()
    calls = _fail_writing_second_array(monkeypatch, exc)
    with pytest.raises(type(exc)):
        el.save({"a": el.zeros(1000), "b": el.zeros(1000)}, path)
    assert len(calls) == 4  # it did fail midway, after writing the first array
    assert path.read_bytes() == old and os.listdir(tmp_path) == ["ckpt.el"]
    monkeypatch.undo()
    assert el.load(path)["w"].tolist() == [1, 1, 1]


def test_atomic_write_fsyncs_file_and_directory_then_renames(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append(("fsync", stat.S_ISDIR(os.fstat(fd).st_mode))),
                                                 real_fsync(fd)))
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", os.path.dirname(a))),
                                                     real_replace(a, b)))
    el.save([el.ones(2)], tmp_path / "x.el")
    assert events == [("fsync", False), ("replace", str(tmp_path)), ("fsync", True)]


def test_saved_file_gets_the_usual_permissions(tmp_path):
    el.save([1], tmp_path / "a.el")
    (tmp_path / "b").write_bytes(b"")
    assert os.stat(tmp_path / "a.el").st_mode == os.stat(tmp_path / "b").st_mode
