"""The requests that wait before they go again: those the registry answered Busy (a join
storm), with how long the registry has been asking them to wait, and a first registration
the registry left silent for a round (see `silent_wait`). A TooBig starts the same wait as
a Busy: the registry runs, and its answer over TCP may be as slow as a Busy's retry.
Sans-IO: the caller supplies `now`.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Generic, TypeVar

#: Seconds a request answered Busy is asked again for, from the first Busy: a registry
#: still too busy after that is given up on, as one that does not answer.
BUSY_PATIENCE = 120.0
#: Seconds a request waits after its first silent round (see `after_silence`), doubled
#: after each, up to the last.
SILENT_WAIT_FIRST = 1.0
SILENT_WAIT_LAST = 16.0


def silent_wait(msg_id: str, waits: int) -> float:
    """Seconds request `msg_id` waits after its silent round number `waits` + 1 before its
    next round: SILENT_WAIT_FIRST doubled `waits` times, up to SILENT_WAIT_LAST, each
    between half and all of it (TCP's backoff, with jitter: peers started together, their
    first tries lost together, spread their next ones). The jitter comes from a hash of the
    id and the round, so that a core stays a function of its events."""
    full = min(SILENT_WAIT_FIRST * 2.0**waits, SILENT_WAIT_LAST)
    share = zlib.crc32(f"{msg_id}/{waits}".encode()) / 0xFFFFFFFF
    return full * (0.5 + share / 2)


R = TypeVar("R")


class BusyWaits(Generic[R]):
    """Requests (`R`) waiting after a Busy, by id, and when the first Busy came for each."""

    def __init__(self) -> None:
        #: The requests waited on, by id, each with when its wait is over.
        self.due: dict[str, tuple[R, float]] = {}
        self._since: dict[str, float] = {}
        # of each request that waits after silent rounds: its first such, and how many
        self._silent: dict[str, tuple[float, int]] = {}

    def since(self, msg_id: str, now: float) -> float:
        """When the first Busy came for request `msg_id`; `now` if none did."""
        return self._since.get(msg_id, now)

    def wait(self, msg_id: str, request: R, due: float, since: float | None) -> None:
        """`request` goes again at `due`; its first Busy came at `since` (None: it waits
        after a silent round, not a Busy)."""
        if since is not None:
            self._since[msg_id] = since
        self.due[msg_id] = (request, due)

    def after_silence(self, msg_id: str, request: R, now: float, patience: float) -> float | None:
        """`request`, unanswered and unheard of all its round, ending at `now`: when it goes
        again (`silent_wait` on), or None once `patience` seconds have passed since its
        first silent round (it is given up, forgotten here)."""
        first, waits = self._silent.get(msg_id, (now, 0))
        if now - first >= patience:
            self._silent.pop(msg_id, None)
            return None
        self._silent[msg_id] = (first, waits + 1)
        due = now + silent_wait(msg_id, waits)
        self.due[msg_id] = (request, due)
        return due

    def take(self, msg_id: str) -> R | None:
        """Request `msg_id`, answered: no longer waiting (the answer to an earlier copy came
        meanwhile), its silent rounds forgotten; None if it does not wait."""
        self._silent.pop(msg_id, None)
        waiting = self.due.pop(msg_id, None)
        return None if waiting is None else waiting[0]

    def patient(self, msg_id: str, now: float) -> bool:
        """Whether request `msg_id` was answered Busy less than BUSY_PATIENCE ago: a
        registry that said it is overwhelmed drops or delays what it cannot handle, and
        until then that is no sign it is gone."""
        since = self._since.get(msg_id)
        return since is not None and now - since < BUSY_PATIENCE

    def exhausted(self, msg_id: str, now: float) -> bool:
        """Whether request `msg_id` has been answered Busy for BUSY_PATIENCE already."""
        since = self._since.get(msg_id)
        return since is not None and now - since >= BUSY_PATIENCE

    def forget(self, msg_id: str) -> None:
        """Request `msg_id` was answered, or given up on: its first Busy no longer counts."""
        self._since.pop(msg_id, None)

    def over(self, now: float) -> Iterator[R]:
        """Each request whose wait is over at `now`, no longer waiting."""
        for msg_id, (request, due) in list(self.due.items()):
            if due <= now:
                del self.due[msg_id]
                yield request

    def next_wake(self) -> float | None:
        """When the next wait is over, or None."""
        if not self.due:  # as nearly always: asked after every event
            return None
        return min((due for _, due in self.due.values()), default=None)
