"""Pushes their peer did not ack, or refused, or will never ack (it started again, or went
offline): what becomes of each.

Pure: the caller supplies `now`. On a lossy network a push's copies or their acks may all
be lost, which says nothing of whether the peer runs: a relay, a probed direct message or
a room line then starts over while the peer is probed (registry/core/liveness.py). What no
peer will ack goes to its mailbox (registry/core/saving.py) or is dropped.
"""

from __future__ import annotations

from registry.core.actions import Emit, Log
from registry.core.liveness import Liveness
from registry.core.push_records import Push
from registry.core.requests import Request, fmt
from registry.core.saving import Saving
from registry.core.services import Services
from registry.core.table import Record
from wire.messages import Refused

#: The purposes of pushes a peer is probed for when they go unacked (registry/core/pushes.py):
#: a channel message, a direct message the registry delivers itself, a room line or notice.
RELAYED = frozenset(("relay", "probe", "room"))


class Failures:
    """Acts on failed pushes: probes through `liveness`, keeps what is undelivered through
    `saving`."""

    def __init__(self, services: Services, liveness: Liveness, saving: Saving) -> None:
        self._s = services
        self._liveness = liveness
        self._saving = saving

    def failed(self, failed: list[Push], now: float, emit: Emit) -> None:
        """Act on pushes that used up their attempts, or were dropped with their peer,
        oldest push first: a channel message among them reaches a mailbox in the order it
        was sent. To a peer still online where it was pushed, a relay, a probed direct
        message or a room line starts over while the peer is probed (`_unanswered`);
        anything else is undelivered."""
        for push in sorted(failed, key=lambda push: push.seq):
            record = self._s.aliases.owner(push.owner)
            if record is None:
                continue
            if push.purpose in RELAYED and record.online and record.addr == push.addr:
                self._unanswered(record, push, now, emit)
            else:
                self._saving.undelivered(record, push, now, emit)

    def restarted(self, record: Record, now: float, emit: Emit) -> None:
        """The peer of `record` registers afresh (a new process, or back after dereg): what
        is still pushed to its address will not be acked by this start, and the give-up
        of a probe would mark the new start offline. Those messages go to its mailbox now,
        so that its Welcome carries them; the rest is dropped (the Welcome has the table)."""
        for push in self._s.pusher.drop_all(record.addr):
            owner = self._s.aliases.owner(push.owner)
            if owner is not None:
                self._saving.undelivered(owner, push, now, emit)

    def refused(self, refusal: Refused, req: Request, now: float, emit: Emit) -> None:
        """The peer at `req.addr` refused a push: it cannot read it (another version of
        ChatApp). The peer is alive, and retrying cannot help: the push is undelivered at
        once (a probed direct message or a channel message goes to its mailbox, whose
        records it may read), rather than retried until its peer is marked offline."""
        owner, answered = self._s.pusher.answer((refusal.reply_to,), req.addr, now)
        if not answered:
            line = f"{fmt(req.addr)} refused {refusal.reply_to}: {refusal.reason}"
            emit(Log(line, "a push refused"))
        for flight in answered:
            record = self._s.aliases.owner(owner)
            if record is None:
                continue
            record.last_seen = now
            what = type(flight.message).__name__
            line = f"{record.name} refused {what} {refusal.reply_to}: {refusal.reason}"
            emit(Log(line, "a push refused"))
            push = Push(owner, req.addr, flight.message, flight.purpose, flight.seq)
            self._saving.undelivered(record, push, now, emit)

    def _unanswered(self, record: Record, push: Push, now: float, emit: Emit) -> None:
        """A push that `record`'s peer did not ack in all its tries is sent again from the
        start, and the peer is probed: only a peer heard from in nothing since the push was
        first sent, the probe included, is gone (then it is marked offline, taken out of
        its room, and what was pushed to it goes to its mailbox). So a lossy network takes
        nobody offline."""
        first_sent = now - self._s.pusher.retry_span
        self._liveness.probe(record, now, emit, since=first_sent)
        self._s.pusher.again(record, push, now, emit)
