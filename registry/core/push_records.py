"""What the registry's pushes (registry/core/pushes.py) are made of."""

from __future__ import annotations

from collections import deque

from registry.core.actions import Addr
from wire.limits import MAX_DATAGRAM
from wire.messages import Message

#: The bytes of a datagram that hold pushes (wire.codec.pack_datagrams: a bracket, ...).
ROOM = MAX_DATAGRAM - 1


class Flight:
    """One message pushed, shared by every member it is pushed to; `size`, its encoded size
    (a streamed one's fills a datagram); `seq`, the order the registry made its pushes in,
    so failures are acted on in order. Never changed. (hot path: a class, not a Struct,
    its fields read for every member's ack at a pointer's cost)

    `purpose` says what a push that ends without its ack means: "notice" and "outcome" are
    dropped; "relay" (a channel message), "probe" (a direct message) and "room" go again
    while the peer is probed (registry/core/posts.py)."""

    def __init__(
        self, message: Message, purpose: str, seq: int = 0, size: int = 0, streamed: bool = False
    ) -> None:
        self.message, self.purpose, self.seq, self.size = message, purpose, seq, size
        self.streamed = streamed


#: A push that ended without its ack (given up, or dropped with its peer): its member's
#: owner (a name key) and address, and its flight.
Push = tuple[str, Addr, Flight]


class Unit:
    """A datagram of pushes in flight: its flights not yet acked, by id; how many members
    hold it (never changed while shared: `Pushes._own`); copies of it sent, the send
    numbers of its first and last, when that was, and the bytes left in it."""

    __slots__ = ("copies", "first", "flights", "owing", "room", "sent", "sent_at", "streamed")

    def __init__(self, now: float, sent: int, streamed: bool = False, owing: int = 1) -> None:
        self.flights: dict[str, Flight] = {}
        self.owing = owing
        self.copies, self.first, self.sent, self.sent_at = 1, sent, sent, now
        self.streamed = streamed
        self.room = ROOM


class Member:
    """What is pushed to one address: its units in flight, oldest first, and what waits."""

    __slots__ = ("addr", "deadline", "lost", "owner", "units", "waiting")

    def __init__(self, owner: str, addr: Addr) -> None:
        self.owner, self.addr = owner, addr
        self.units: list[Unit] = []
        self.waiting: deque[Flight] = deque()
        self.deadline = float("inf")
        #: its units last sent before this send number were lost: they go again (0: none)
        self.lost = 0
