"""An operator on duty (`ChatApp -o`), sans-IO (docs/DESK.md, "Serving")."""

from __future__ import annotations

from peer.core.desk.link import (
    DEFAULTS,
    Addr,
    ClientSettings,
    Connection,
    DeskClient,
    DeskLink,
    DeskPhase,
    Emit,
    ExitDesk,
    SendToDesk,
    Show,
    show,
)
from wire.base import IdMaker
from wire.desk.commands import DutyScreen, parse_operator_line
from wire.desk.messages import (
    DeskEnd,
    DeskEnded,
    DeskLine,
    DeskMessage,
    DeskOnDuty,
    DeskOperator,
    DeskRefused,
    DeskRegistries,
    DeskServe,
)
from wire.desk.render import render_operator
from wire.names import name_problem
from wire.refusals import RefusalCode
from wire.shown_text import clean
from wire.version import WIRE_VERSION

IDLE_PROMPT = "desk> "


class OperatorCore(DeskClient):
    """One operator's run. Phases: connecting, duty (on duty, or reconnecting to be), leaving,
    done."""

    def __init__(
        self, name: str, desk: Addr, key: str, new_id: IdMaker, settings: ClientSettings = DEFAULTS
    ) -> None:
        self.link = link = DeskLink(desk, new_id, settings)
        link.go(DeskPhase.CONNECTING)
        self.name = name
        self.key = key
        self.screen = DutyScreen(prompt=settings.prompt)
        self.on_duty = False  # went on duty in this run (the first DeskOnDuty came)
        self.refused_code: RefusalCode | None = None  # what the desk's last refusal meant
        self.reconnecting = False
        self.refusal = ""  # the last refusal shown while reconnecting (shown once)
        # the `.serve` typed before on duty, as line and message (`_early_topics`)
        self.pending: tuple[str, DeskServe] | None = None
        self.hint_due = False  # "[.help lists the commands.]" not said yet

    def start(self, now: float, emit: Emit) -> None:
        if (problem := name_problem(self.name)) is None:
            emit(Connection.OPEN)
        else:
            emit(Show(f"[Cannot go on duty as {self.name!r}: {problem}.]", "error"))
            emit(ExitDesk(1))

    def typed(self, text: str, now: float, emit: Emit, begun: float | None = None) -> None:
        begun = now if begun is None else begun
        if not self.link.hold(text, begun) and self.link.phase is DeskPhase.DUTY:
            self._line(text, now, begun, emit)

    def end_of_input(self, now: float, emit: Emit) -> None:
        if not self.link.hold(None, now) and self.link.phase is DeskPhase.DUTY:
            if self.pending is not None:  # a `.serve` that waited for duty: never carried out
                emit(_not_carried_out(self.pending[0]))
                self.pending = None
            self.leave(now, emit)

    def connected(self, now: float, emit: Emit) -> None:
        link = self.link
        if link.phase is DeskPhase.CONNECTING:
            emit(Show(IDLE_PROMPT, "prompt"))
        elif link.phase is not DeskPhase.DUTY:
            return
        link.go(DeskPhase.DUTY)
        self._early_topics(emit)
        hello = DeskOperator(link.new_id(), self.name, self.screen.topics, self.key, WIRE_VERSION)
        link.opened(hello, now, self, emit)

    def not_connected(self, why: str, now: float, emit: Emit) -> None:
        if self.link.phase is DeskPhase.CONNECTING:
            emit(self.link.unreachable(why))
            self.link.end(1, emit)
        elif self.link.phase is DeskPhase.DUTY:
            self.link.try_again(now, emit)

    def received(self, message: DeskMessage, now: float, emit: Emit) -> None:
        if isinstance(message, DeskRegistries):
            if self.link.learn(message) and self.link.phase is DeskPhase.DUTY:
                emit(Connection.OPEN)  # the desk is at that registry: on duty there
        elif self.link.heard(message, now, emit):
            pass  # a sign of life
        elif self.link.phase is DeskPhase.DUTY:
            self._said(message, now, emit)
        elif self.link.phase is not DeskPhase.LEAVING:
            pass
        elif isinstance(message, DeskEnded | DeskRefused):  # refused: never on duty (a wrong key)
            self._said(message, now, emit)
            if isinstance(message, DeskEnded):
                self.link.end(0, emit)
        elif not isinstance(message, DeskOnDuty):  # the answer to a `.room`, say
            show(message, emit, render_operator)

    def lost(self, reason: str, now: float, emit: Emit) -> None:
        self.link.closed()
        if self.link.phase is DeskPhase.LEAVING:
            self.off_duty(emit)
        elif self.link.phase is not DeskPhase.DUTY:
            pass
        elif not self.on_duty:  # refused, or never answered: nothing to come back to
            emit(Show(f"[The connection to the help desk was lost ({reason}).]", "error"))
            self.link.end(1, emit)
        else:
            if not self.reconnecting:
                self.reconnecting = True
                self.link.rewind()  # a new loss: the first wait again, as a person's
                ended = ""
                if self.screen.session:
                    ended = "; " + cut_short(clean(self.screen.serving))
                    self.screen.switch("", "", now)
                    emit(Show(IDLE_PROMPT, "prompt"))
                back = "Reconnecting; you are back on duty as soon as it answers (.quit leaves)."
                lost = f"The connection to the help desk was lost ({reason}){ended}"
                emit(Show(f"[{lost}. {back}]", "error"))
            self.link.later(now)

    def tick(self, now: float, emit: Emit) -> None:
        link = self.link
        if link.leaving_due(now):
            self.off_duty(emit)
        elif link.phase is not DeskPhase.DUTY:
            pass
        elif (why := link.unanswered(now, emit)) == "":
            link.end(1, emit)  # the desk never answered the hello
        elif why is not None:
            self.lost(why, now, emit)
        elif link.retry_due(now):
            emit(Connection.OPEN)

    def next_wake(self) -> float | None:
        live = self.link.phase in (DeskPhase.DUTY, DeskPhase.LEAVING)
        return self.link.next_wake() if live else None

    def _said(self, message: DeskMessage, now: float, emit: Emit) -> None:
        if isinstance(message, DeskRefused):
            self._refused(message, emit)
            return
        if not isinstance(message, DeskOnDuty) or self.pending is None:
            show(message, emit, render_operator)  # (else the `.serve`'s answer says it)
        if self.screen.heard(message, now):
            serving = self.screen.serving
            emit(Show(f"to {serving}> " if serving else IDLE_PROMPT, "prompt"))
        if not isinstance(message, DeskOnDuty):
            return
        hint = not self.on_duty or self.hint_due
        self.on_duty, self.hint_due = True, False
        if self.pending is not None:
            emit(SendToDesk(self.pending[1]))
            self.pending, self.hint_due = None, hint  # after the `.serve`'s answer
        elif hint:
            emit(Show("[.help lists the commands.]"))
        self.reconnecting, self.refusal = False, ""
        self.link.rewind()

    def _refused(self, message: DeskRefused, emit: Emit) -> None:
        self.refused_code = message.code
        if self.reconnecting and message.reason and message.code is RefusalCode.ALREADY_ON_DUTY:
            # the desk has not yet seen our old connection end (it checks it is alive):
            # the refusal closes this one, and the next try comes after it (`lost`)
            if message.reason != self.refusal:
                self.refusal = message.reason
                emit(Show(f"[{clean(message.reason)} Trying again.]", "error"))
            return
        show(message, emit, render_operator)
        self.link.end(1, emit)

    def leave(self, now: float, emit: Emit) -> None:
        if self.link.up:
            emit(self.link.leave(now))
        else:
            self.off_duty(emit)

    def off_duty(self, emit: Emit) -> None:
        emit(Show("[You are off duty.]"))
        self.link.end(0, emit)

    def _line(self, text: str, now: float, begun: float, emit: Emit) -> None:
        parsed = self.screen.typed(text, begun, self.link.new_id)
        for line in parsed.lines:
            emit(Show(line, "error" if parsed.error else "system"))
        if parsed.put_back:
            emit(Show(parsed.put_back, "typed"))
        message = parsed.message
        if parsed.quit:
            self.leave(now, emit)
        elif message is None:
            pass
        elif isinstance(message, DeskEnd) and not self.on_duty:
            emit(Show("[.end not carried out: it was typed before you were on duty.]", "error"))
        elif isinstance(message, DeskLine) and not self.on_duty:
            said = f"[Not sent: it was typed before you were on duty, to nobody: {clean(text)}]"
            emit(Show(said, "error"))
        elif isinstance(message, DeskServe) and self.defers_serve():
            self.pending = (text, message)
        elif self.link.up:
            emit(SendToDesk(message))
        else:
            why = "reconnecting to the help desk" if self.reconnecting else "no connection"
            emit(Show(f"[Not sent: {why}.]", "error"))

    def _early_topics(self, emit: Emit) -> None:
        """The topics of a `.serve` typed before on duty (none: input ended, or not asked)."""
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
                self.pending = (line or "", parsed.message)
                asked = True
            else:
                self.screen.topics = parsed.message.topics
                asked = True
        self.link.early = kept
        if ended:
            self.screen.topics = ()
        elif self.defers_serve():
            self.screen.topics = ()  # until the `.serve` is sent, once on duty
            if not asked:
                said = "so you take nobody until it says which topics to serve"
                emit(Show(f"[Your input is not a terminal, {said}: .serve all, or .serve 1,3.]"))

    def defers_serve(self) -> bool:
        """Whether a `.serve` waits until on duty (input that is no terminal may end unseen)."""
        return self.link.settings.serve_when_asked and not self.on_duty


def cut_short(who: str) -> str:
    """Only the desk knows if it stopped."""
    return (
        f"your session with {who} was cut short. If the help desk stopped, {who} is kept for "
        f"you once it is restarted, and your conversation resumes when you are both back; if "
        f"not, {who} is back at the front of the waiting room, for the next free operator"
    )


def _not_carried_out(line: str) -> Show:
    return Show(f"[Not carried out: {clean(line)} (input ended before you were on duty).]", "error")
