"""What the registry's pushes are made of (registry/core/pushes.py keeps them): a push as
it is reported, a message pushed (a Flight), a datagram of them in flight to one member (a
Unit), one shared by all the members of a relay (a Packet), and a member's record."""

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


class Flight(Struct, eq=False, frozen=True):
    """One message pushed, shared by every member it is pushed to: in flight to some,
    waiting behind what is in flight to others."""

    message: Message
    purpose: str
    seq: int
    #: its encoded size (a streamed one's fills a datagram), whether it travels over TCP
    size: int
    streamed: bool


class Packet:
    """A datagram of flights sent on the fast path, the same to every member it went to:
    its flights, by id (`ids`, in order), and how many members' units hold it still."""

    __slots__ = ("flights", "ids", "owing")

    def __init__(self, flights: dict[str, Flight], owing: int) -> None:
        self.flights, self.owing = flights, owing
        self.ids = tuple(flights)


class Unit:
    """A datagram of pushes in flight to one member: its flights not yet acked, by id (a
    Packet's, shared and never changed, while `packet` is set); copies of it sent, and
    the member's count of sends at its first and its last; when that was and the bytes
    left in it (what is pushed at that moment, in one drain of the socket, joins it)."""

    __slots__ = ("copies", "first", "flights", "packet", "room", "sent", "sent_at", "streamed")

    def __init__(
        self, now: float, sent: int, streamed: bool, packet: Packet | None = None, room: int = ROOM
    ) -> None:
        self.flights: dict[str, Flight] = {} if packet is None else packet.flights
        self.packet = packet
        self.copies, self.first, self.sent, self.sent_at = 1, sent, sent, now
        #: a streamed push, alone: nothing joins it, nothing follows it while in flight
        self.streamed = streamed
        self.room = room


class Member:
    """What is pushed to one address: its units in flight, oldest first; what waits
    behind them; its retry deadline, its sends."""

    __slots__ = ("addr", "deadline", "lost", "owner", "sends", "units", "waiting")

    def __init__(self, owner: str, addr: Addr) -> None:
        self.owner, self.addr = owner, addr
        self.units: list[Unit] = []
        self.waiting: deque[Flight] = deque()
        self.deadline = float("inf")
        self.sends = 0
        #: units found lost (see the module's docstring), to send again at the next `due`
        self.lost: list[Unit] = []
