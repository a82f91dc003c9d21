"""The requests the registry answered Busy (a join storm): when each goes again, and how
long the registry has been asking it to wait. A TooBig starts the same wait: the registry
runs, and its answer over TCP may be as slow as a Busy's retry. Sans-IO: the caller
supplies `now`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

#: Seconds a request answered Busy is asked again for, from the first Busy: a registry
#: still too busy after that is given up on, as one that does not answer.
BUSY_PATIENCE = 120.0

R = TypeVar("R")


class BusyWaits(Generic[R]):
    """Requests (`R`) waiting after a Busy, by id, and when the first Busy came for each."""

    def __init__(self) -> None:
        #: The requests waited on, by id, each with when its wait is over.
        self.due: dict[str, tuple[R, float]] = {}
        self._since: dict[str, float] = {}

    def since(self, msg_id: str, now: float) -> float:
        """When the first Busy came for request `msg_id`; `now` if none did."""
        return self._since.get(msg_id, now)

    def wait(self, msg_id: str, request: R, due: float, since: float) -> None:
        """`request` goes again at `due`; its first Busy came at `since`."""
        self._since[msg_id] = since
        self.due[msg_id] = (request, due)

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
