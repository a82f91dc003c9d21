"""What the registry's pushes are made of (registry/core/pushes.py keeps them): a push as
it is reported, a message pushed (a Flight), a datagram of them in flight (a Unit, shared
by all the members of a relay), and a member's record."""

from __future__ import annotations

from collections import deque

from msgspec import Struct

from registry.core.actions import Addr
from wire.limits import MAX_DATAGRAM
from wire.messages import Message

#: The bytes of a datagram that hold pushes (wire.codec.pack_datagrams: a bracket, ...).
ROOM = MAX_DATAGRAM - 1


class Push(Struct, frozen=True):
    """A message pushed to one peer, as a push that ends without its ack (given up, or
    dropped with its peer) is reported.

    `purpose` says what a missing ack means: "notice" and "outcome" are just dropped;
    "relay" (a channel message), "probe" (a direct message the registry delivers itself)
    and "room" (a room line or notice) are sent again while the peer is probed, and only a
    peer that answers nothing is marked offline (out of its room, the channel and direct
    messages in its mailbox: registry/core/saving.py).
    """

    owner: str
    addr: Addr
    message: Message
    purpose: str
    #: order in which the registry made its pushes, so failures can be acted on in order
    seq: int = 0
    #: whether it travels over TCP (too big for a datagram; see Pushes)
    streamed: bool = False


class Flight:
    """One message pushed, shared by every member it is pushed to: in flight to some,
    waiting behind what is in flight to others; `size`, its encoded size (a streamed one's
    fills a datagram), and `streamed`, whether it travels over TCP. Never changed. (A class,
    not a Struct: its fields are read for every member's ack, at a pointer's cost.)"""

    def __init__(self, message: Message, purpose: str, seq: int, size: int, streamed: bool) -> None:
        self.message, self.purpose, self.seq, self.size = message, purpose, seq, size
        self.streamed = streamed

    def pushed(self, owner: str, addr: Addr) -> Push:
        """This flight as a push to `owner` at `addr`, as one that ends unanswered is reported."""
        return Push(owner, addr, self.message, self.purpose, self.seq, self.streamed)


class Unit:
    """A datagram of pushes in flight: its flights not yet acked, by id; how many members'
    records hold it (a relay's datagram is one Unit for all its members, never changed
    while shared: a member that changes its own takes a copy, `Pushes._own`); copies of it
    sent, and the send numbers of its first and its last; when that was and the bytes left
    in it (what is pushed at that moment, in one drain of the socket, joins it)."""

    __slots__ = ("copies", "first", "flights", "owing", "room", "sent", "sent_at", "streamed")

    def __init__(self, now: float, sent: int, streamed: bool = False, owing: int = 1) -> None:
        self.flights: dict[str, Flight] = {}
        self.owing = owing
        self.copies, self.first, self.sent, self.sent_at = 1, sent, sent, now
        #: a streamed push, alone: nothing joins it, nothing follows it while in flight
        self.streamed = streamed
        self.room = ROOM


class Member:
    """What is pushed to one address: its units in flight, oldest first; what waits
    behind them; its retry deadline."""

    __slots__ = ("addr", "deadline", "lost", "owner", "units", "waiting")

    def __init__(self, owner: str, addr: Addr) -> None:
        self.owner, self.addr = owner, addr
        self.units: list[Unit] = []
        self.waiting: deque[Flight] = deque()
        self.deadline = float("inf")
        #: its units last sent before this send number were found lost (see
        #: registry/core/pushes.py), and go again at the next `due` (0: none)
        self.lost = 0
