"""Telling the peers a restarted registry counts online that it is back (Restarted), a window
of them at a time.

Pure: the caller supplies `now`. A registry that starts again has a session with nobody:
each peer told costs a handshake, begun by the registry. Told all at once, 2,000 peers were
2,000 handshakes begun in one pass, over a second of work; what waited for them waited
longer than the secure channel keeps it (secure/channel.py, QUEUE_FOR), the pushes gave up,
and most peers heard of the registry only at their next keepalive, up to 10 s later. So at
most WINDOW peers are being told at once; each ack lets the next one be told. A peer that
acks nothing within the pusher's retries is told once more, after the others (ROUNDS).
The table's updates go to each peer with the news (the rows held back when the registry
stopped, and those of the registrations meanwhile), not to all at once, which would begin
every handshake at once all the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from registry.core.actions import Emit
from registry.core.pushes import Flight
from registry.core.services import Services
from registry.core.table import Record
from wire.messages import Restarted, TableUpdate
from wire.names import name_key

#: Peers being told at once: a hundred handshakes cost a registry some 50-100 ms, well
#: within the time what is sent waits for its handshake (secure/channel.py, QUEUE_FOR).
WINDOW = 100
#: Times a peer is told in all, when it acks none of them (its acks lost, or it is gone).
ROUNDS = 2


class RestartNews:
    """The peers still to be told that the registry is back, and those being told."""

    def __init__(self, services: Services) -> None:
        self._s = services
        self._message: Restarted | None = None
        # the table's updates since the start, which the peers not told yet have not had
        self._updates: list[TableUpdate] = []
        # name key -> round, of the peers to tell, in order
        self._waiting: dict[str, int] = {}
        # name key -> (round, when its push is over: acked by then, or given up)
        self._telling: dict[str, tuple[int, float]] = {}

    def start(
        self,
        records: Iterable[Record],
        updates: Sequence[TableUpdate],
        now: float,
        emit: Emit,
    ) -> None:
        """The registry starts with `records` online: tell each, WINDOW at a time, and push
        it `updates` (the rows held back when it stopped) after it."""
        self._message = Restarted(self._s.answers.new_id(), self._s.membership.registries)
        self._updates = list(updates)
        self._waiting.update((name_key(record.name), 1) for record in records)
        self._tell(now, emit)

    def hold(self, records: list[Record], updates: Sequence[TableUpdate]) -> list[Record]:
        """Of `records`, which the table's `updates` are to be pushed to now, those that
        are not waiting for the news: the others are pushed `updates` after it (each would
        be a handshake, and they would all begin at once)."""
        if not self._waiting:
            return records
        self._updates += updates
        waiting = self._waiting
        return [record for record in records if name_key(record.name) not in waiting]

    def acked(self, answered: Sequence[tuple[Flight, str]], now: float, emit: Emit) -> None:
        """Pushes were acked (`Pusher.answer`): those of the news make room for the next."""
        message = self._message
        if message is None:
            return
        freed = False
        for flight, owner in answered:
            if flight.message is message and self._telling.pop(owner, None) is not None:
                freed = True
        if freed:
            self._tell(now, emit)

    def due(self, now: float, emit: Emit) -> None:
        """Pushes of the news over without an ack by `now` (given up) make room for the
        next; their peers are told again later, ROUNDS times in all."""
        telling, over = self._telling, False
        # in the order told, which is the order of their ends
        while telling:
            owner, (told, until) = next(iter(telling.items()))
            if until > now:
                break
            del telling[owner]
            over = True
            if told < ROUNDS:
                self._waiting[owner] = told + 1
        if over:
            self._tell(now, emit)

    def next_wake(self) -> float | None:
        """When a push of the news is next over without an ack, or None."""
        for _, until in self._telling.values():
            return until  # the first told ends first
        return None

    def _tell(self, now: float, emit: Emit) -> None:
        """Tell the next peers still online until WINDOW are being told."""
        message, records = self._message, self._s.table.records
        if message is None:
            return
        batch: list[Record] = []
        until = now + self._s.pusher.retry_span
        while self._waiting and len(self._telling) < WINDOW:
            owner = next(iter(self._waiting))
            told = self._waiting.pop(owner)
            record = records.get(owner)
            if record is not None and record.online and owner not in self._telling:
                self._telling[owner] = (told, until)
                batch.append(record)
        if batch:
            self._s.pusher.push_all(batch, message, "table", now, emit)
            for update in self._updates:
                self._s.pusher.push_all(batch, update, "table", now, emit)
        if not self._waiting and not self._telling:
            self._message = None  # everyone told
            self._updates = []
