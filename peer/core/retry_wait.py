"""When a request to the registry waits longer than its round of tries: after a Busy, or
a silent round of a start's first asks (`Requests.busy`, `SilentRounds`). Sans-IO.
"""

from __future__ import annotations

import zlib
from typing import Final

#: Seconds a request answered Busy is asked again for, from the first Busy: a registry
#: still too busy after that is given up on, as one that does not answer.
BUSY_PATIENCE: Final = 120.0
#: Seconds a start's asks wait after their first silent round (`SilentRounds`),
#: doubled after each, up to the last.
SILENT_WAIT_FIRST: Final = 1.0
SILENT_WAIT_LAST: Final = 16.0


def silent_wait(msg_id: str, waits: int) -> float:
    """Seconds `msg_id` waits after its silent round `waits` + 1: TCP's backoff with jitter,
    up to SILENT_WAIT_LAST, the jitter a hash of the id and round (no randomness)."""
    full = min(SILENT_WAIT_FIRST * 2.0**waits, SILENT_WAIT_LAST)
    share = zlib.crc32(f"{msg_id}/{waits}".encode()) / 0xFFFFFFFF
    return full * (0.5 + share / 2)


class SilentRounds:
    """A start's rounds of asks that the registry at `where` (set anew: a start may move to
    another of the service) left silent, the first asked at `began`: each round over is
    followed by a wait (`silent_wait`, its jitter keyed by `key`, else `where`: what tells
    apart starts begun together) and a line saying how long it has been tried, until
    `patience` seconds after the first silent round. The one rule of a start's key request,
    password and registration."""

    def __init__(self, where: str, patience: float, began: float, key: str = "") -> None:
        self.where, self._patience, self._began = where, patience, began
        self._key = key or where
        self._since: float | None = None  # when the first round went silent
        self._waits = 0

    def after_round(self, now: float) -> tuple[float, str] | None:
        """A round went silent at `now`: when the next begins, and what to say; None once
        the patience is over. The first line says what to check too."""
        since = now if self._since is None else self._since
        if now - since >= self._patience:
            return None
        tried = now - self._began
        more = max(0, round(self._patience + since - now))  # (from the first silent round)
        line = f"[Still no answer from {self.where} after {tried:.0f} s; trying {more} s more.]"
        if self._since is None:
            line = (
                f"[No answer from the registry at {self.where} after {tried:.0f} s; trying {more} "
                "s more. Check its address and port (the registry prints them as it starts), and "
                "that no firewall drops UDP to it. Lines typed meanwhile wait.]"
            )
        due = now + silent_wait(self._key, self._waits)
        self._since, self._waits = since, self._waits + 1
        return due, line
