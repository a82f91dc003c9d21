"""What came to this peer, as it is taken in: the ack of every copy, with each message shown
once (docs/PROTOCOL.md: at least once on the wire, exactly once on the screen). Sans-IO:
Shown and Send actions.
"""

from __future__ import annotations

from peer.actions import Addr, Emit, Send
from peer.shared import Shared
from wire.messages import Ack


class Inbox:
    """The checks and acks of what others send us."""

    def __init__(self, shared: Shared) -> None:
        self._shared = shared

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
