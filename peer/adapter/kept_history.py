"""The commands typed at a peer's prompt, kept between runs: one JSON string a line, the last
KEEP, never a line holding the password."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path

from prompt_toolkit.history import History

from disk.files import append_bytes, read_text, replace_durably

#: Entries kept: older ones are dropped as the file is read at the start.
KEEP = 1000


class KeptHistory(History):
    """The history in the file `path()`; lines holding `secret` are not kept."""

    def __init__(self, path: Callable[[], Path], secret: str = "") -> None:
        super().__init__()
        self._path = path
        self._secret = secret

    def load_history_strings(self) -> Iterable[str]:
        path = self._path()
        try:
            lines = read_text(path, errors="replace").splitlines()
        except OSError:
            return []
        entries = [text for text in map(_entry, lines) if text]
        if len(lines) > KEEP:  # grown past KEEP: the file with the last KEEP alone
            with contextlib.suppress(OSError):
                replace_durably(path, _lines(entries[-KEEP:]))
        return list(reversed(entries[-KEEP:]))

    def store_string(self, string: str) -> None:
        if self._secret and self._secret in string:
            return
        with contextlib.suppress(OSError):
            append_bytes(self._path(), _lines([string]), fsync=False)


def _lines(entries: list[str]) -> bytes:
    return "".join(json.dumps(text) + "\n" for text in entries).encode()


def _entry(line: str) -> str:
    try:
        text = json.loads(line)
    except ValueError:
        return ""
    return text if isinstance(text, str) else ""
