"""The peer's outbox: what waits for the registry while it does not answer, in the order
the user typed it, kept on disk so that a peer killed meanwhile sends it after its restart
(docs/GUIDE.md, "When the registry is down"). Sans-IO: `keep` appends the KeepOutbox
action that has the adapter write it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from peer.core.actions import Emit, KeepOutbox
from peer.core.settling import Settling
from wire.messages import Leave, Message, SaveMessage


class Outbox:
    """The messages held for the registry, in the order typed, and the direct messages
    still unanswered after their first try (`unanswered`, by id, as the saves they become
    if never answered), both kept on disk. Iterating gives the held messages, in order."""

    def __init__(self, kept: Iterable[Message] = ()) -> None:
        """`kept`: what an earlier run kept, in its order, typed before anything of this run."""
        self.held: list[Message] = list(kept)
        #: What the user sent and is not known delivered, in the order typed: the order
        #: the outbox keeps (peer.core.settling).
        self.settling = Settling(self.held)
        self.on_disk: tuple[Message, ...] = tuple(self.held)
        #: Direct messages unanswered after their first try: on disk with the outbox, so
        #: that a peer killed during the retries sends them to the registry after its
        #: restart instead of losing them.
        self.unanswered: dict[str, SaveMessage] = {}

    def __iter__(self) -> Iterator[Message]:
        return iter(self.held)

    def __len__(self) -> int:
        return len(self.held)

    def __contains__(self, message: object) -> bool:
        return message in self.held

    def add(self, message: Message) -> None:
        """Hold `message`, in the order typed: one typed earlier may reach the outbox later
        (a direct message goes to the registry only after its round of tries, and then has
        another), and the outbox goes out in its order. Not typed: at the end."""
        typed_at = self.settling.typed_at
        at = typed_at(message)
        index = next(
            (i for i, kept in enumerate(self.held) if typed_at(kept) > at),
            len(self.held),
        )
        self.held.insert(index, message)

    def answered(self, message: Message) -> bool:
        """`message` is answered: forget it (it may be settled: `Settling.maybe`). True when
        it was held, so that its confirmation, coming late and unprompted, says which
        message it is for."""
        self.settling.maybe(message.id)
        if isinstance(message, Leave):  # settled here: not kept by Sending
            self.settling.forget_typed(message.id)
        held = len(self.held)
        self.held = [m for m in self.held if m.id != message.id]
        self.unanswered.pop(message.id, None)
        return len(self.held) != held

    def replace(self, messages: Iterable[Message]) -> None:
        """Hold `messages` (in their order) and nothing else: everything not known
        delivered, as the peer leaves and keeps it all for its next start."""
        self.held = list(messages)
        self.unanswered.clear()

    def keep(self, emit: Emit, everything: tuple[Message, ...] | None = None) -> None:
        """Emit a KeepOutbox when what is on disk is not the outbox (held and unanswered,
        in the order typed), or `everything` when given (leaving at once: all that is not
        known delivered)."""
        if everything is None:
            if not self.held and not self.unanswered:
                everything = ()  # nearly always, after every event: nothing to sort
            else:
                held = (*self.held, *self.unanswered.values())
                everything = tuple(sorted(held, key=self.settling.typed_at))
        if everything != self.on_disk:
            self.on_disk = everything
            emit(KeepOutbox(everything))
