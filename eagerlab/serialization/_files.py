"""Saving to a path without changing more than the file's contents: atomic replacement (temp file, fsync, rename,
directory fsync), the existing file's permissions and owner kept, symlinks written through, and the temp files of
saves that were killed midway cleaned up by a later save to the same path.

Temp files are named `.<name>.<token>.tmp` beside the target, token = 8 hex digits naming this machine and PID
namespace, 8 hex digits of the writer's PID and 8 random hex digits. A later save to the same path removes such a
file when it is a regular file owned by the same user and either
  - its writer ran on this machine (same boot, same PID namespace) and that PID is no longer running, or
  - it has not been modified for STALE_AFTER_S seconds (the only test for temp files written on other hosts of a
    shared file system, and for those of the previous writer, whose token was 16 random hex digits).
A save in progress is never removed by the first rule (its PID is running), and only by the second when it has not
written a byte for an hour. Other files, links, directories and other users' files are never touched."""
import errno
import hashlib
import io
import os
import re
import stat
import time

from ..errors import SerializationError
from ._io import describe, is_path

STALE_AFTER_S = 3600


def write_to(f, op, write):
    """Call write(binary_file) on a path, atomically, or on an open writable binary file object."""
    if is_path(f):
        _write_atomic(os.fspath(f), op, write)
    elif not hasattr(f, "write"):
        raise TypeError(f"{op}: f must be a path or a writable binary file object, got {type(f).__name__}")
    elif isinstance(f, io.TextIOBase):
        raise TypeError(f"{op}: {describe(f)} is open in text mode; open it in binary mode ('wb')")
    else:
        write(f)


def _write_atomic(path, op, write):
    """Write a temp file beside the target, fsync it, rename it over the target, fsync the directory: a reader (or
    a crash) sees the old file or the new one, never a torn one; a failure removes the temp file and keeps the old
    file. A symlink at `path` is followed: its final target is replaced and the link stays."""
    target = os.path.realpath(path) if os.path.islink(path) else os.path.abspath(path)
    directory, name = os.path.split(target)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{op}: the directory {directory!r} of {path!r} does not exist")
    try:
        old = os.stat(target)
    except FileNotFoundError:
        old = None
    if old is not None and stat.S_ISDIR(old.st_mode):
        raise SerializationError(f"{op}: {path!r} is a directory; give a file name inside it, e.g. "
                                 f"{os.path.join(path, 'checkpoint.el')!r}")
    remove_stale_temp_files(directory, name)
    tmp = os.path.join(directory, f".{name}.{_host_tag()}{os.getpid() & 0xFFFFFFFF:08x}{os.urandom(4).hex()}.tmp")
    # A new file gets mode 0o666 less the umask, as open() gives; a replaced one starts private (0o600) and gets the
    # old file's mode and owner before any data is written, so its contents are never more exposed than before.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                 0o666 if old is None else 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            if old is not None:
                _copy_owner_and_mode(out.fileno(), old)
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException as e:
        os.unlink(tmp)
        if isinstance(e, IsADirectoryError):  # a directory appeared at the target while we wrote
            raise SerializationError(f"{op}: {path!r} is a directory") from None
        raise
    try:  # make the rename itself durable; some platforms/filesystems cannot open or fsync a directory
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def _copy_owner_and_mode(fd, old):
    """Give the temp file the replaced file's owner (where permitted) and then its permission bits (chown clears
    set-user-ID bits, so chmod comes second)."""
    if hasattr(os, "fchown"):
        for uid in (old.st_uid, -1):  # only root may give a file away; a user may still set a group of theirs
            try:
                os.fchown(fd, uid, old.st_gid)
                break
            except OSError:
                pass
    if hasattr(os, "fchmod"):
        os.fchmod(fd, stat.S_IMODE(old.st_mode))


def remove_stale_temp_files(directory, name):
    """Remove the temp files that killed saves to `directory/name` left behind (rule in the module docstring)."""
    pattern = re.compile(re.escape(f".{name}.") + r"([0-9a-f]{16}|[0-9a-f]{24})\.tmp")
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    now = time.time()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode) or (uid is not None and st.st_uid != uid):
                continue
            if now - st.st_mtime > STALE_AFTER_S or _writer_is_gone(match.group(1)):
                os.unlink(entry.path)
        except OSError:  # removed by another save meanwhile, or not ours to remove
            pass


def _writer_is_gone(token):
    if len(token) != 24 or token[:8] != _host_tag() or _host_tag() == _UNKNOWN_HOST:
        return False
    pid = int(token[8:16], 16)
    if pid == os.getpid():
        return False  # another thread of this process may be saving to the same path right now
    try:
        os.kill(pid, 0)
    except OSError as e:
        return e.errno == errno.ESRCH  # EPERM: the PID runs (as another user)
    return False


_TAG, _UNKNOWN_HOST = [], "0" * 8


def _host_tag():
    """8 hex digits naming this boot of this machine and this PID namespace ("00000000" where the platform
    cannot tell, so that PIDs are never compared across machines or containers)."""
    if not _TAG:
        try:
            with open("/proc/sys/kernel/random/boot_id", "rb") as f:
                ident = f.read() + os.readlink("/proc/self/ns/pid").encode()
            _TAG.append(hashlib.sha256(ident).hexdigest()[:8])
        except OSError:
            _TAG.append(_UNKNOWN_HOST)
    return _TAG[0]
