"""The help desk's history of session lengths, kept across a restart so that estimates
after it are not guesses again: the estimator's averages (registry.core.desk.estimate), which
are all it needs. No names, numbers or times of day are in the file.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from disk.files import os_reason
from registry.adapter.desk.shelf import Shelf, shelf_of
from registry.core.desk.estimate import Average
from wire.desk.text import TOPICS

#: The file in the registry's data directory, beside the other desk files.
HISTORY_FILE = "desk-history.json"

History = tuple[Average, dict[int, Average]]


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
            data = json.loads(self._shelf.read(HISTORY_FILE))
        except FileNotFoundError:
            return None, ""
        except (OSError, ValueError) as exc:
            why = os_reason(exc) if isinstance(exc, OSError) else "it is not JSON"
            return None, self._unreadable(why)
        history = _history(data)
        if history is None:
            return None, self._unreadable("it holds no averages of session lengths")
        return history, ""

    def save(self, history: History) -> str:
        """Keep `history`, atomically. A log line when it could not be kept ("" otherwise):
        the estimates go on, and the next session's end tries again."""
        overall, by_topic = history
        data = {
            "overall": _average_data(overall),
            "topics": {str(t): _average_data(a) for t, a in sorted(by_topic.items())},
        }
        try:
            self._shelf.write(HISTORY_FILE, json.dumps(data).encode())
        except OSError as exc:
            return f"desk: could not keep the history of session lengths ({os_reason(exc)})"
        return ""

    def _unreadable(self, why: str) -> str:
        return (
            f"desk: could not read {self.path} ({why}); wait estimates start with no "
            "history of session lengths"
        )


def _average_data(average: Average) -> dict[str, float]:
    return {"count": average.count, "mean": average.mean, "dev": average.dev}


def _history(data: object) -> History | None:
    """The history in `data` (parsed JSON), or None when it is not one."""
    if not isinstance(data, dict) or not isinstance(data.get("topics"), dict):
        return None
    overall = _average(data.get("overall"))
    by_topic: dict[int, Average] = {}
    for key, value in data["topics"].items():
        average = _average(value)
        if average is None or not (key.isdigit() and key.isascii() and int(key) in TOPICS):
            return None
        by_topic[int(key)] = average
    if overall is None:
        return None
    return overall, by_topic


def _average(data: object) -> Average | None:
    """An Average from its kept form, or None when it is not one: a count (a whole
    number, not negative) and a finite mean and deviation, not negative."""
    if not isinstance(data, dict):
        return None
    count, mean, dev = data.get("count"), _seconds(data.get("mean")), _seconds(data.get("dev"))
    if type(count) is not int or count < 0 or mean is None or dev is None:
        return None
    return Average(count, mean, dev)


def _seconds(value: object) -> float | None:
    """`value` as a number of seconds: finite and not negative (JSON may hold NaN); else
    None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    seconds = float(value)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
