"""What came to this peer, as it is taken in: each message shown once, and every copy of
one acked (docs/PROTOCOL.md: at least once on the wire, exactly once on the screen). The
acks of one datagram leave together, as one Acks, once all of it is taken. Sans-IO:
Shown and Send actions.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence

from peer.core.actions import AcksHeld, Addr, Emit, Send, Shown
from peer.core.held_acks import HeldAcks
from peer.core.lifecycle import Lifecycle
from wire.ids import IdMaker
from wire.messages import Ack, Acks, ChannelMessage
from wire.names import name_key

#: Message ids remembered for showing each message once.
SEEN_IDS = 50_000


class Inbox:
    """The (sender, id) pairs shown, the last `limit` of them, senders ignoring case; and
    the acks owed for what the event being taken in brought."""

    def __init__(
        self,
        life: Lifecycle,
        new_id: IdMaker,
        acks: HeldAcks,
        shown: Iterable[tuple[str, str]] = (),
        limit: int = SEEN_IDS,
    ) -> None:
        """`life`: the peer's (a deregistered peer takes nothing); `new_id` makes the acks'
        ids; `acks`: those held for the registry; `shown`: the pairs shown in earlier
        runs, oldest first (see Shown)."""
        self._life = life
        self._new_id = new_id
        self._acks = acks
        self._limit = limit
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict(
            ((name_key(sender), msg_id), None) for sender, msg_id in shown
        )
        #: (address, message id) accepted in this event and not acked yet, in order
        self.owed: list[tuple[Addr, str]] = []

    def accept(self, sender: str, msg_id: str, addr: Addr | None, emit: Emit) -> bool:
        """Whether message `msg_id` from `sender` is shown for the first time: then it is
        recorded, durably first (a Shown handed to `emit`, which the adapter carries out
        before the line is printed, and before any ack leaves). With `addr`, every copy is
        acked there (`ack_owed` sends it), unless this peer is deregistered: it takes
        nothing then, so that senders fall back to the registry's mailbox. Without, it came
        in an answer (the mailbox handed over, our own room line taken), acked otherwise."""
        if addr is not None:
            if not self._life.registered:
                return False
            self.owed.append((addr, msg_id))
        key = (name_key(sender), msg_id)
        if key in self._seen:
            return False
        self._seen[key] = None
        emit(Shown((key,)))
        while len(self._seen) > self._limit:
            self._seen.popitem(last=False)
        return True

    def accept_all(
        self, messages: Sequence[ChannelMessage], addr: Addr, emit: Emit
    ) -> list[ChannelMessage]:
        """`accept` for each of `messages`, in order, all acked at `addr`: those shown for
        the first time, recorded in one Shown."""
        if not self._life.registered:
            return []
        owed, seen = self.owed, self._seen
        new: list[ChannelMessage] = []
        keys: list[tuple[str, str]] = []
        for message in messages:
            msg_id = message.id
            owed.append((addr, msg_id))
            key = (name_key(message.sender), msg_id)
            if key not in seen:
                seen[key] = None
                keys.append(key)
                new.append(message)
        if keys:
            emit(Shown(tuple(keys)))
            while len(seen) > self._limit:
                seen.popitem(last=False)
        return new

    def ack_owed(self, key: bytes, from_registry: bool, emit: Emit) -> None:
        """Send the acks owed since the last call (the end of an event: one datagram's
        messages, sealed by `key`, to which they go): one Ack, or one Acks per address
        for several; held instead, to the end of the read, when they are owed the registry
        (`from_registry`: peer.core.held_acks), AcksHeld said as the first is."""
        owed = self.owed
        if not owed:
            return
        self.owed = []
        if from_registry:
            acks = self._acks
            if not acks:
                emit(AcksHeld())
            acks.hold(key, owed)
            return
        new_id = self._new_id
        if len(owed) == 1:
            addr, msg_id = owed[0]
            emit(Send(addr, Ack(new_id(), msg_id), key))
            return
        by_addr: dict[Addr, list[str]] = {}
        for addr, msg_id in owed:
            by_addr.setdefault(addr, []).append(msg_id)
        for addr, ids in by_addr.items():
            ack = Acks(new_id(), tuple(ids)) if len(ids) > 1 else Ack(new_id(), ids[0])
            emit(Send(addr, ack, key))
