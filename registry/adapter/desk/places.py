"""The help desk's waiting room kept on disk, so that a registry that stops without closing
the desk holds everyone's place when it starts again (docs/DESK.md). Tokens are kept as
their hashes, times as the time of day; an empty room removes the file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import msgspec
from msgspec import Struct
from msgspec.structs import replace

from registry.adapter.desk.shelf import Shelf, shelf_of
from registry.core.credentials import TOKEN_HASH, token_hash
from registry.core.desk.actions import KeptPlace
from wire.desk.phone import normalise_phone
from wire.desk.text import CRISIS_REASONS, TOPICS, keep_said

#: The file in the registry's data directory (the record on the desk's shelf).
PLACES_FILE = "desk-places.json"


class _File(Struct):
    places: list[KeptPlace]


class PlacesFile:
    """Reads and replaces the kept places, in a data folder or on a shelf
    (registry.adapter.desk.shelf). `clock` is the queue's clock; `wall` the time of day, to carry
    times of joining across a restart (and from one registry of a service to another)."""

    def __init__(
        self,
        data_dir: Path | Shelf,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._shelf = shelf_of(data_dir)
        self.path = self._shelf.where(PLACES_FILE)
        self._clock = clock
        self._wall = wall

    def load(self) -> tuple[list[KeptPlace], str]:
        """The places kept by the run before, in order, and a problem to log ("" when
        none). No place is held from a file that cannot be read; a damaged one is renamed
        aside with the suffix `.unreadable`, so that what it held is not lost unseen."""
        try:
            data = self._shelf.read(PLACES_FILE)
        except FileNotFoundError:
            return [], ""
        except OSError as exc:
            return [], (
                f"desk: could not read the kept waiting room {self.path} ({exc.strerror}); "
                "no place held"
            )
        try:
            entries = msgspec.json.decode(data, type=_File).places
            offset = self._wall() - self._clock()
            return [_place(n, entry, offset) for n, entry in enumerate(entries, 1)], ""
        except (msgspec.DecodeError, ValueError) as exc:  # (ValidationError is a DecodeError)
            why = str(exc)
        aside = self._shelf.set_aside(PLACES_FILE)
        return [], (
            f"desk: the kept waiting room {self.path} is damaged; moved to {aside}, "
            f"no place held ({why})"
        )

    def save(self, places: tuple[KeptPlace, ...]) -> None:
        """Replace the kept places with `places`, atomically and durably; with none, remove
        the file. Raises OSError."""
        if not places:
            self._shelf.remove(PLACES_FILE)
            return
        offset = self._wall() - self._clock()
        entries = [replace(_moved(p, offset), token=_hashed(p.token)) for p in places]
        self._shelf.write(PLACES_FILE, msgspec.json.format(msgspec.json.encode(_File(entries))))


def _place(number: int, entry: KeptPlace, offset: float) -> KeptPlace:
    """The place `entry` spells, its times moved by `offset` from the time of day to the
    queue's clock, and at most MAX_SAID_LINES of its lines of crisis (wire.desk.text
    keep_said); ValueError naming place `number` and what in it is no value the desk keeps."""
    if entry.topic not in TOPICS:
        raise ValueError(f"place {number}: topic {entry.topic} is not a topic")
    if normalise_phone(entry.phone) != entry.phone:
        raise ValueError(f"place {number}: the phone is not a number")
    if entry.crisis and entry.crisis not in CRISIS_REASONS:
        raise ValueError(f"place {number}: crisis is not a reason")
    said: tuple[str, ...] = ()
    for line in entry.said:
        said = keep_said(said, line)
    return replace(_moved(entry, -offset), said=said)


def _moved(place: KeptPlace, offset: float) -> KeptPlace:
    """`place` with its times moved by `offset`."""
    since = place.serving_since
    return replace(
        place, joined=place.joined + offset, serving_since=None if since is None else since + offset
    )


def _hashed(token: str) -> str:
    """A token as the file keeps it: its hash."""
    return token if token.startswith(TOKEN_HASH) else token_hash(token)
