"""What the desk says to an operator on duty (`DeskSays`): each kind of message by its own
handler, in one table; any other is shown as `wire.desk.render` reads it to operators
(the registry's console operator reads them alike).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from peer.core.desk.actions import Emit, Send, Show, style_of
from peer.core.desk.duty_state import IDLE_PROMPT, OperatorState
from wire.desk.messages import DeskEnded, DeskMessage, DeskOnDuty, DeskRefused, DeskSession
from wire.desk.render import render_operator
from wire.refusals import RefusalCode
from wire.shown_text import clean

#: What handles one kind of the desk's messages: the message, now, the actions.
Handler = Callable[[Any, float, Emit], None]


def show(message: DeskMessage, now: float, emit: Emit) -> None:
    """The lines of `message`, as an operator reads them."""
    for line in render_operator(message):
        emit(Show(line, style_of(line)))


class DeskSays:
    """The desk's messages to an operator."""

    def __init__(self, s: OperatorState) -> None:
        self.s = s
        self.link = s.link
        self._handlers: dict[type[DeskMessage], Handler] = {
            DeskOnDuty: self._on_duty,
            DeskSession: self._session,
            DeskEnded: self._ended,
            DeskRefused: self._refused,
        }

    def said(self, message: DeskMessage, now: float, emit: Emit) -> None:
        """The desk said `message`, while on duty (or leaving)."""
        self._handlers.get(type(message), show)(message, now, emit)

    def _on_duty(self, message: DeskOnDuty, now: float, emit: Emit) -> None:
        s = self.s
        if s.pending is None:  # (else the answer to the `.serve` sent now says what is served)
            show(message, now, emit)
        s.topics = message.topics
        hint = not s.on_duty or s.hint_due
        s.on_duty, s.hint_due = True, False
        if s.pending is not None:
            emit(Send(s.pending[1]))
            s.pending, s.hint_due = None, hint  # after the `.serve`'s answer
        elif hint:
            emit(Show("[.help lists the commands.]"))
        s.reconnecting, s.refusal = False, ""
        self.link.rewind()

    def _session(self, message: DeskSession, now: float, emit: Emit) -> None:
        show(message, now, emit)
        self.s.switch(message.session, message.name, f"to {message.name}> ", now, emit)

    def _ended(self, message: DeskEnded, now: float, emit: Emit) -> None:
        show(message, now, emit)
        self.s.switch("", "", IDLE_PROMPT, now, emit)

    def _refused(self, message: DeskRefused, now: float, emit: Emit) -> None:
        s = self.s
        s.refused_code = message.code
        if s.reconnecting and message.reason and message.code is RefusalCode.ALREADY_ON_DUTY:
            # the desk has not yet seen our old connection end (it checks it is alive):
            # the refusal closes this one, and the next try comes after it (`lost`)
            if message.reason != s.refusal:
                s.refusal = message.reason
                emit(Show(f"[{clean(message.reason)} Trying again.]", "error"))
            return
        show(message, now, emit)
        self.link.end(1, emit)


def cut_short(who: str) -> str:
    """What an operator whose connection was lost is told of `who`, the person it served.
    Only the desk knows what becomes of them, and the client cannot tell which case this
    is: a desk that is still running (the network blinked, or this client was stopped)
    puts them back at the front, where the next free operator takes them, maybe another
    at once; a desk that stopped (a crash, a power cut) keeps them for this operator once
    it is restarted, and the conversation resumes (docs/DESK.md, "A registry that stops
    without closing the desk"). So both are said, each as what happens in its case; the
    desk says which it was once the operator is back."""
    return (
        f"your session with {who} was cut short. If the help desk stopped, {who} is kept for "
        f"you once it is restarted, and your conversation resumes when you are both back; if "
        f"not, {who} is back at the front of the waiting room, for the next free operator"
    )
