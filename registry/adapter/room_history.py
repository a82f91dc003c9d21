"""The rooms' last lines on disk, `rooms/<room key>.jsonl`, one RoomMessage per line as
the wire encodes it, oldest first.

Written without fsync: nothing is acknowledged on their account (a sender keeps its line
until every member has it), and a power cut may lose the last few. A file is rewritten
with the last ROOM_HISTORY lines once it holds twice as many; a line that is not a room
message is skipped and logged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path

from disk.files import append_bytes, read_bytes, replace_durably
from registry.core.rooms import ROOM_HISTORY
from wire.codec import decode, encode
from wire.errors import DecodeError
from wire.messages import RoomMessage
from wire.names import name_problem


class RoomHistoryFiles:
    """Reads and writes `rooms/` under a data directory; errors are logged, not raised."""

    def __init__(self, root: Path, log: Callable[[str], None] = lambda line: None) -> None:
        self.dir = root / "rooms"
        self._log = log
        # lines in each room's file, as far as this process wrote or read them
        self._lines: dict[str, int] = {}
        self._failed = ""  # the last error logged, so that one failing disk says so once

    def load(self) -> dict[str, list[RoomMessage]]:
        """The last ROOM_HISTORY lines of each room's file, by room key, oldest first."""
        histories: dict[str, list[RoomMessage]] = {}
        try:
            paths = sorted(self.dir.glob("*.jsonl"))
        except OSError as exc:
            self._failed_to(f"read {self.dir}", exc)
            return histories
        for path in paths:
            room = path.stem
            if name_problem(room) or room != room.casefold():
                continue
            try:
                lines = [line for line in read_bytes(path).split(b"\n") if line.strip()]
            except OSError as exc:
                self._failed_to(f"read {path}", exc)
                continue
            kept = []
            for line in lines:
                try:
                    message = decode(line)
                except DecodeError:
                    message = None
                if isinstance(message, RoomMessage):
                    kept.append(message)
            if len(kept) < len(lines):
                skipped = len(lines) - len(kept)
                self._log(f"{path}: {skipped} line(s) that are not room messages skipped")
            self._lines[room] = len(lines)
            if kept:
                histories[room] = kept[-ROOM_HISTORY:]
        return histories

    def keep(self, room: str, history: Sequence[RoomMessage]) -> None:
        """`history` is room `room`'s now, its last line new: append it, or rewrite."""
        path = self._path(room)
        if path is None or not history:
            return
        try:
            lines = self._lines.get(room)
            if lines is None:  # first written by this process: as many as it holds
                with contextlib.suppress(FileNotFoundError):
                    lines = read_bytes(path).count(b"\n")
            if lines is not None and lines + 1 >= 2 * ROOM_HISTORY:
                self.dir.mkdir(exist_ok=True)
                replace_durably(path, b"".join(encode(m) + b"\n" for m in history))
                self._lines[room] = len(history)
                return
            self.dir.mkdir(exist_ok=True)
            append_bytes(path, encode(history[-1]) + b"\n", fsync=False)
            self._lines[room] = (lines or 0) + 1
        except OSError as exc:
            self._lines.pop(room, None)
            self._failed_to(f"keep the history of room {room} in {path}", exc)

    def drop(self, room: str) -> None:
        """Room `room`'s history is no longer kept (see KEPT_EMPTIED): remove its file."""
        path = self._path(room)
        self._lines.pop(room, None)
        if path is None:
            return
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            self._failed_to(f"remove {path}", exc)

    def _path(self, room: str) -> Path | None:
        # the last gate: no room key spells a path outside the directory
        if name_problem(room) or room != room.casefold():
            self._log(f"refusing room history file for {room!r}")
            return None
        return self.dir / f"{room}.jsonl"

    def _failed_to(self, what: str, exc: OSError) -> None:
        error = f"cannot {what}: {exc.strerror or exc}"
        if error != self._failed:
            self._failed = error
            self._log(f"{error}; rooms go on, and their last lines may not survive a restart")
