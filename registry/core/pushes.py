"""The registry's pushes to peers, waiting for their acks: a queue per peer, and at most
one datagram of it in flight.

Pure: no clock, no sockets. One message pushed to many peers (a channel or room line, a
table update) is one Flight, encoded once and shared by the queues of all its peers: per
peer, a push costs an entry in a queue, not an object, an encoding or a timer.

Each address has a lane: its queue, in the order the pushes were made, and the datagram
in flight to it, if any. A push to an idle lane leaves at once: an idle peer never waits;
pushes made at the same moment join it while they fit (the adapter packs what it sends
together: net/outgoing.py). While a datagram is in flight, what follows waits in the
queue; when the peer's
one Acks answers that datagram, as many queued messages as fit one datagram
(wire.limits.MAX_DATAGRAM) leave together as the next. So a burst reaches a peer as full
datagrams, paced by its own acks: a slow peer is never sent more than it can answer, and
nothing is sent again that it already has (congestion collapse).

The datagram in flight has one retry deadline: unanswered after `timeout`, what of it is
still unanswered is sent again, `attempts` copies in all; then its pushes are given up
(reported, oldest first) and the lane stalls until `resume`, so that what the caller sends
again in their place (`add`, with their old `seq`) goes before what waited behind them.

A message too big for a datagram travels over TCP and overtakes datagrams sent after it:
it is a datagram of its own here, sent once the one before it is answered, and what
follows it waits for its ack. So a long line and the short one after it arrive in order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

from msgspec import Struct

from registry.core.actions import Addr
from wire.codec import encode, fits_datagram
from wire.limits import MAX_DATAGRAM
from wire.messages import Message
from wire.reliable import ATTEMPTS, TIMEOUT


class Flight(Struct, eq=False):
    """One message pushed to many peers, shared by their queues: encoded once (`data`),
    and counted down (`left`) as each peer's push of it ends."""

    message: Message
    purpose: str
    #: order in which the registry made its pushes, so failures can be acted on in order
    seq: int
    #: the message encoded, as every peer's datagram carries it
    data: bytes
    #: whether it travels over TCP (too big for a datagram)
    streamed: bool
    #: pushes of it not yet answered, given up or dropped
    left: int = 0


#: A push in a lane: the flight, and the name key of the owner it is pushed to.
Entry = tuple[Flight, str]
#: What leaves together to one address: one datagram's pushes (a streamed one alone).
Batch = tuple[Addr, list[Entry]]


class Push(Struct, frozen=True):
    """A push that ended without its ack (given up, or dropped with its peer).

    `purpose` says what a missing ack means: "table" and "outcome" are just dropped;
    "relay" (a channel message), "probe" (a direct message the registry delivers itself)
    and "room" (a room line or notice) are sent again while the peer is probed, and only a
    peer that answers nothing is marked offline (out of its room, the channel and direct
    messages in its mailbox: registry/core/failures.py).
    """

    owner: str
    addr: Addr
    message: Message
    purpose: str
    #: order in which the registry made its pushes, so failures can be acted on in order
    seq: int = 0


class Lane:
    """One address's pushes: those waiting, in order, and the datagram in flight."""

    __slots__ = ("addr", "opened", "queue", "sent", "size", "tries", "turn")

    def __init__(self, addr: Addr) -> None:
        self.addr = addr
        self.queue: deque[Entry] = deque()
        #: the unanswered pushes of the datagram in flight (empty: the lane is idle)
        self.sent: list[Entry] = []
        #: copies of that datagram sent so far
        self.tries = 0
        #: counts the datagrams sent: a retry deadline of an earlier one is stale
        self.turn = 0
        #: when that datagram was sent, and its size packed (over MAX_DATAGRAM: streamed)
        self.opened = float("-inf")
        self.size = 0

    def joins(self, flight: Flight, now: float) -> bool:
        """Whether `flight` joins the datagram in flight, as it is sent: made at the same
        moment, with nothing queued, and room for it. The pushes one request makes (a
        join's notice and the room's history) leave together, not one per round trip."""
        if self.opened != now or self.queue or flight.streamed:
            return False
        size = self.size + 1 + len(flight.data)
        if size > MAX_DATAGRAM:
            return False
        self.size = size
        return True

    def send(self, batch: list[Entry], now: float) -> None:
        """`batch` leaves as the datagram in flight (the lane was idle)."""
        self.sent = batch
        self.tries = 1
        self.turn += 1
        self.opened = now
        if batch[0][0].streamed:
            self.size = MAX_DATAGRAM + 1
        else:
            self.size = 1 + sum(1 + len(flight.data) for flight, _ in batch)


def flight_of(message: Message, purpose: str, seq: int) -> Flight:
    """`message` as a flight: encoded once for all its peers."""
    data = encode(message)
    return Flight(message, purpose, seq, data, not fits_datagram(data))


class Pushes:
    """Every push awaiting an ack, in a lane per address (see the module's docstring)."""

    def __init__(self, timeout: float = TIMEOUT, attempts: int = ATTEMPTS) -> None:
        if timeout <= 0 or attempts < 1:
            raise ValueError(f"pushes need a timeout > 0 and attempts >= 1: {timeout}, {attempts}")
        self._timeout = timeout
        self._attempts = attempts
        self._lanes: dict[Addr, Lane] = {}
        # retry deadlines in the order they were set: (deadline, lane, its turn then)
        self._deadlines: deque[tuple[float, Lane, int]] = deque()
        # lanes given up on, idle with a queue, until `resume`
        self._stalled: list[Lane] = []
        # message id -> flights of it with pushes left
        self._live: dict[str, int] = {}
        # ids whose end is to be reported (`watch`), and those of them that may have ended
        self._watched: set[str] = set()
        self._ending: list[str] = []

    def add(
        self,
        message: Message,
        purpose: str,
        targets: Iterable[tuple[str, Addr]],
        now: float,
        seq: int = 0,
    ) -> tuple[list[Addr], list[Batch]]:
        """Push `message` to each (owner, address) of `targets` (an address named twice
        gets it once): (the idle addresses to send it to now, alone; the batches of stalled
        lanes it is queued in, to send now). Elsewhere it waits its turn in order of `seq`."""
        owners: dict[Addr, str] = {}
        for owner, addr in targets:
            owners.setdefault(addr, owner)
        flight = flight_of(message, purpose, seq)
        now_addrs = self._start(flight, list(owners.values()), list(owners), now)
        batches: list[Batch] = []
        for addr in owners:
            lane = self._lanes[addr]
            if not lane.sent and lane.queue:
                batches.append(self._release(lane, now))
        return now_addrs, batches

    def add_many(
        self,
        message: Message,
        purpose: str,
        targets: tuple[Sequence[str], Sequence[Addr]],
        now: float,
        seq: int = 0,
    ) -> list[Addr]:
        """`add` for owners and their addresses as two sequences of the same length, the
        addresses all different (a relay to a channel's members): the addresses to send
        it to now. No lane is stalled outside `due` and `resume`, so none is released."""
        owners, addrs = targets
        return self._start(flight_of(message, purpose, seq), owners, addrs, now)

    def _start(
        self, flight: Flight, owners: Sequence[str], addrs: Sequence[Addr], now: float
    ) -> list[Addr]:
        """Send `flight` now to each idle lane of `addrs`; queue it in the others."""
        lanes, deadlines = self._lanes, self._deadlines
        deadline = now + self._timeout
        idle: list[Addr] = []
        for owner, addr in zip(owners, addrs, strict=True):
            lane = lanes.get(addr)
            if lane is None:
                lane = lanes[addr] = Lane(addr)
            if not (lane.sent or lane.queue):
                lane.send([(flight, owner)], now)
                deadlines.append((deadline, lane, lane.turn))
                idle.append(addr)
            elif lane.sent and lane.joins(flight, now):
                lane.sent.append((flight, owner))
                idle.append(addr)
            else:
                self._enqueue(lane, (flight, owner))
        if addrs:
            flight.left = len(addrs)
            msg_id = flight.message.id
            self._live[msg_id] = self._live.get(msg_id, 0) + 1
        return idle

    @staticmethod
    def _enqueue(lane: Lane, entry: Entry) -> None:
        """Queue `entry` in its place in the order of `seq` (at the end, but for a push
        made again in place of one given up)."""
        queue, seq = lane.queue, entry[0].seq
        if not queue or queue[-1][0].seq <= seq:
            queue.append(entry)
            return
        for i, (flight, _) in enumerate(queue):
            if flight.seq > seq:
                queue.insert(i, entry)
                return

    def answer(
        self, msg_ids: Sequence[str], addr: Addr, now: float
    ) -> tuple[list[Entry], list[Batch]]:
        """`addr` acked each of `msg_ids` (one Acks answers a datagram): (the pushes they
        answer, in order; the next datagram of its queue, once the one in flight is wholly
        answered). Ids of nothing in flight to `addr` are ignored."""
        lane = self._lanes.get(addr)
        if lane is None or not lane.sent:
            return [], []
        sent = lane.sent
        if len(sent) == 1 and len(msg_ids) == 1:
            if sent[0][0].message.id != msg_ids[0]:
                return [], []
            answered, lane.sent = sent, []
        else:
            ids = set(msg_ids)
            answered = [entry for entry in sent if entry[0].message.id in ids]
            if not answered:
                return [], []
            lane.sent = [entry for entry in sent if entry[0].message.id not in ids]
        for flight, _ in answered:
            self._one_less(flight)
        if lane.sent:
            return answered, []
        lane.turn += 1  # its deadline is stale
        if lane.queue:
            return answered, [self._release(lane, now)]
        return answered, []

    def due(self, now: float) -> tuple[list[Batch], list[Push]]:
        """At `now`: (datagrams to send again: what of them is unanswered; pushes given up,
        oldest first). A lane given up on stalls until `resume`."""
        deadlines, attempts = self._deadlines, self._attempts
        again: list[Batch] = []
        failed: list[Push] = []
        while deadlines and deadlines[0][0] <= now:
            _, lane, turn = deadlines.popleft()
            if turn != lane.turn or not lane.sent:
                continue
            if lane.tries < attempts:
                lane.tries += 1
                deadlines.append((now + self._timeout, lane, turn))
                again.append((lane.addr, list(lane.sent)))
                continue
            lane.turn += 1
            for flight, owner in lane.sent:
                failed.append(Push(owner, lane.addr, flight.message, flight.purpose, flight.seq))
                self._one_less(flight)
            lane.sent = []
            if lane.queue:
                self._stalled.append(lane)
            elif self._lanes.get(lane.addr) is lane:
                del self._lanes[lane.addr]
        failed.sort(key=lambda push: push.seq)
        return again, failed

    def resume(self, now: float) -> list[Batch]:
        """The lanes `due` gave up on go on: the next datagram of each that is still idle
        (what was pushed again in place of the pushes given up first)."""
        stalled, self._stalled = self._stalled, []
        return [
            self._release(lane, now)
            for lane in stalled
            if not lane.sent and lane.queue and self._lanes.get(lane.addr) is lane
        ]

    def drop_all(self, addr: Addr) -> list[Push]:
        """Forget and return every push to `addr`: those in flight, then those queued."""
        lane = self._lanes.pop(addr, None)
        if lane is None:
            return []
        lane.turn += 1
        dropped: list[Push] = []
        for flight, owner in (*lane.sent, *lane.queue):
            dropped.append(Push(owner, addr, flight.message, flight.purpose, flight.seq))
            self._one_less(flight)
        lane.sent, lane.queue = [], deque()
        return dropped

    def pending(self, msg_id: str) -> bool:
        """Whether message `msg_id` is still pushed to anyone: in flight, or queued. Once
        not, every push of it was answered, given up or dropped."""
        return msg_id in self._live

    def watch(self, msg_id: str) -> None:
        """Report message `msg_id` through `ended` once it is no longer `pending` (at once,
        if it is not now): a relay's sender is told when every member has it or is gone."""
        self._watched.add(msg_id)
        self._ending.append(msg_id)

    def ended(self) -> list[str]:
        """The watched message ids that are no longer pending, each reported once (and
        watched no more), in the order their last push ended."""
        if not self._ending:
            return []
        ending, self._ending = self._ending, []
        over: list[str] = []
        watched = self._watched
        for msg_id in ending:
            if msg_id in watched and msg_id not in self._live:
                watched.discard(msg_id)
                over.append(msg_id)
        return over

    def next_wake(self) -> float | None:
        """The earliest retry deadline still standing, or None."""
        deadlines = self._deadlines
        while deadlines:
            _, lane, turn = deadlines[0]
            if turn == lane.turn and lane.sent:
                return deadlines[0][0]
            deadlines.popleft()
        return None

    def in_flight(self) -> int:
        """Pushes sent and not yet answered, given up or dropped."""
        return sum(len(lane.sent) for lane in self._lanes.values())

    def queued(self) -> int:
        """Pushes waiting for the datagram in flight to their address to be answered."""
        return sum(len(lane.queue) for lane in self._lanes.values())

    def _release(self, lane: Lane, now: float) -> Batch:
        """Send the next datagram of idle `lane`'s queue: as many pushes as fit one, in
        order, or one streamed push alone."""
        queue = lane.queue
        batch = [queue.popleft()]
        if not batch[0][0].streamed:
            size = 1 + 1 + len(batch[0][0].data)  # brackets, as wire.codec.pack_datagrams
            while queue:
                flight = queue[0][0]
                size += 1 + len(flight.data)
                if flight.streamed or size > MAX_DATAGRAM:
                    break
                batch.append(queue.popleft())
        lane.send(batch, now)
        self._deadlines.append((now + self._timeout, lane, lane.turn))
        return lane.addr, list(batch)

    def _one_less(self, flight: Flight) -> None:
        """A push of `flight` ended: answered, given up or dropped."""
        flight.left -= 1
        if flight.left:
            return
        msg_id = flight.message.id
        left = self._live.pop(msg_id) - 1
        if left:
            self._live[msg_id] = left
        elif msg_id in self._watched:
            self._ending.append(msg_id)
