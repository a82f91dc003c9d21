"""The help desk's waiting room kept on disk, so that a registry that stops without closing
the desk (a crash, a power cut, `kill -9`) holds everyone's place when it starts again.

Each client, on losing its connection, tells its person that their place is kept for the
grace period and reconnects with its token; without this file, a restarted registry knew
no token and sent them to the back of a new queue. The file holds full phone numbers and
descriptions, so it is readable by the registry's user only, and it is removed when the
waiting room is empty (a desk closed on purpose tells everyone and empties it).

The queue's clock is monotonic, which does not carry across a restart; here each place's
time of joining is kept as wall-clock time, so that its wait goes on counting.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from peer.files import read_text, replace_durably
from registry.desk_queue import KeptPlace

#: The file in the registry's data directory.
PLACES_FILE = "desk-places.json"

_FIELDS = ("token", "name", "phone", "topic", "description", "address", "joined_at")
#: Fields a kept place may lack (a file written before they were kept): "operator", who
#: was serving the person ("" for nobody).
_OPTIONAL = ("operator",)


class PlacesFile:
    """Reads and replaces the kept places. `clock` is the queue's clock; `wall` the time of
    day, to carry times of joining across a restart."""

    def __init__(
        self,
        data_dir: Path,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.path = data_dir / PLACES_FILE
        self._clock = clock
        self._wall = wall

    def load(self) -> tuple[list[KeptPlace], str]:
        """The places kept by the run before, in order, and a problem to log ("" when
        none). No place is held from a file that cannot be read; a damaged one is renamed
        aside with the suffix `.unreadable`, so that what it held is not lost unseen."""
        try:
            text = read_text(self.path)
        except FileNotFoundError:
            return [], ""
        except (OSError, ValueError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
            return (
                [],
                f"desk: could not read the kept waiting room {self.path} ({why}); no place held",
            )
        try:
            offset = self._wall() - self._clock()
            return [self._place(entry, offset) for entry in json.loads(text)["places"]], ""
        except (ValueError, KeyError, TypeError):
            aside = self.path.with_name(self.path.name + ".unreadable")
            with contextlib.suppress(OSError):
                os.replace(self.path, aside)
            return [], (
                f"desk: the kept waiting room {self.path} is damaged; moved to {aside.name}, "
                "no place held"
            )

    @staticmethod
    def _place(entry: Any, offset: float) -> KeptPlace:
        if not isinstance(entry, dict) or not set(_FIELDS) <= set(entry) <= {*_FIELDS, *_OPTIONAL}:
            raise ValueError("not a kept place")
        operator = entry.get("operator", "")
        if not isinstance(operator, str):
            raise ValueError("not a kept place")
        strings = [entry[k] for k in ("token", "name", "phone", "description", "address")]
        topic, joined_at = entry["topic"], entry["joined_at"]
        if not all(isinstance(v, str) for v in strings) or not strings[0]:
            raise ValueError("not a kept place")
        if not isinstance(topic, int) or not isinstance(joined_at, int | float):
            raise ValueError("not a kept place")
        token, name, phone, description, address = strings
        return KeptPlace(
            token, name, phone, topic, description, address, joined_at - offset, operator
        )

    def save(self, places: tuple[KeptPlace, ...]) -> None:
        """Replace the kept places with `places`, atomically and durably; with none, remove
        the file. Raises OSError."""
        if not places:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        offset = self._wall() - self._clock()
        entries = [
            {
                "token": p.token,
                "name": p.name,
                "phone": p.phone,
                "topic": p.topic,
                "description": p.description,
                "address": p.address,
                "joined_at": p.joined + offset,
                "operator": p.operator,
            }
            for p in places
        ]
        text = json.dumps({"places": entries}, ensure_ascii=False, indent=1)
        replace_durably(self.path, text.encode())
