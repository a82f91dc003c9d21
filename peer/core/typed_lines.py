"""Typed lines that cannot be carried out yet: those typed before the first registration
is answered (each may need the table or the token), and those typed while a change they
may depend on is on its way (a join, a rename, a dereg: see TypedInput._changing). Both
are carried out in the order typed once they can be; None stands for the end of input.
Sans-IO: lines dropped are said in Print actions.
"""

from __future__ import annotations

from collections import deque

from peer.core.actions import Emit, Print

#: Said when the input ended before the first Welcome and the registration was sent again:
#: only once that answer is late, as the wait is then worth knowing of (an answer that comes
#: at once is said first, and a script's input nearly always ends before it).
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
        """The first registration failed: say which typed lines were not carried out, so
        that nothing typed is lost in silence."""
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
        """Forget the lines waiting for a change: the peer leaves at once, which is said of
        each into `out` when given."""
        if emit is not None:
            for text in self.after_change:
                if text is not None and text.strip():
                    emit(Print(f"[Not carried out, as you left at once: {text}]", "error"))
        self.after_change.clear()
