"""What came to this peer, as it is taken in: whether it may be believed from the address
it came from, and the ack of every copy with each message shown once (docs/PROTOCOL.md:
at least once on the wire, exactly once on the screen). Sans-IO: Shown and Send actions.
"""

from __future__ import annotations

from peer.actions import Addr, Emit, Send
from peer.shared import Shared
from wire.messages import Ack


class Inbox:
    """The checks and acks of what others send us."""

    def __init__(self, shared: Shared) -> None:
        self._shared = shared
        self._server = shared.server

    def from_registry(self, addr: Addr) -> bool:
        """Whether what came from `addr` may be the registry's: from its IP (a long message
        comes over a TCP connection of its own, from another port). As with `plausible`,
        this stops forgeries from other machines, not from processes on the registry's."""
        return addr[0] == self._server[0]

    def plausible(self, sender: str, addr: Addr) -> bool:
        """Whether a direct message claiming `sender` may come from `addr`: the sender's IP
        in our table, or the registry's (it delivers messages itself). This stops forgeries
        from other machines; processes on one machine share an IP and are not told apart.
        A name renamed since the message was sent is followed to its new row."""
        if addr[0] == self._server[0]:
            return True
        entry = self._shared.table.entry(sender)
        return entry is not None and entry.ip == addr[0]

    def accept(self, sender: str, msg_id: str, addr: Addr, emit: Emit) -> bool:
        """Ack every copy; True only for the first copy of (sender, id), whose Shown comes
        before the ack (recorded before it is acked, and so before it is shown). A
        deregistered peer answers nothing, so that senders fall back to the registry's
        mailbox."""
        shared = self._shared
        if not shared.life.registered:
            return False
        first = shared.seen.first_sight(sender, msg_id, emit)
        emit(Send(addr, Ack(shared.new_id(), msg_id)))
        return first
