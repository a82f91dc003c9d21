"""An append-only file of short records that a killed process keeps, at almost no cost:
the peer writes one before every message it shows and every message it sends."""

from __future__ import annotations

import errno
import mmap
import os
from pathlib import Path

from disk.files import open_regular, read_bytes, replace_durably

#: Bytes a log grows by: its file is NUL-padded to a whole number of them.
CHUNK = 64 * 1024


def _chunks(size: int) -> int:
    """`size` rounded up to whole CHUNKs, and at least one."""
    return max(1, -(-size // CHUNK)) * CHUNK


def complete_records(data: bytes) -> bytes:
    """A log's bytes up to the end of its last complete record: without the NUL padding,
    and without a record cut short by a kill (one that lacks its newline; one cut short
    with its newline written has NULs where bytes are missing, and `MappedLog.read` skips
    it)."""
    return data[: data.rstrip(b"\0").rfind(b"\n") + 1]


class MappedLog:
    """Records, each ending in a newline, appended to a file through a shared memory map.

    What is stored in the map is in the kernel's page cache at once, so a killed process
    keeps it just as it keeps a write(2), but with no system call. No fsync: this guards
    against the process being killed, not against a power cut. The file's blocks are
    reserved when it grows, so a full disk is an OSError then, not a SIGBUS on a store.
    The file is readable by this user only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._map: mmap.mmap | None = None
        self._end = 0  # where the next record goes

    @property
    def size(self) -> int:
        """Bytes of records written since the log was opened or last cleared."""
        return self._end

    def read(self) -> list[bytes]:
        """The complete records in the file, oldest first, without their newlines; [] when
        there is no file. Raises OSError."""
        try:
            data = read_bytes(self.path)
        except FileNotFoundError:
            return []
        lines = complete_records(data).split(b"\n")[:-1]
        return [line for line in lines if b"\0" not in line]

    def append(self, data: bytes) -> None:
        """Store `data`, whole records, after the last one. Raises OSError."""
        mapped, start = self._map, self._end
        if mapped is None or start + len(data) > len(mapped):
            mapped, start = self._open(len(data)), self._end
        end = start + len(data)
        mapped[start:end] = data
        self._end = end

    def clear(self) -> None:
        """Forget every record this log holds: NULs over them, and the next record goes
        first. A kill during this leaves some of them, which the caller must allow."""
        if self._map is not None and self._end:
            self._map[: self._end] = bytes(self._end)
            self._end = 0

    def replace(self, data: bytes) -> None:
        """Make `data`, whole records, the file's whole content, durably (a new file, then a
        rename: a kill leaves the old records or the new). Raises OSError."""
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        replace_durably(self.path, data)

    def close(self) -> None:
        """Unmap the file if it is mapped (before it is moved, say); the next append maps
        it again, after the records it then holds."""
        if self._map is not None:
            self._map.close()
            self._map = None
        self._end = 0

    def _open(self, room: int) -> mmap.mmap:
        """Map the file with room for `room` more bytes of records; the map."""
        growing = self._map is not None
        if self._map is not None:
            self._map.close()  # mapped again, larger: rare, a chunk at a time
            self._map = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # readable by this user only (a file from an earlier version, made 0644, is made
        # private too): it says who talked to whom
        fd = open_regular(self.path, os.O_RDWR | os.O_CREAT)
        try:
            os.fchmod(fd, 0o600)
            if not growing:
                old = os.pread(fd, os.fstat(fd).st_size, 0)
                self._end = len(complete_records(old))
                # NUL padding, or a record cut short: cleared for new ones
                os.ftruncate(fd, self._end)
            size = _chunks(self._end + room)
            os.ftruncate(fd, size)
            try:
                os.posix_fallocate(fd, 0, size)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                    raise
            self._map = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        return self._map
