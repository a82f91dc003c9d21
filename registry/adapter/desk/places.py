"""The help desk's waiting room kept on disk, so that a registry that stops without closing
the desk (a crash, `kill -9`) holds everyone's place when it starts again (docs/DESK.md).

The file holds full numbers, so it is its user's alone, and is removed when the room is
empty. Tokens are kept as their hashes: the file gives nobody a place (an older file's
tokens in clear still work). Times of joining are kept as the time of day, so that waits
go on counting across a restart.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from disk.files import is_finite_number, parse_json
from registry.adapter.desk.shelf import Shelf, shelf_of
from registry.core.credentials import TOKEN_HASH, token_hash
from registry.core.desk.actions import KeptPlace
from wire.desk.phone import normalise_phone
from wire.desk.text import CRISIS_REASONS, TOPICS, keep_said

#: The file in the registry's data directory (the record on the desk's shelf).
PLACES_FILE = "desk-places.json"

_FIELDS = ("token", "name", "phone", "topic", "description", "address", "joined_at")
#: Fields a file written before they were kept may lack: `operator` (who was serving the
#: person, "" for nobody), `back` (at the front, put back when a session was cut short),
#: `served` (seconds spent being served, left out of the wait), `serving_at` (the time of
#: day the session they are in began, null for none), `crisis` and `said` (the danger mark
#: and the lines of crisis typed while waiting; a string, the last line only, in files
#: written before every line was kept).
_LATER_FIELDS = ("operator", "back", "served", "serving_at", "crisis", "said")
#: What `crisis` may hold.
_CRISIS = frozenset({"", *CRISIS_REASONS})


class _Damage(ValueError):
    """What makes a kept waiting room unusable, in words for the log."""


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
            text = self._shelf.read(PLACES_FILE).decode()
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
            data = parse_json(text)
            entries = data["places"] if isinstance(data, dict) else None
            if not isinstance(entries, list):
                raise ValueError("it holds no list of places")
            return [_place(n, entry, offset) for n, entry in enumerate(entries, 1)], ""
        except json.JSONDecodeError:
            why = "it is not JSON"
        except RecursionError:
            why = "it is nested too deep"
        except ValueError as exc:  # _Damage, or a number parse_json refused
            why = str(exc)
        except KeyError:
            why = "it holds no list of places"
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
        entries = [
            {
                "token": p.token if p.token.startswith(TOKEN_HASH) else token_hash(p.token),
                "name": p.name,
                "phone": p.phone,
                "topic": p.topic,
                "description": p.description,
                "address": p.address,
                "joined_at": p.joined + offset,
                "operator": p.operator,
                "back": p.back,
                "served": p.served,
                "serving_at": None if p.serving_since is None else p.serving_since + offset,
                "crisis": p.crisis,
                "said": list(p.said),
            }
            for p in places
        ]
        text = json.dumps({"places": entries}, ensure_ascii=False, indent=1)
        self._shelf.write(PLACES_FILE, text.encode())


def _place(number: int, entry: Any, offset: float) -> KeptPlace:
    """The place `entry` spells, its times moved by `offset` from the time of day to the
    queue's clock; _Damage naming place `number` and what is wrong (the first thing found,
    in the order of the fields)."""
    if not isinstance(entry, dict) or not set(_FIELDS) <= set(entry) <= {
        *_FIELDS,
        *_LATER_FIELDS,
    }:
        raise _Damage(f"place {number} is not a kept place")
    operator = entry.get("operator", "")
    if not isinstance(operator, str):
        raise _Damage(f"place {number}: operator is not a name")
    token, name, phone, description, address, topic = _who(number, entry)
    joined_at, back, served, serving_at = _when(number, entry)
    crisis, said = _danger(number, entry)
    return KeptPlace(
        token,
        name,
        phone,
        topic,
        description,
        address,
        joined_at - offset,
        operator,
        back,
        served,
        None if serving_at is None else serving_at - offset,
        crisis,
        said,
    )


def _who(number: int, entry: dict[str, Any]) -> tuple[str, str, str, str, str, int]:
    """The token, name, phone, description, address and topic of place `number`."""
    strings = [entry[k] for k in ("token", "name", "phone", "description", "address")]
    topic = entry["topic"]
    if not all(isinstance(v, str) for v in strings) or not strings[0]:
        raise _Damage(f"place {number} is not a kept place")
    if type(topic) is not int or topic not in TOPICS:
        raise _Damage(f"place {number}: topic {str(topic)[:20]} is not a topic")
    if normalise_phone(strings[2]) != strings[2]:
        raise _Damage(f"place {number}: the phone is not a number")
    token, name, phone, description, address = strings
    return token, name, phone, description, address, topic


def _when(number: int, entry: dict[str, Any]) -> tuple[float, bool, float, float | None]:
    """When place `number` joined, whether it is `back` at the front, how long its person
    was served, and when the session they are in began (None: none), as kept."""
    joined_at = entry["joined_at"]
    if not is_finite_number(joined_at):
        raise _Damage(f"place {number}: joined_at is not a time")
    back, served = entry.get("back", False), entry.get("served", 0)
    if type(back) is not bool:
        raise _Damage(f"place {number}: back is not true or false")
    if not is_finite_number(served) or served < 0:
        raise _Damage(f"place {number}: served is not a length of time")
    serving_at = entry.get("serving_at")
    if serving_at is not None and not is_finite_number(serving_at):
        raise _Damage(f"place {number}: serving_at is not a time")
    return joined_at, back, served, serving_at


def _danger(number: int, entry: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """Why place `number`'s person may be in danger ("" for nothing) and the lines of
    crisis they typed while waiting, within the bounds whatever the file holds."""
    crisis, said = entry.get("crisis", ""), entry.get("said", "")
    if not isinstance(crisis, str) or crisis not in _CRISIS:
        raise _Damage(f"place {number}: crisis is not a reason")
    if isinstance(said, str):  # as written before every line was kept: the last one
        said = [said] if said else []
    if not isinstance(said, list) or not all(isinstance(line, str) for line in said):
        raise _Damage(f"place {number}: said is not a list of lines")
    kept: tuple[str, ...] = ()
    for line in said:
        kept = keep_said(kept, line)
    return crisis, kept
