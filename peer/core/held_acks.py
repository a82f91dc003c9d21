"""The acks a peer owes the registry, held a moment so that one Acks answers everything it
pushed meanwhile: QUIC's ack delay (RFC 9000, 13.2.1), TCP's delayed ack. Sans-IO: Send
actions.

A relayed line costs a receiving peer about as much to ack as to take in (an encode, a
seal and a send, and the registry's open and decode of it). Held, the acks of a burst of
pushes leave as one datagram, and the peer's work on a line comes before any ack. The
registry waits 500 ms for an ack before it sends again (wire.reliable.TIMEOUT): an ack
held ACK_DELAY at most is never missed. Acks to other peers are not held: their sender
waits for the ack to tell its user the message arrived.

Held acks go at their deadline, or at once before any request to the registry (as TCP's
ride on its data): a `dereg` never overtakes the acks of what came before it, which the
registry would otherwise give up on and keep in the mailbox.
"""

from __future__ import annotations

from peer.core.actions import Addr, Emit, Send
from wire.messages import Ack, Acks
from wire.reliable import Alarm, IdMaker

#: Seconds an ack to the registry is held at most: a twenty-fifth of its retry timeout
#: (QUIC's default max_ack_delay is 25 ms).
ACK_DELAY = 0.02


class HeldAcks:
    """The ids owed an ack, per (address, key) they are acked to, oldest first; all sent
    together, by `due_at` at the latest."""

    def __init__(self, new_id: IdMaker, alarm: Alarm) -> None:
        """`new_id` makes the ids of the Acks sent; `alarm` is lowered to each deadline."""
        self._new_id = new_id
        self._alarm = alarm
        self._held: dict[tuple[Addr, bytes], list[str]] = {}
        #: When the acks held must leave (ACK_DELAY after the oldest), or None: none held.
        self.due_at: float | None = None

    def __bool__(self) -> bool:
        return self.due_at is not None

    def hold(self, addr: Addr, key: bytes, msg_id: str, now: float) -> None:
        """Owe an ack of `msg_id` to `addr`, sealed for `key`: sent by ACK_DELAY from now,
        or sooner with acks held before."""
        held = self._held.get((addr, key))
        if held is None:
            self._held[addr, key] = [msg_id]
        else:
            held.append(msg_id)
        if self.due_at is None:
            self.due_at = now + ACK_DELAY
            self._alarm.lower(self.due_at)

    def tick(self, now: float, emit: Emit) -> None:
        """Send the acks held, if their deadline is reached at `now`."""
        if self.due_at is not None and now >= self.due_at:
            self.send(emit)

    def send(self, emit: Emit) -> None:
        """Send every ack held now: one Ack, or one Acks, per address (the endpoint splits
        an Acks too big for a datagram)."""
        if self.due_at is None:
            return
        held, self._held, self.due_at = self._held, {}, None
        new_id = self._new_id
        for (addr, key), ids in held.items():
            ack = Acks(new_id(), tuple(ids)) if len(ids) > 1 else Ack(new_id(), ids[0])
            emit(Send(addr, ack, key))
