"""Saving to a path changes the file's contents and nothing else the user had: its mode and owner stay, a symlink
stays a symlink (its target is replaced atomically), the temp files of killed saves are cleaned up, and a directory
is refused with the user's path in the error."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest

import eagerlab as el
from eagerlab.errors import SerializationError
from eagerlab.serialization import _files, save_safetensors

posix = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions, owners and PIDs")


def mode(path):
    return os.stat(path).st_mode & 0o7777


@posix
@pytest.mark.parametrize("perm", [0o600, 0o640, 0o755])
def test_resaving_keeps_the_mode(tmp_path, perm):
    path = tmp_path / "ckpt.el"
    el.save([1], path)
    os.chmod(path, perm)
    el.save([el.ones(2)], path)
    assert mode(path) == perm and el.load(path)[0].tolist() == [1, 1]
    save_safetensors({"w": el.ones(1)}, path)
    assert mode(path) == perm


@posix
def test_new_files_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        el.save([1], tmp_path / "a.el")
        with open(tmp_path / "b", "w"):
            pass
    finally:
        os.umask(old)
    assert mode(tmp_path / "a.el") == mode(tmp_path / "b") == 0o640


@posix
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root may give files away")
def test_resaving_keeps_the_owner_where_permitted(tmp_path):
    path = tmp_path / "ckpt.el"
    el.save([1], path)
    os.chown(path, 12345, 23456)
    el.save([2], path)
    st = os.stat(path)
    assert (st.st_uid, st.st_gid) == (12345, 23456) and el.load(path) == [2]


@posix
def test_saving_through_a_symlink_replaces_the_target_and_keeps_the_link(tmp_path):
    (tmp_path / "store").mkdir()
    target = tmp_path / "store" / "v1.el"
    el.save([1], target)
    os.chmod(target, 0o600)
    inode = os.stat(target).st_ino
    os.symlink("store/v1.el", tmp_path / "latest.el")  # relative, through a second link
    os.symlink("latest.el", tmp_path / "current.el")
    el.save([2], tmp_path / "current.el")
    assert os.readlink(tmp_path / "current.el") == "latest.el"
    assert os.readlink(tmp_path / "latest.el") == "store/v1.el"
    assert el.load(target) == [2] and mode(target) == 0o600
    assert os.stat(target).st_ino != inode  # replaced by rename (atomic), not rewritten in place
    assert sorted(os.listdir(tmp_path / "store")) == ["v1.el"]


@posix
def test_saving_through_a_dangling_symlink_creates_the_target(tmp_path):
    os.symlink("made.el", tmp_path / "link.el")
    el.save([3], tmp_path / "link.el")
    assert os.path.islink(tmp_path / "link.el") and el.load(tmp_path / "made.el") == [3]


@pytest.mark.parametrize("save", [lambda p: el.save([1], p), lambda p: save_safetensors({"w": el.ones(1)}, p)],
                         ids=["save", "save_safetensors"])
def test_saving_to_a_directory_names_the_users_path(tmp_path, save):
    for path in (tmp_path, str(tmp_path) + os.sep):
        with pytest.raises(SerializationError, match=re.escape(f"{os.fspath(path)!r} is a directory")):
            save(path)
    assert os.listdir(tmp_path) == []  # no temp file left behind


def _temp(tmp_path, token, age_s=0, name="ckpt.el"):
    path = tmp_path / f".{name}.{token}.tmp"
    path.write_bytes(b"partial")
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path.name


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@posix
def test_stale_temp_files_of_the_same_path_are_removed_and_nothing_else(tmp_path):
    tag, stale_after = _files._host_tag(), _files.STALE_AFTER_S
    old_style_stale = _temp(tmp_path, "0123456789abcdef", age_s=stale_after + 60)
    old_style_fresh = _temp(tmp_path, "fedcba9876543210", age_s=60)
    dead_writer = _temp(tmp_path, f"{tag}{_dead_pid():08x}00000000")
    live_writer = _temp(tmp_path, f"{tag}{os.getppid():08x}00000000")  # the pytest runner's parent: running
    this_process = _temp(tmp_path, f"{tag}{os.getpid():08x}00000000")  # maybe another thread saving now
    other_host = _temp(tmp_path, f"{'0' * 8 if tag != '0' * 8 else '1' * 8}{_dead_pid():08x}00000000")
    other_file = _temp(tmp_path, "0123456789abcdef", age_s=stale_after + 60, name="other.el")
    not_ours = [_temp(tmp_path, "0123456789abcdeg", age_s=stale_after + 60),  # not hex
                _temp(tmp_path, "0123456789abcde", age_s=stale_after + 60)]  # wrong length
    (tmp_path / ".ckpt.el.aaaaaaaaaaaaaaaa.tmp").mkdir()  # a directory is never removed
    os.symlink(tmp_path / other_file, tmp_path / ".ckpt.el.bbbbbbbbbbbbbbbb.tmp")  # nor a link
    os.utime(tmp_path / ".ckpt.el.bbbbbbbbbbbbbbbb.tmp", (0, 0), follow_symlinks=False)
    el.save([1], tmp_path / "ckpt.el")
    left = set(os.listdir(tmp_path))
    assert not left & {old_style_stale, dead_writer}
    assert {old_style_fresh, live_writer, this_process, other_host, other_file, *not_ours,
            ".ckpt.el.aaaaaaaaaaaaaaaa.tmp", ".ckpt.el.bbbbbbbbbbbbbbbb.tmp", "ckpt.el"} == left


KILLED_SAVE = """
import sys, time
from eagerlab.serialization import _files
def write(out):
    out.write(b"x" * 1000)
    out.flush()
    print("writing", flush=True)
    time.sleep(60)
_files.write_to(sys.argv[1], "save", write)
"""


@posix
def test_a_save_killed_midway_leaves_a_temp_file_that_the_next_save_removes(tmp_path):
    path = tmp_path / "ckpt.el"
    el.save([1], path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(path)], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout.readline() == b"writing\n"
        assert len(os.listdir(tmp_path)) == 2  # the old file and the killed save's temp file
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert el.load(path) == [1] and len(os.listdir(tmp_path)) == 2
    el.save([2], path)
    assert os.listdir(tmp_path) == ["ckpt.el"] and el.load(path) == [2]
