"""What the user sent and is not known delivered, as the adapter keeps it on disk: a
Sending when it is typed, a Settled once nothing of it is on its way any more (so that a
peer killed even before a first retry loses nothing). Sans-IO: both are records, kept in
`records` for the adapter to write after the event (`PeerCore.records`).
"""

from __future__ import annotations

from collections.abc import Callable

from peer.core.actions import Sending, Settled
from peer.core.outbox import Outbox
from wire.messages import Leave, Message


class Settling:
    """The ids of the messages typed and not yet settled, and those an answer of the
    current event may have settled (checked by `settle`, at the end of the event)."""

    def __init__(self, outbox: Outbox) -> None:
        """`outbox` is the peer's own: it keeps the order typed (see Outbox.note_typed)."""
        self._outbox = outbox
        self._sending: set[str] = set()
        #: The records of what is on its way, in order, for the adapter to write and clear
        #: after every event (the same list, for the life of the core).
        self.records: list[Sending | Settled] = []
        #: The ids an answer of the current event may have settled (`settle` checks them).
        self.maybe_settled: list[str] = []

    def keep(self, message: Message) -> None:
        """Have `message`, just typed, kept until it is settled (see Sending)."""
        self._outbox.note_typed(message)
        self._sending.add(message.id)
        self.records.append(Sending(message))

    def maybe(self, msg_id: str) -> None:
        """An answer about message `msg_id` came: it may be settled (`settle` checks)."""
        if msg_id in self._sending:
            self.maybe_settled.append(msg_id)

    def drop_from_outbox(self, message: Message) -> bool:
        """`message` is answered: forget it. True when it was kept in the outbox, so that
        its confirmation, coming late and unprompted, says which message it is for."""
        self.maybe(message.id)
        if isinstance(message, Leave):  # settled here: not kept by Sending
            self._outbox.forget_typed(message.id)
        return self._outbox.drop(message.id)

    def settled(self, msg_id: str) -> None:
        """Message `msg_id` is on its way nowhere any more (the caller knows): a Settled
        for it, unless it is settled already or was never typed."""
        if msg_id in self._sending:
            self._sending.discard(msg_id)
            self._outbox.forget_typed(msg_id)
            self.records.append(Settled(msg_id))

    def settle(self, on_its_way: Callable[[str], bool]) -> None:
        """At the end of an event: a Settled for each message an answer may have settled
        that is no longer `on_its_way` anywhere."""
        if self.maybe_settled:
            for msg_id in self.maybe_settled:
                if msg_id in self._sending and not on_its_way(msg_id):
                    self.settled(msg_id)
            self.maybe_settled.clear()
