"""An append-only file of short records that a killed process keeps, at almost no cost
(`MappedLog`), and the records of the peer's log of what it has shown: `sender<TAB>id` for
each message shown, and each line held, in JSON."""

from __future__ import annotations

import errno
import mmap
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import msgspec

from disk.files import fsync_dir, open_regular, read_bytes, replace_durably
from peer.core.actions import Held
from wire.names import name_key

#: Bytes a log grows by: its file is NUL-padded to a whole number of them.
CHUNK = 64 * 1024


def complete_records(data: bytes) -> bytes:
    """A log's bytes up to the end of its last complete record (one with its newline)."""
    return data[: data.rstrip(b"\0").rfind(b"\n") + 1]


class MappedLog:
    """Records, each ending in a newline, appended to a file (this user's only) through a
    shared memory map: a killed process keeps them as it keeps a write(2), with no system
    call; a power cut may not. Blocks are reserved as it grows: a full disk is an OSError."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._map: mmap.mmap | None = None
        #: Bytes of records written since opened or last cleared: where the next one goes.
        self.size = 0

    def read(self) -> list[bytes]:
        """The complete records, oldest first, without their newlines. Raises OSError."""
        try:
            data = read_bytes(self.path)
        except FileNotFoundError:
            return []
        lines = complete_records(data).split(b"\n")[:-1]
        return [line for line in lines if b"\0" not in line]

    def append(self, data: bytes) -> None:
        mapped = self._map
        if mapped is None or self.size + len(data) > len(mapped):
            mapped = self._open(len(data))
        self.size += mapped.write(data)  # at `size`, where the map's position is kept

    def sync(self) -> None:
        if self._map is not None:
            self._map.flush()
            fsync_dir(self.path.parent)

    def clear(self) -> None:
        """Forget every record (NULs over them); a kill meanwhile leaves some of them."""
        if self._map is None and self.path.exists():  # (moved here by a rename, say)
            self._open(0)
        if self._map is not None and self.size:
            self._map[: self.size] = bytes(self.size)
            self._map.seek(0)
            self.size = 0

    def replace(self, data: bytes) -> None:
        """Make `data` the file's whole content: a kill leaves the old records or the new."""
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        replace_durably(self.path, data)

    def close(self) -> None:
        """Unmap the file; the next append maps it again, after the records it then holds."""
        if self._map is not None:
            self._map.close()
            self._map = None
        self.size = 0

    def _open(self, room: int) -> mmap.mmap:
        if growing := self._map is not None:
            self._map.close()  # mapped again, larger: rare, a chunk at a time
            self._map = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # readable by this user only (a file from an earlier version, made 0644, is made
        # private too): it says who talked to whom
        fd = open_regular(self.path, os.O_RDWR | os.O_CREAT)
        try:
            os.fchmod(fd, 0o600)
            if not growing:
                self.size = len(complete_records(os.pread(fd, os.fstat(fd).st_size, 0)))
                # NUL padding, or a record cut short: cleared for new ones
                os.ftruncate(fd, self.size)
            size = max(1, -(-(self.size + room) // CHUNK)) * CHUNK  # whole CHUNKs, one at least
            os.ftruncate(fd, size)
            try:
                os.posix_fallocate(fd, 0, size)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                    raise
            self._map = mmap.mmap(fd, size)
            self._map.seek(self.size)
        finally:
            os.close(fd)
        return self._map


def shown_records(records: list[bytes]) -> tuple[list[tuple[str, str] | Held], int]:
    """The (sender, id) pairs of a log of what was shown, and the lines held and not shown
    since, oldest first; with the count of records that are neither."""
    pairs: list[tuple[str, str] | Held] = []
    held_at: dict[tuple[str, str], int] = {}  # a Held not shown yet: its place in pairs
    damaged = 0
    for record in records:
        try:  # a notice's sender is "": "\tid" is a record; a Held's JSON has no tab
            sender, tab, msg_id = record.decode("utf-8").partition("\t")
            if not tab:
                held = msgspec.json.decode(record, type=Held)
                held_at[held.key] = len(pairs)
                pairs.append(held)
                continue
        except (UnicodeDecodeError, msgspec.DecodeError):
            damaged += 1
            continue
        pair = (_unescape(sender), _unescape(msg_id))
        at = held_at.pop((name_key(pair[0]), pair[1]), None) if held_at else None
        if at is None:
            pairs.append(pair)
        else:  # shown at last: its pair takes its place, its text kept no more
            pairs[at] = pair
    return pairs, damaged


def seen_records(shown: Sequence[tuple[str, str]]) -> bytes:
    records = []
    for sender, msg_id in shown:  # (not a comprehension: pure, a call of its own)
        records.append(f"{sender}\t{msg_id}\n")
    text = "".join(records)
    extra = text.count("\t") + text.count("\n") - 2 * len(shown)  # a sender's or id's own
    if extra or "\\" in text or "\0" in text or "\r" in text:  # rare: see _ESCAPES
        text = "".join([f"{s.translate(_ESCAPE)}\t{i.translate(_ESCAPE)}\n" for s, i in shown])
    return text.encode()


def kept_records(items: Sequence[tuple[str, str] | Held]) -> bytes:
    held = msgspec.json.encode
    return b"".join(held(i) + b"\n" if isinstance(i, Held) else seen_records((i,)) for i in items)


#: A sender or id from the network may hold a tab or newline (cutting its record in two) or
#: a NUL (a record cut short by a kill): those, and the backslash, are escaped.
_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\0": "\\0", "\r": "\\r"}
_UNESCAPES = {v[1]: k for k, v in _ESCAPES.items()}
_ESCAPE: Final = str.maketrans(_ESCAPES)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    return _ESCAPED.sub(lambda m: _UNESCAPES.get(m[1], m[1]), value)


def why_unreadable(exc: OSError | ValueError | RecursionError) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return "it is not what ChatApp writes there"
