"""The colour of each name on a terminal: names online at once kept apart, and a name's
colour kept for the whole run.

A name gets its colour the first time it is shown: the one its hash points at, unless a
name online now holds it, then the next one free (as open addressing does). Slots never
given yet are preferred to those of names gone offline, who may come back. With more names
online than colours, the hash decides alone.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable

#: Colours for names, from the xterm 256-colour cube (drawn exactly on such a terminal):
#: 14 hues and shades, none near red (errors are bold red) nor grey (system lines).
NAME_COLOURS = (
    "#00afff",  # sky blue
    "#00d700",  # green
    "#d7d700",  # yellow
    "#af87ff",  # lavender
    "#00d7af",  # teal
    "#ffaf00",  # amber
    "#5f87ff",  # blue
    "#d75fd7",  # orchid
    "#87d7ff",  # pale blue
    "#afd75f",  # lime
    "#ffd787",  # wheat
    "#5fd7d7",  # cyan
    "#d7afff",  # lilac
    "#87ffaf",  # mint
)


def hashed_colour(name: str) -> int:
    """Where `name`'s hash points in NAME_COLOURS (the same in every run and machine)."""
    return zlib.crc32(name.casefold().encode()) % len(NAME_COLOURS)


class NameColours:
    """The colours given so far; `online` says which names are online now."""

    def __init__(self, online: Callable[[], Iterable[str]] = tuple) -> None:
        self._online = online
        self._given: dict[str, int] = {}  # casefolded name: its slot in NAME_COLOURS

    def of(self, name: str) -> str:
        """`name`'s colour (see the module): given at its first call, the same after."""
        key = name.casefold()
        if key not in self._given:
            self._given[key] = self._free_slot(key)
        return NAME_COLOURS[self._given[key]]

    def _free_slot(self, key: str) -> int:
        start = hashed_colour(key)
        order = [(start + step) % len(NAME_COLOURS) for step in range(len(NAME_COLOURS))]
        ever = set(self._given.values())
        online = {n.casefold() for n in self._online()} - {key}
        held = {slot for name, slot in self._given.items() if name in online}
        for slot in order:
            if slot not in ever:
                return slot
        return next((slot for slot in order if slot not in held), start)
