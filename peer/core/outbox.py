"""The peer's outbox (docs/GUIDE.md, "When the registry is down"). Sans-IO."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from peer.core.actions import Emit, KeepOutbox
from peer.core.settling import Settling
from wire.messages import Leave, Message


class Outbox:
    """The messages held for the registry, in the order typed, kept on disk."""

    def __init__(self, kept: Iterable[Message] = ()) -> None:
        """`kept`: what an earlier run kept, in its order, typed before anything of this run."""
        self.held: list[Message] = list(kept)
        #: What the user sent and is not known delivered, in the order typed.
        self.settling = Settling(self.held)
        self.on_disk: tuple[Message, ...] = tuple(self.held)

    def __iter__(self) -> Iterator[Message]:
        return iter(self.held)

    def __len__(self) -> int:
        return len(self.held)

    def __contains__(self, message: object) -> bool:
        return message in self.held

    def add(self, message: Message) -> None:
        """Hold `message` in the order typed (one typed earlier may come later); not typed:
        at the end."""
        typed_at = self.settling.typed_at
        at = typed_at(message)
        index = next(
            (i for i, kept in enumerate(self.held) if typed_at(kept) > at),
            len(self.held),
        )
        self.held.insert(index, message)

    def answered(self, message: Message) -> bool:
        """`message` is answered: forget it (it may be settled). True when it was held (its
        confirmation then says which message it is for)."""
        self.settling.maybe(message.id)
        if isinstance(message, Leave):  # settled here: not kept by Sending
            self.settling.forget_typed(message.id)
        held = len(self.held)
        self.held = [m for m in self.held if m.id != message.id]
        return len(self.held) != held

    def replace(self, messages: Iterable[Message]) -> None:
        """Hold `messages` (in their order) and nothing else."""
        self.held = list(messages)

    def keep(self, emit: Emit) -> None:
        """Emit a KeepOutbox when what is on disk is not the outbox."""
        held = tuple(self.held)
        if held != self.on_disk:
            self.on_disk = held
            emit(KeepOutbox(held))
