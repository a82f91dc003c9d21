"""The acks a peer owes the registry, held until the peer has taken in all that woke it,
so that one Acks answers everything one wake-up brought: QUIC's rule that the
ack-eliciting packets received in one read are acked together (RFC 9000, 13.2.1), with no
timer. Sans-IO: Send actions.

A relayed line costs a receiving peer about as much to ack as to take in (an encode, a
seal and a send, and the registry's open and decode of it). Held to the end of the
wake-up, the acks of a burst of pushes leave as one datagram, and the peer's work on a
line comes before any ack; no timer is armed or fired for them. Acks to other peers are
not held: their sender waits for the ack to tell its user the message arrived.

When the first is held the core says AcksHeld; the adapter calls `PeerCore.read_ended`
once the wake-up is over (the peer's: at the end of its event loop's pass), which sends
them. They go at once before any request to the registry (as TCP's ride on its data):
a `dereg` never overtakes the acks of what came before it, which the registry would
otherwise give up on and keep in the mailbox.
"""

from __future__ import annotations

from collections.abc import Sequence

from peer.core.actions import Addr, Emit, Send
from wire.ids import IdMaker
from wire.messages import Ack, Acks


class HeldAcks:
    """The ids owed an ack, per (address, key) they are acked to, oldest first; all sent
    together by `send`."""

    def __init__(self, new_id: IdMaker) -> None:
        """`new_id` makes the ids of the Acks sent."""
        self._new_id = new_id
        self._held: dict[tuple[Addr, bytes], list[str]] = {}

    def __bool__(self) -> bool:
        return bool(self._held)

    def hold(self, addr: Addr, key: bytes, ids: Sequence[str]) -> None:
        """Owe `addr` an ack of each of `ids`, sealed for `key`, until the next `send`."""
        self._held.setdefault((addr, key), []).extend(ids)

    def send(self, emit: Emit) -> None:
        """Send every ack held now: one Ack, or one Acks, per address (the endpoint splits
        an Acks too big for a datagram)."""
        if not self._held:
            return
        held, self._held = self._held, {}
        new_id = self._new_id
        for (addr, key), ids in held.items():
            ack = Acks(new_id(), tuple(ids)) if len(ids) > 1 else Ack(new_id(), ids[0])
            emit(Send(addr, ack, key))
