"""Whether the peers counted online still run: the sweep for silent ones, and probes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from registry.core.actions import Addr, Emit, Log, Send
from registry.core.requests import Request, fmt, public_key
from registry.core.services import Services
from registry.core.table import Record
from wire.messages import Register, TableUpdate
from wire.names import name_key
from wire.reliable import Retransmitter

#: Keepalive periods of silence after which a peer counts as gone.
SILENT_PERIODS = 3
#: Keepalive periods nobody is judged silent after the registry was away (it started, or
#: its sweep came late).
AWAY_GRACE_PERIODS = 5

#: Seconds behind what arrives from which no silence counts: what the registry has not read
#: yet may be the keepalives of the peers it would judge.
BLIND_BEHIND = 0.5

#: A registration waiting for a probe's outcome, with the request it came in.
Waiting = tuple[Register, Request]


class OwnerProbe:
    """A probe of the peer named `owner` at `addr`, and the registrations waiting."""

    def __init__(
        self, owner: str, addr: Addr, public: bytes, ping: TableUpdate, since: float
    ) -> None:
        self.owner, self.addr, self.public, self.ping, self.since = owner, addr, public, ping, since
        self.waiting: dict[str, Waiting] = {}


class Liveness:
    def __init__(self, services: Services, keepalive: float, timing: tuple[float, int]) -> None:
        if keepalive <= 0:
            raise ValueError(f"the keepalive period must be positive, not {keepalive}")
        self._s, self.keepalive = services, keepalive
        self._feed = services.feed  # (read for every datagram: a field read less)
        # probes in flight, by message id; that id by owner
        self._probes: Retransmitter[OwnerProbe] = Retransmitter(*timing)
        self._probing_owner: dict[str, str] = {}
        # names whose peer answered a probe after a silence (logged once each)
        self._slow_keepalive: set[str] = set()
        self._next_sweep: float | None = None
        self._judge_from = float("-inf")  # no peer is marked silent before

    def start(self, now: float) -> None:
        self._judge_from = now + AWAY_GRACE_PERIODS * self.keepalive

    def registered(self, now: float) -> None:
        """A peer registered: the sweeps start, if not started."""
        if self._next_sweep is None:
            self._next_sweep = now + self.keepalive

    def sweep_due(self, now: float) -> bool:
        return self._next_sweep is None or now >= self._next_sweep

    def sweep(self, now: float, emit: Emit, behind: float = 0.0) -> None:
        """Probe every online peer silent for too long; none while `behind`."""
        if self._next_sweep is not None and now - self._next_sweep > self.keepalive:
            # a period late: the registry was stopped or starved
            self._judge_from = max(self._judge_from, now + AWAY_GRACE_PERIODS * self.keepalive)
        self._next_sweep = now + self.keepalive
        if behind >= BLIND_BEHIND:
            return
        limit = now - SILENT_PERIODS * self.keepalive
        for record in self._s.table.online() if now >= self._judge_from else ():
            if record.last_seen < limit:
                # asked first: a peer whose --keepalive is longer than ours still runs
                self.probe(record, now, emit)

    def next_wake(self) -> float | None:
        wakes = [at for at in (self._next_sweep, self._probes.next_wake()) if at is not None]
        return min(wakes, default=None)

    def probe(
        self,
        record: Record,
        now: float,
        emit: Emit,
        waiting: Waiting | None = None,
        since: float | None = None,
    ) -> None:
        """Ask the peer of `record` whether it still runs (a TableUpdate of version 0); it
        does if heard from after `since` (default: now). One probe per name at a time."""
        key = name_key(record.name)
        probe_id = self._probing_owner.get(key)
        probe = self._probes.get(probe_id) if probe_id is not None else None
        if probe is None or probe.addr != record.addr:
            ping = TableUpdate(self._s.answers.new_id(), 0, ())
            public = public_key(record)
            probe = OwnerProbe(key, record.addr, public, ping, now if since is None else since)
            self._probes.start(ping.id, probe, now)
            self._probing_owner[key] = ping.id
            emit(Send(record.addr, ping, public))
        if waiting is not None:
            probe.waiting[waiting[0].id] = waiting

    def probing(self, record: Record) -> bool:
        return name_key(record.name) in self._probing_owner

    def heard(self, addr: Any, key: str, now: float) -> None:
        """Anything came from the Addr `addr` with `key`: that peer runs."""
        for record in self._feed.online_at(addr):
            if record.key == key:
                record.last_seen = now

    def acked(self, replies: Sequence[str], addr: Addr, now: float, emit: Emit) -> None:
        if not self._probing_owner:
            return
        for reply in replies:
            probe = self._probes.get(reply)
            if probe is not None and probe.addr[0] == addr[0]:
                self._probes.answer(reply)
                self._holder_alive(probe, now, emit)

    def due(self, now: float, emit: Emit) -> list[OwnerProbe]:
        """Send the probe copies due; the probes given up."""
        again, failed = self._probes.due(now)
        for probe in again:
            emit(Send(probe.addr, probe.ping, probe.public))
        return failed

    def failed(
        self, probe: OwnerProbe, now: float, emit: Emit, behind: float = 0.0
    ) -> tuple[Record | None, list[Waiting]]:
        """`probe` got no answer: the record whose peer is gone (or None), and the
        registrations to carry out now."""
        record = self._over(probe)
        waiting = list(probe.waiting.values())
        if record is not None and record.online and record.last_seen <= probe.since:
            if behind >= BLIND_BEHIND:
                self.probe(record, now, emit, since=probe.since)
                for one in waiting:
                    self.probe(record, now, emit, one)
                return None, []
            return record, waiting
        if record is not None and record.online and probe.waiting:
            self._holder_alive(probe, now, emit)
            return None, []
        return None, waiting

    def _over(self, probe: OwnerProbe) -> Record | None:
        if self._probing_owner.get(probe.owner) == probe.ping.id:
            del self._probing_owner[probe.owner]
        record = self._s.table.get(probe.owner)
        return record if record is not None and record.addr == probe.addr else None

    def _holder_alive(self, probe: OwnerProbe, now: float, emit: Emit) -> None:
        if (record := self._over(probe)) is None:
            return
        silent, record.last_seen = now - record.last_seen, now
        slow = silent >= SILENT_PERIODS * self.keepalive  # a sweep's probe, not a line's
        if slow and not probe.waiting and record.name not in self._slow_keepalive:
            self._slow_keepalive.add(record.name)  # said once: it would be every period
            line = f"{record.name} was silent for {silent:.0f} s but answered a probe; kept online"
            longer = f"its --keepalive may be longer than this registry's {self.keepalive:g} s"
            emit(Log(f"{line} ({longer})"))
        for msg, asker in probe.waiting.values():
            if name_key(msg.name) == probe.owner:
                reason = (
                    f"The name {record.name} is in use by a peer at {fmt(record.addr)}, which "
                    "answered just now. Stop it first, or choose another name.",
                    "in use",
                )
            else:  # it waited for the address it asked for
                reason = (
                    f"The address {fmt(record.addr)} is in use by {record.name}, which "
                    "answered just now; choose another port.",
                    "address in use",
                )
            what = f"registration of {msg.name} from {fmt(asker.addr)}"
            self._s.answers.refuse(asker, reason, what, emit)
