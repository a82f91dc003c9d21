"""Help-desk transcripts: one text file per session in the registry's data directory, each
record (scrubbed of the person's number already) appended as it happens; the end durably.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from disk.files import open_regular
from registry.core.desk.actions import SessionEnded, SessionLine, SessionStarted
from wire.desk.text import CRISIS_REASONS, DANGER_MARK, format_duration, topic_label

#: The transcripts' folder inside the registry's data directory.
TRANSCRIPT_DIR = "desk-transcripts"

Record = SessionStarted | SessionLine | SessionEnded

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class TranscriptStore:
    """Appends session records to files under `data_dir / TRANSCRIPT_DIR`."""

    def __init__(self, data_dir: Path, clock: Callable[[], float] = time.time) -> None:
        self.directory = data_dir / TRANSCRIPT_DIR
        self._clock = clock
        self._paths: dict[str, Path] = {}

    def write(self, record: Record) -> None:
        """Append one record to its session's file. Raises OSError when the disk refuses;
        the caller logs it and carries on (a lost transcript must not stop the desk)."""
        now = self._clock()
        if isinstance(record, SessionStarted):
            path = self._new_path(record.session, now)
            lines = [
                f"Help-desk session {record.session}",
                f"Person: {record.name} (phone {record.phone})",
                f"Topic: {topic_label(record.topic)}",
            ]
            if record.description:
                lines.append(f"Description: {record.description}")
            if record.crisis:
                why = CRISIS_REASONS.get(record.crisis, "words of crisis")
                lines.append(f"{DANGER_MARK} May be in danger: {why}")
            lines += [f"{DANGER_MARK} Wrote while waiting: {line}" for line in record.said]
            lines += [
                f"Operator: {record.operator}",
                f"Waited: {format_duration(record.waited)}",
                f"Started: {_stamp(now)}",
            ]
            self._append(path, lines, durable=False)
        elif isinstance(record, SessionLine):
            path = self._path(record.session, now)
            clock = time.strftime("%H:%M:%S", time.localtime(now))
            mark = f"{DANGER_MARK} " if record.crisis else ""
            line = f"[{clock}] {mark}{record.sender}: {record.text}"
            self._append(path, [line], durable=False)
        else:
            path = self._path(record.session, now)
            self._paths.pop(record.session, None)
            line = (
                f"Ended: {_stamp(now)} ({record.reason}; length {format_duration(record.length)})"
            )
            self._append(path, [line], durable=True)

    def _new_path(self, session: str, now: float) -> Path:
        # Transcripts hold names, topics and whole conversations: this user's only, like the
        # operator key (an existing directory is narrowed too).
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        # The session id comes from our own id maker, but a file name is no place to trust it.
        stem = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + "-" + _UNSAFE.sub("_", session)
        path = self.directory / f"{stem}.txt"
        self._paths[session] = path
        return path

    def _path(self, session: str, now: float) -> Path:
        # A record for a session whose start we did not see (it cannot happen through the
        # queue, but a lost start must not lose the rest) gets a file of its own.
        return self._paths.get(session) or self._new_path(session, now)

    @staticmethod
    def _append(path: Path, lines: list[str], *, durable: bool) -> None:
        fd = open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        with open(fd, "a", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in lines))
            if durable:
                handle.flush()
                os.fsync(handle.fileno())


def _stamp(now: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(now))
