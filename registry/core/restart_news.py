"""Restarted to the online peers: at once to those reached without a handshake (a session
held, or through another registry of the service), the others at most WINDOW at a time (each
a handshake begun by the registry); table updates wait for each until it is told (the
table's watch holds the peers waiting)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from registry.core.actions import Addr, Emit
from registry.core.pushes import Flight
from registry.core.services import Services
from registry.core.table import Record
from wire.messages import Restarted

#: Peers being told at once: well within what waits for a handshake (secure/sessions.py).
WINDOW = 100
#: Times a peer is told in all, when it acks none of them (its acks lost, or it is gone).
ROUNDS = 2


#: A peer to tell, by the address it is told at (its record renamed or not), and the round.
Told = dict[Addr, tuple[Record, int]]


class RestartNews:
    def __init__(self, services: Services) -> None:
        self._s = services
        self._message: Restarted | None = None
        self._waiting: Told = {}  # in order; changed in place, the watch's `held`
        services.watch.held = self._waiting
        self._telling: Told = {}  # (a WINDOW at most)
        self._at_once: Told = {}
        #: whether the peer at an address is reached without a handshake (RegistryCore.hand_over)
        self.reached: Callable[[Addr], bool] = lambda addr: False

    def tell(self, records: Iterable[Record], now: float, emit: Emit) -> None:
        """Tell `records` (online) the news, with the service's registries as they are now,
        before the peers still waiting for earlier news: the peers of a registry gone are
        told after the list goes to all, and need it to move."""
        self._message = Restarted(self._s.answers.new_id(), self._s.registries)
        records = list(records)
        at_once = [r for r in records if self.reached(r.addr)]
        self._at_once.update({record.addr: (record, 1) for record in at_once})
        first = {r.addr: (r, 1) for r in records if r.addr not in self._at_once}
        waiting = first | {a: told for a, told in self._waiting.items() if a not in first}
        self._waiting.clear()
        self._waiting.update(waiting)
        self._s.pushes.push(at_once, self._message, "notice", now, emit)
        self._tell(now, emit)

    def holds_back(self, addr: Addr, asker: str, now: float, emit: Emit) -> bool:
        """Whether what the peer at `addr` sends waits until it acks the news (RegistryCore
        drops meanwhile what could overtake what it sent before the restart, forgotten). One
        still waiting its turn, heard with its own key `asker`, is told now: a session is held."""
        record, _ = self._waiting.get(addr, (None, 0))
        if record is not None and record.key == asker and _there(record, addr) and self._message:
            self._at_once[addr] = self._waiting.pop(addr)
            self._s.pushes.push([record], self._message, "notice", now, emit)
            self._s.watch.resume([record.addr], now, emit)
        return addr in self._at_once or addr in self._telling or addr in self._waiting

    def acked(self, addr: Addr, answered: Sequence[Flight], now: float, emit: Emit) -> None:
        """The peer at `addr` acked pushes: the news among them makes room for the next."""
        if self._message is None or not any(isinstance(f.message, Restarted) for f in answered):
            return
        if self._stop_telling(addr):
            self._tell(now, emit)

    def unacked(self, addr: Addr, flight: Flight, now: float, emit: Emit) -> None:
        """`flight` to `addr` will not be acked (given up, refused, or its peer started
        afresh): news makes room, and its peer, still online, is told again later."""
        if not isinstance(flight.message, Restarted) or (was := self._stop_telling(addr)) is None:
            return
        record, told = was
        again = told < ROUNDS and addr not in self._waiting
        if again and _there(record, addr):
            self._waiting[addr] = (record, told + 1)
        self._tell(now, emit)

    def _stop_telling(self, addr: Addr) -> tuple[Record, int] | None:
        """The peer at `addr` is told no more, both ways at once (None: it was not told)."""
        at_once, telling = self._at_once.pop(addr, None), self._telling.pop(addr, None)
        return at_once or telling

    def _tell(self, now: float, emit: Emit) -> None:
        """Tell the next peers still online until WINDOW are being told."""
        message = self._message
        if message is None:
            return
        batch: list[Record] = []
        waiting, telling = self._waiting, self._telling
        later: Told = {}  # told an earlier news: this one once that is over
        while waiting and len(telling) < WINDOW:
            addr = next(iter(waiting))
            record, told = waiting.pop(addr)
            if addr in telling:
                later[addr] = (record, told)
            elif _there(record, addr):
                telling[addr] = (record, told)
                batch.append(record)
        waiting.update(later)
        if batch:
            self._s.pushes.push(batch, message, "notice", now, emit)
            self._s.watch.resume([record.addr for record in batch], now, emit)
        if not waiting and not self._telling and not self._at_once:
            self._message = None  # everyone told


def _there(record: Record, addr: Addr) -> bool:
    return record.online and record.addr == addr
