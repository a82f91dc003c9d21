"""The peer's outbox: what waits for the registry while it does not answer, in the order
the user typed it, kept on disk so that a peer killed meanwhile sends it after its restart
(docs/GUIDE.md, "When the registry is down"). Sans-IO: `keep` appends the KeepOutbox
action that has the adapter write it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

from peer.core.actions import Emit, KeepOutbox
from wire.messages import Message, SaveMessage


class Outbox:
    """The messages held for the registry, in the order typed, and the direct messages
    still unanswered after their first try (`unanswered`, by id, as the saves they become
    if never answered), both kept on disk. Iterating gives the held messages, in order."""

    def __init__(self, kept: Iterable[Message] = ()) -> None:
        """`kept`: what an earlier run kept, in its order, typed before anything of this run."""
        self.held: list[Message] = list(kept)
        self.on_disk: tuple[Message, ...] = tuple(self.held)
        #: Direct messages unanswered after their first try: on disk with the outbox, so
        #: that a peer killed during the retries sends them to the registry after its
        #: restart instead of losing them.
        self.unanswered: dict[str, SaveMessage] = {}
        # the order in which what the user sent was typed, by id (until it is settled, or
        # answered for a leave): what waits for the registry goes out in that order
        self._typed_order: dict[str, int] = {m.id: n for n, m in enumerate(self.held)}
        self._typed_count = itertools.count(len(self.held))

    def __iter__(self) -> Iterator[Message]:
        return iter(self.held)

    def __len__(self) -> int:
        return len(self.held)

    def __contains__(self, message: object) -> bool:
        return message in self.held

    def note_typed(self, message: Message) -> None:
        """Note that `message` was typed now, after every message noted before it."""
        if message.id not in self._typed_order:
            self._typed_order[message.id] = next(self._typed_count)

    def typed_at(self, message: Message) -> float:
        """Where `message` comes in the order typed (not typed: after all the others)."""
        return self._typed_order.get(message.id, float("inf"))

    def forget_typed(self, msg_id: str) -> None:
        """Message `msg_id` is settled: its place in the order typed is no longer needed."""
        self._typed_order.pop(msg_id, None)

    def add(self, message: Message) -> None:
        """Hold `message`, in the order typed: one typed earlier may reach the outbox later
        (a direct message goes to the registry only after its round of tries, and then has
        another), and the outbox goes out in its order. Not typed: at the end."""
        at = self.typed_at(message)
        index = next(
            (i for i, kept in enumerate(self.held) if self.typed_at(kept) > at),
            len(self.held),
        )
        self.held.insert(index, message)

    def drop(self, msg_id: str) -> bool:
        """Message `msg_id` is answered: forget it, held or unanswered. True when it was
        held (so that its confirmation, coming late and unprompted, says which it is)."""
        held = len(self.held)
        self.held = [m for m in self.held if m.id != msg_id]
        self.unanswered.pop(msg_id, None)
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
                everything = tuple(sorted(held, key=self.typed_at))
        if everything != self.on_disk:
            self.on_disk = everything
            emit(KeepOutbox(everything))
