"""The help desk's history of session lengths, kept across a restart so that estimates
after it are not guesses again: the estimator's averages (registry.core.desk.estimate), which
are all it needs. No names, numbers or times of day are in the file.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
from msgspec import Struct

from disk.files import os_reason
from registry.adapter.desk.shelf import Shelf, shelf_of
from registry.core.desk.estimate import Average
from wire.desk.text import TOPICS

#: The file in the registry's data directory, beside the other desk files.
HISTORY_FILE = "desk-history.json"

History = tuple[Average, dict[int, Average]]


class _File(Struct):
    """The overall average, and each topic's by its number."""

    overall: Average
    topics: dict[int, Average]


class HistoryFile:
    """The averages of `<data dir>/desk-history.json`."""

    def __init__(self, data_dir: Path | Shelf) -> None:
        self._shelf = shelf_of(data_dir)
        self.path = self._shelf.where(HISTORY_FILE)

    def load(self) -> tuple[History | None, str]:
        """The history kept by a run before, or None when there is none; and a log line
        ("" otherwise) when the file could not be used, in which case the estimates start
        with no history, as on a first start (the file is replaced by the next save)."""
        try:
            kept = msgspec.json.decode(self._shelf.read(HISTORY_FILE), type=_File)
        except FileNotFoundError:
            return None, ""
        except OSError as exc:
            return None, self._unreadable(os_reason(exc))
        except msgspec.ValidationError as exc:
            return None, self._unreadable(f"it holds no averages of session lengths: {exc}")
        except msgspec.DecodeError:
            return None, self._unreadable("it is not JSON")
        if not set(kept.topics) <= set(TOPICS):
            return None, self._unreadable("it holds no averages of session lengths")
        return (kept.overall, kept.topics), ""

    def save(self, history: History) -> str:
        """Keep `history`, atomically. A log line when it could not be kept ("" otherwise):
        the estimates go on, and the next session's end tries again."""
        overall, by_topic = history
        try:
            self._shelf.write(
                HISTORY_FILE, msgspec.json.encode({"overall": overall, "topics": by_topic})
            )
        except OSError as exc:
            return f"desk: could not keep the history of session lengths ({os_reason(exc)})"
        return ""

    def _unreadable(self, why: str) -> str:
        return (
            f"desk: could not read {self.path} ({why}); wait estimates start with no "
            "history of session lengths"
        )
