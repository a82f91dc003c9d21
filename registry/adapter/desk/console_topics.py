"""What the registry's console serves at the help desk (`.serve`), kept across a restart:
an admin who typed `.serve none` and walked away must not come back, after a crash and a
restart, to a person assigned to a console nobody watches."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from disk.files import os_reason, parse_json, read_text, replace_durably
from wire.desk.text import ALL_TOPICS, TOPICS

#: The file in the registry's data directory.
CONSOLE_TOPICS_FILE = "desk-console.json"


class ConsoleTopics:
    """The topics the console serves, in `<data dir>/desk-console.json`. No file means
    every topic, the default; the file is written only once `.serve` chose otherwise."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / CONSOLE_TOPICS_FILE

    def load(self) -> tuple[tuple[int, ...], str]:
        """The kept topics (ALL_TOPICS when none are kept), and a log line when the file
        could not be read ("" otherwise); an unreadable file means every topic, as before
        `.serve` was ever typed."""
        try:
            data = parse_json(read_text(self.path))
        except FileNotFoundError:
            return ALL_TOPICS, ""
        except (OSError, ValueError, RecursionError) as exc:
            why = os_reason(exc) if isinstance(exc, OSError) else "it is not JSON"
            return ALL_TOPICS, self._unreadable(why)
        topics = data.get("topics") if isinstance(data, dict) else None
        if not isinstance(topics, list) or not all(type(t) is int and t in TOPICS for t in topics):
            return ALL_TOPICS, self._unreadable("it holds no list of topics")
        return tuple(sorted(set(topics))), ""

    def _unreadable(self, why: str) -> str:
        return f"desk: could not read {self.path} ({why}); the console serves every topic"

    def save(self, topics: tuple[int, ...]) -> str:
        """Keep `topics`; every topic removes the file. A log line when it could not be
        kept ("" otherwise): the choice then holds until the registry stops."""
        try:
            if set(topics) == set(ALL_TOPICS):
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
            else:
                replace_durably(self.path, json.dumps({"topics": sorted(topics)}).encode())
        except OSError as exc:
            return f"desk: could not keep what the console serves ({os_reason(exc)})"
        return ""
