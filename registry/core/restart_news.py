"""Restarted to the online peers: at most WINDOW at once (each a handshake begun by the
registry); table updates wait for each until it is told (TableFeed.hold)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from registry.core.actions import Emit
from registry.core.push_records import Flight, Push
from registry.core.services import Services
from registry.core.table import Record
from wire.messages import Restarted
from wire.names import name_key

#: Peers being told at once: well within what waits for a handshake (secure/sessions.py).
WINDOW = 100
#: Times a peer is told in all, when it acks none of them (its acks lost, or it is gone).
ROUNDS = 2


class RestartNews:
    """The peers still to be told that the registry is back, and those being told."""

    def __init__(self, services: Services) -> None:
        self._s = services
        self._message: Restarted | None = None
        # name key -> round, of the peers to tell, in order
        self._waiting: dict[str, int] = {}
        # name key -> round, of the peers being told
        self._telling: dict[str, int] = {}

    def tell(self, records: Iterable[Record], now: float, emit: Emit) -> None:
        """Tell `records` (online) the news, with the service's registries as they are now,
        before the peers still waiting for earlier news: the peers of a registry gone are
        told after the list goes to all, and need it to move."""
        self._message = Restarted(self._s.answers.new_id(), self._s.registries)
        records = list(records)
        first = {name_key(record.name): 1 for record in records}
        self._waiting = first | {k: n for k, n in self._waiting.items() if k not in first}
        self._s.feed.hold(records)
        self._tell(now, emit)

    def acked(self, owner: str, answered: Sequence[Flight], now: float, emit: Emit) -> None:
        """`owner`'s peer acked pushes: the news among them makes room for the next."""
        if self._message is None or owner not in self._telling:
            return
        if any(isinstance(flight.message, Restarted) for flight in answered):
            del self._telling[owner]
            self._tell(now, emit)

    def unacked(self, push: Push, now: float, emit: Emit) -> None:
        """`push` will not be acked (given up, refused, or its peer started afresh): news
        among it makes room, and its peer, still online, is told again later."""
        told = self._telling.pop(push.owner, 0) if isinstance(push.message, Restarted) else 0
        if not told:
            return
        record = self._s.table.records.get(push.owner)
        again = told < ROUNDS and push.owner not in self._waiting
        if again and record is not None and record.online:
            self._waiting[push.owner] = told + 1
            self._s.feed.hold([record])
        self._tell(now, emit)

    def _tell(self, now: float, emit: Emit) -> None:
        """Tell the next peers still online until WINDOW are being told."""
        message, records = self._message, self._s.table.records
        if message is None:
            return
        batch: list[Record] = []
        waiting, telling = self._waiting, self._telling
        later: dict[str, int] = {}  # told an earlier news: this one once that is over
        while waiting and len(telling) < WINDOW:
            owner = next(iter(waiting))
            told = waiting.pop(owner)
            record = records.get(owner)
            if owner in telling:
                later[owner] = told
            elif record is not None and record.online:
                telling[owner] = told
                batch.append(record)
        waiting.update(later)
        if batch:
            self._s.pusher.push_all(batch, message, "notice", now, emit)
            self._s.feed.release(batch, now, emit)
        if not waiting and not self._telling:
            self._message = None  # everyone told
