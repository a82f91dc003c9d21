"""Where ChatApp keeps its files, and how it writes them so that a crash or a power cut
leaves either the old content or the new, never a mix (docs/ARCHITECTURE.md)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import math
import os
import secrets
import stat
from pathlib import Path
from typing import Any

#: Environment variable that overrides every default data directory.
DATA_DIR_ENV = "CHATAPP_DATA_DIR"


def default_dir(kind: str) -> Path:
    """The directory for `kind` ("registry", "peer" or "desk"): $CHATAPP_DATA_DIR, else
    platformdirs' user data folder (the registry's) or state folder, with chatapp/<kind>;
    an earlier ChatApp's folder at the Linux place is kept."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs  # here: only a start without --data-dir needs it

    if kind == "registry":
        base = Path(platformdirs.user_data_dir("chatapp", appauthor=False))
        earlier = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    else:
        base = Path(platformdirs.user_state_dir("chatapp", appauthor=False))
        earlier = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    kept = Path(earlier) / "chatapp" / kind
    chosen = base / kind
    return kept if kept != chosen and kept.is_dir() and not chosen.exists() else chosen


class NotRegularFile(OSError):
    """A data file that is a named pipe, a device or a socket: refused."""

    def __init__(self, path: Path | str, mode: int) -> None:
        # errno 0: `os_reason` then says the words below, not the system's for an errno
        kind = _KINDS.get(stat.filemode(mode)[0], "of an unknown kind")
        super().__init__(0, f"not a regular file ({kind})", str(path))

    def __str__(self) -> str:
        return str(self.strerror)  # not "[Errno 0] ...": the callers name the file


#: What `stat.filemode` calls each kind of file that is not a regular one or a directory.
_KINDS = {"p": "a named pipe", "s": "a socket", "c": "a character device", "b": "a block device"}


def open_regular(path: Path, flags: int, mode: int = 0o600) -> int:
    """`os.open(path, flags, mode)` for a data file, opened without waiting and refused
    unless a regular file. Raises NotRegularFile, IsADirectoryError, or OSError."""
    try:
        fd = os.open(path, flags | os.O_NONBLOCK, mode)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a named pipe nobody reads, opened for writing
            found = 0
            with contextlib.suppress(OSError):
                found = os.stat(path).st_mode
            if found and not stat.S_ISREG(found):
                raise NotRegularFile(path, found) from None
        raise
    try:
        found = os.fstat(fd).st_mode
        if stat.S_ISDIR(found):  # said as the system says it when opened for writing
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(found):
            raise NotRegularFile(path, found)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bytes(path: Path) -> bytes:
    """The content of the data file `path`. Raises as `open_regular`."""
    with os.fdopen(open_regular(path, os.O_RDONLY), "rb") as f:
        return f.read()


def read_text(path: Path, errors: str = "strict") -> str:
    """`read_bytes(path)` as UTF-8 text. Raises as `read_bytes`, and UnicodeDecodeError."""
    return read_bytes(path).decode("utf-8", errors)


def parse_json(text: str) -> Any:
    """`json.loads(text)`, refusing numbers that are not finite (`NaN`, `1e999`). Raises
    ValueError, RecursionError."""
    return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number ChatApp writes")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is too large a number")
    return value


def replace_durably(path: Path, data: bytes, tmp: Path | None = None) -> None:
    """Replace `path` with `data`, atomically and durably, readable by this user only,
    written first at `tmp` (default: `path` and .tmp). Raises OSError."""
    tmp = tmp or path.with_name(path.name + ".tmp")
    _write_synced(open_regular(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), data)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def _write_synced(fd: int, data: bytes) -> None:
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def create_once(path: Path, data: bytes) -> bool:
    """Make `path` hold `data` (readable by this user only, its folder made) unless it
    exists: False when a file was there (of two programs, the first wins). Raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = open_regular(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        _write_synced(fd, data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        fsync_dir(path.parent)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def append_bytes(path: Path, data: bytes, *, fsync: bool) -> None:
    """Append `data` to the data file `path`. Raises OSError."""
    fd = open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        while data:
            data = data[os.write(fd, data) :]
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make the entries of directory `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class InUse(Exception):
    """Another running process, `pid` (0: unknown), holds the lock."""

    def __init__(self, pid: int) -> None:
        super().__init__(f"locked by pid {pid}")
        #: " (pid N)", or "" when the pid is unknown: said after what holds the lock.
        self.by = f" (pid {pid})" if pid else ""


def private_folder(path: Path) -> str:
    """Make the data folder `path` mode 0700, or tighten one of ours to that: the line
    that says so, or "". Raises OSError."""
    try:
        mode = path.stat()
    except FileNotFoundError:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return ""
    if not mode.st_mode & 0o077 or mode.st_uid != os.getuid():
        return ""
    os.chmod(path, 0o700)
    was = oct(mode.st_mode & 0o777)[2:]
    return f"{path} could be read by others (mode {was}); it is now yours alone (mode 700)."


def hold_lock(path: Path) -> int:
    """Lock `path` (an flock, its folder made private if there is none) while the returned
    descriptor stays open, and write this process's id in it. Raises InUse, OSError."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = open_regular(path, os.O_RDWR | os.O_CREAT)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InUse(_pid_in(fd)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _pid_in(fd: int) -> int:
    try:
        return int(os.pread(fd, 32, 0).decode("ascii").strip() or 0)
    except (OSError, ValueError):
        return 0


def os_reason(exc: BaseException) -> str:
    """Why a file or socket operation failed, without the errno ("Permission denied: /x")."""
    if isinstance(exc, OSError) and exc.strerror:
        # asyncio's connect puts its own words in strerror ("Connect call failed (...)")
        said = os.strerror(exc.errno) if exc.errno else exc.strerror
        return f"{said}: {exc.filename}" if exc.filename else said
    return str(exc) or type(exc).__name__


def why_unreadable(exc: OSError | ValueError | RecursionError) -> str:
    """Why a file of the program's own could not be read, for a line that names it."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return "it is not what ChatApp writes there"
