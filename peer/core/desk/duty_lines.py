"""What the operator types while on duty (`OperatorLines`): a command, or a line for the
person served; what it means, and what is held back, is shared with the registry's console
operator (`wire.desk.commands.DutyScreen`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from peer.core.desk.actions import Action, Emit, PutTyped, Send, Show
from wire.desk.commands import parse_operator_line
from wire.desk.messages import DeskEnd, DeskLine, DeskServe
from wire.shown_text import clean

if TYPE_CHECKING:
    from peer.core.desk.duty import OperatorCore


class OperatorLines:
    """The lines the operator types."""

    def __init__(self, s: OperatorCore) -> None:
        self.s = s
        self.link = s.link

    def line(self, text: str, now: float, begun: float, emit: Emit) -> None:
        """`text`, typed on duty (or reconnecting to be), begun at `begun`."""
        s = self.s
        parsed = s.screen.typed(text, begun, self.link.new_id)
        for line in parsed.lines:
            emit(Show(line, "error" if parsed.error else "system"))
        if parsed.put_back:
            emit(PutTyped(parsed.put_back))
        message = parsed.message
        if parsed.quit:
            s.leave(now, emit)
        elif message is None:
            pass
        elif isinstance(message, DeskLine | DeskEnd) and not s.on_duty:
            emit(Show(_before_duty(message, text), "error"))
        elif isinstance(message, DeskServe) and self.defers_serve():
            s.pending = (text, message)
        elif self.link.up:
            emit(Send(message))
        else:
            why = "reconnecting to the help desk" if s.reconnecting else "no connection"
            emit(Show(f"[Not sent: {why}.]", "error"))

    def early_topics(self) -> list[Action]:
        """Before going on duty: the topics of a `.serve` typed before (taken out of the
        lines), so nobody of another topic is handed over first; none when input ended
        before, or with `serve_when_asked` until a `.serve` is sent."""
        actions: list[Action] = []
        emit = actions.append
        ended = any(line is None for line, _ in self.link.early)
        asked = False
        kept: list[tuple[str | None, float]] = []
        for line, begun in self.link.early:
            parsed = None if line is None else parse_operator_line(line, str, (), "")
            if parsed is None or not isinstance(parsed.message, DeskServe):
                kept.append((line, begun))
            elif ended:
                emit(_not_carried_out(line or ""))
            elif self.defers_serve():
                self.s.pending = (line or "", parsed.message)
                asked = True
            else:
                self.s.screen.topics = parsed.message.topics
                asked = True
        self.link.early = kept
        if ended:
            self.s.screen.topics = ()
        elif self.defers_serve():
            self.s.screen.topics = ()  # until the `.serve` is sent, once on duty
            if not asked:
                said = "which topics to serve: .serve all, or .serve 1,3.]"
                emit(
                    Show(f"[Your input is not a terminal, so you take nobody until it says {said}")
                )
        return actions

    def defers_serve(self) -> bool:
        """Whether a `.serve` typed now waits until on duty: input that is no terminal may
        end unseen, and someone handed over to it would have their number seen for nothing."""
        return self.s.serve_when_asked and not self.s.on_duty

    def drop_pending(self, emit: Emit) -> None:
        """Input ended before on duty: the `.serve` waiting to be sent is not carried out."""
        if self.s.pending is not None:
            line, self.s.pending = self.s.pending[0], None
            emit(_not_carried_out(line))


def _not_carried_out(line: str) -> Show:
    """What is said of a `.serve` typed before on duty, when input ended before that."""
    return Show(f"[Not carried out: {clean(line)} (input ended before you were on duty).]", "error")


def _before_duty(message: DeskLine | DeskEnd, text: str) -> str:
    """What is said of a line or `.end` typed before the operator was on duty: it was
    meant for nobody they could have seen."""
    if isinstance(message, DeskEnd):
        return "[.end not carried out: it was typed before you were on duty.]"
    return f"[Not sent: it was typed before you were on duty, to nobody: {clean(text)}]"
