"""When a request to the registry waits longer than its round of tries: after a Busy, or
a silent round of a first registration (`BusyWaits`). Sans-IO.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Final, Generic, TypeVar

from wire.reliable import Alarm

T = TypeVar("T")

#: Seconds a request answered Busy is asked again for, from the first Busy: a registry
#: still too busy after that is given up on, as one that does not answer.
BUSY_PATIENCE: Final = 120.0
#: Seconds a request waits after its first silent round (`BusyWaits.after_silence`),
#: doubled after each, up to the last.
SILENT_WAIT_FIRST: Final = 1.0
SILENT_WAIT_LAST: Final = 16.0


def silent_wait(msg_id: str, waits: int) -> float:
    """Seconds `msg_id` waits after its silent round `waits` + 1: TCP's backoff with jitter,
    up to SILENT_WAIT_LAST, the jitter a hash of the id and round (no randomness)."""
    full = min(SILENT_WAIT_FIRST * 2.0**waits, SILENT_WAIT_LAST)
    share = zlib.crc32(f"{msg_id}/{waits}".encode()) / 0xFFFFFFFF
    return full * (0.5 + share / 2)


def still_trying(where: str, tried: float, patience: float, first: bool) -> str:
    """What a start says of the registry at `where`, silent for `tried` seconds of its
    `patience`: the `first` time, what to check too."""
    more = max(0, round(patience - tried))
    if not first:
        return f"[Still no answer from {where} after {tried:.0f} s; trying {more} s more.]"
    return (
        f"[No answer from the registry at {where} after {tried:.0f} s; trying {more} s more. "
        "Check its address and port (the registry prints them as it starts), and that no "
        "firewall drops UDP to it. Lines typed meanwhile wait.]"
    )


class SilentRounds:
    """A start's rounds of asks that the registry at `where` left silent, the first asked
    at `began`: each round over is followed by a wait (`silent_wait`) and a line saying
    how long it has been tried, until `patience` seconds after the first silent round.
    The one rule of a start's key request, password and registration."""

    def __init__(self, where: str, patience: float, began: float) -> None:
        self._where, self._patience, self._began = where, patience, began
        self._since: float | None = None  # when the first round went silent
        self._waits = 0

    def after_round(self, now: float) -> tuple[float, str] | None:
        """A round went silent at `now`: when the next begins, and what to say; None once
        the patience is over."""
        since = now if self._since is None else self._since
        if now - since >= self._patience:
            return None
        patience = self._patience + since - self._began  # counted from the first ask
        line = still_trying(self._where, now - self._began, patience, self._since is None)
        due = now + silent_wait(self._where, self._waits)
        self._since, self._waits = since, self._waits + 1
        return due, line


class BusyWaits(Generic[T]):
    """Requests (`T`) that wait before they go again, by id: answered Busy (a join storm;
    a TooBig starts the same wait), with when the first Busy came, or a first registration
    the registry left silent for a round. `alarm` is lowered to each wait's end."""

    def __init__(self, alarm: Alarm | None = None) -> None:
        self._alarm = alarm or Alarm()
        #: The requests waited on, by id, each with when its wait is over.
        self.due: dict[str, tuple[T, float]] = {}
        self._since: dict[str, float] = {}
        # of each request that waits after silent rounds: its first such, and how many
        self._silent: dict[str, tuple[float, int]] = {}

    def since(self, msg_id: str, now: float) -> float:
        """When the first Busy came for request `msg_id`; `now` if none did."""
        return self._since.get(msg_id, now)

    def wait(self, msg_id: str, request: T, due: float, since: float) -> None:
        """`request` goes again at `due`; its first Busy came at `since`."""
        self._since[msg_id] = since
        self.due[msg_id] = (request, due)
        self._alarm.lower(due)

    def after_silence(self, msg_id: str, request: T, now: float, patience: float) -> float | None:
        """When `request`, unanswered and unheard of all its round ending at `now`, goes
        again (`silent_wait` on); None once `patience` seconds have passed since its first
        silent round (it is forgotten here)."""
        first, waits = self._silent.get(msg_id, (now, 0))
        if now - first >= patience:
            self._silent.pop(msg_id, None)
            return None
        self._silent[msg_id] = (first, waits + 1)
        due = now + silent_wait(msg_id, waits)
        self.due[msg_id] = (request, due)
        self._alarm.lower(due)
        return due

    def stop_waiting(self, msg_id: str) -> T | None:
        """Request `msg_id`, answered: no longer waiting, its silent rounds forgotten; None
        if it does not wait."""
        self._silent.pop(msg_id, None)
        waiting = self.due.pop(msg_id, None)
        return None if waiting is None else waiting[0]

    def patient(self, msg_id: str, now: float) -> bool:
        """Whether request `msg_id` was answered Busy less than BUSY_PATIENCE ago: until
        then its silence is no sign the registry is gone."""
        since = self._since.get(msg_id)
        return since is not None and now - since < BUSY_PATIENCE

    def exhausted(self, msg_id: str, now: float) -> bool:
        """Whether request `msg_id` has been answered Busy for BUSY_PATIENCE already."""
        since = self._since.get(msg_id)
        return since is not None and now - since >= BUSY_PATIENCE

    def forget(self, msg_id: str) -> None:
        """Request `msg_id` was answered, or given up on: its first Busy no longer counts."""
        self._since.pop(msg_id, None)

    def over(self, now: float) -> Iterator[T]:
        """Each request whose wait is over at `now`, no longer waiting."""
        for msg_id, (request, due) in list(self.due.items()):
            if due <= now:
                del self.due[msg_id]
                yield request

    def next_wake(self) -> float | None:
        """When the next wait is over, or None."""
        return min((due for _, due in self.due.values()), default=None)
