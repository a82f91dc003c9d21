"""The `message` command's questions: it asks for what is missing, the recipient and then
the text, and sends once both are answered (an empty answer, or Ctrl-C, cancels). Sans-IO:
Print actions; the message goes through peer.core.direct.
"""

from __future__ import annotations

from peer.core.actions import Emit, Print
from peer.core.commands import Send
from peer.core.direct import DirectChats
from peer.core.shared import Shared
from wire.names import name_key


class Asking:
    """Which question is asked (none, the recipient, the text), and the recipient."""

    def __init__(self, shared: Shared, direct: DirectChats) -> None:
        self._shared = shared
        self._direct = direct
        #: The recipient answered, awaiting the text; None otherwise.
        self.asking: str | None = None
        #: The question asked: 0 none, 1 the recipient, 2 the text.
        self.step = 0

    @property
    def asked(self) -> bool:
        """Whether the next line answers a question (rather than being a command)."""
        return self.step != 0

    def start(self, to: str, now: float, emit: Emit) -> None:
        """`message` (or `message <name>`) was typed: ask for what is missing."""
        self.step = 1
        if to:
            self.answer(to, now, emit)
        else:
            emit(Print("[To whom?]", "system"))

    def answer(self, text: str, now: float, emit: Emit) -> None:
        """The line typed answers the question asked."""
        if self.step == 1:
            self._recipient(text.strip(), emit)
            return
        to, self.asking, self.step = self.asking or "", None, 0
        text = text.rstrip()  # leading spaces are the user's, as in `send` (commands.parse)
        if not text:
            emit(Print("[Cancelled.]", "system"))
            return
        self._direct.send(Send(to, text), now, emit)

    def _recipient(self, name: str, emit: Emit) -> None:
        if not name:
            self.step = 0
            emit(Print("[Cancelled.]", "system"))
            return
        entry = self._shared.table.entry(name)
        if entry is None:  # said now, not after the text is typed
            self.step = 0
            emit(self._shared.no_user(name))
            return
        if name_key(entry.name) == name_key(name):  # the name as the table spells it
            name = entry.name
        self.asking = name
        self.step = 2
        emit(Print(f"[Message to {name}?]", "system"))

    def cancel(self) -> bool:
        """Ctrl-C: True when it cancelled a question (then no longer asked)."""
        if not self.step:
            return False
        self.asking, self.step = None, 0
        return True

    def prompt(self) -> str | None:
        """The prompt of the question asked; None when none is."""
        if self.step == 1:
            return "message to: "
        if self.step == 2:
            return f"message to {self.asking}: "
        return None

    def question(self) -> str:
        """ "recipient", "text", or "" when no question is asked."""
        return {1: "recipient", 2: "text"}.get(self.step, "")
