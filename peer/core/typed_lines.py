"""Typed lines that cannot be carried out yet: before the first Welcome, or while a change
they may depend on is on its way (TypedInput._changing); carried out in the order typed,
None standing for the end of input. Sans-IO.
"""

from __future__ import annotations

from collections import deque

from peer.core.actions import Emit, Print

#: Said when the input ended before the first Welcome and the registration was sent again.
QUITTING_LATER = Print("[Quitting once the registry has answered; Ctrl-C quits at once.]", "system")


class TypedLines:
    """The lines waiting for the first Welcome, and those waiting for a change."""

    def __init__(self) -> None:
        self._early: list[str | None] = []
        #: The lines (None: the end of input) that wait for the change on its way, in order.
        self.after_change: deque[str | None] = deque()

    # -- before the first Welcome -------------------------------------------------------

    def hold_early(self, text: str | None) -> None:
        """`text` (None: the end of input) waits for the first Welcome."""
        self._early.append(text)

    def ended_early(self) -> bool:
        """Whether the input ended before the first Welcome."""
        return None in self._early

    def take_early(self) -> list[str | None]:
        """The lines typed before the first Welcome, in order; no longer held."""
        typed, self._early = self._early, []
        return typed

    def held(self) -> tuple[str | None, ...]:
        """Every line held, in order: those waiting for the first Welcome, then those
        waiting for a change (None: the end of input)."""
        return (*self._early, *self.after_change)

    def drop_early(self, emit: Emit) -> None:
        """The first registration failed: say which typed lines were not carried out."""
        for text in self._early:
            if text is not None and text.strip():
                emit(Print(f"[Not carried out, as you are not registered: {text}]", "error"))
        self._early.clear()

    # -- while a change is on its way ---------------------------------------------------

    @property
    def waiting(self) -> bool:
        """Whether lines wait for a change."""
        return bool(self.after_change)

    def hold(self, text: str | None) -> None:
        """`text` (None: the end of input) waits for the change on its way."""
        self.after_change.append(text)

    def next(self) -> str | None:
        """The first line waiting for a change, no longer held (see `waiting`)."""
        return self.after_change.popleft()

    def drop(self, emit: Emit | None = None) -> None:
        """Forget the lines waiting for a change (the peer leaves at once), each said to
        `emit` when given."""
        if emit is not None:
            for text in self.after_change:
                if text is not None and text.strip():
                    emit(Print(f"[Not carried out, as you left at once: {text}]", "error"))
        self.after_change.clear()
