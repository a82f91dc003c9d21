"""What came to this peer, as it is taken in: the ack of every copy, with each message shown
once (docs/PROTOCOL.md: at least once on the wire, exactly once on the screen). The acks
of one datagram leave together, as one Acks, once all of it is taken. Sans-IO: Shown and
Send actions.
"""

from __future__ import annotations

from peer.core.actions import AcksHeld, Addr, Emit, Send
from peer.core.shared import Shared
from wire.messages import Ack, Acks


class Inbox:
    """The checks and acks of what others send us."""

    def __init__(self, shared: Shared) -> None:
        self._shared = shared
        #: (address, message id) accepted in this event and not acked yet, in order
        self.owed: list[tuple[Addr, str]] = []

    def accept(self, sender: str, msg_id: str, addr: Addr, emit: Emit) -> bool:
        """Owe an ack for every copy (`ack_owed` sends it); True only for the first copy of
        (sender, id), whose Shown is handed to `emit` at once (recorded before it is acked,
        and so before it is shown). A deregistered peer answers nothing, so that senders
        fall back to the registry's mailbox."""
        shared = self._shared
        if not shared.life.registered:
            return False
        first = shared.seen.first_sight(sender, msg_id, emit)
        self.owed.append((addr, msg_id))
        return first

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
            acks = self._shared.acks
            if not acks:
                emit(AcksHeld())
            acks.hold(key, owed)
            return
        new_id = self._shared.new_id
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
