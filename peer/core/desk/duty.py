"""An operator on duty at the help desk (`ChatApp -o`): a sans-IO state machine (docs/DESK.md,
"Serving"). A connection lost while on duty is made again until the operator is back on
duty, serving the same topics, or leaves. `OperatorCore` holds one `OperatorState` and
hands it to its parts: what the operator types (`duty_lines`), what the desk says
(`duty_desk`).
"""

from __future__ import annotations

from peer.core.desk.actions import (
    Action,
    Addr,
    Connect,
    Emit,
    Exit,
    KeptPlace,
    SetPrompt,
    Show,
    unreachable,
)
from peer.core.desk.duty_desk import DeskSays, cut_short, show
from peer.core.desk.duty_lines import OperatorLines
from peer.core.desk.duty_state import IDLE_PROMPT, OperatorState
from peer.core.desk.link import DEFAULTS, ClientSettings, DeskLink
from wire.desk.messages import (
    DeskEnded,
    DeskMessage,
    DeskOnDuty,
    DeskOperator,
    DeskRefused,
    DeskRegistries,
)
from wire.names import name_problem
from wire.reliable import IdMaker
from wire.shown_text import clean
from wire.version import WIRE_VERSION


class OperatorCore:
    """One operator's run: on duty until they leave.

    Phases: connecting (the first connection), duty (on duty, or reconnecting to be),
    leaving, done."""

    def __init__(
        self,
        name: str,
        desk: Addr,
        key: str,
        new_id: IdMaker,
        settings: ClientSettings = DEFAULTS,
    ) -> None:
        """An operator on duty as `name` at the desk at `desk` (ip, port), with the
        registry's operator `key`, its messages' ids from `new_id`."""
        self.link = link = DeskLink(desk, new_id, settings)
        #: What the run knows: whether it went on duty, why it was refused, the topics...
        self.state = s = OperatorState(link, name, key, settings)
        self._lines = OperatorLines(s)
        self._desk = DeskSays(s)

    # -- events: see peer.core.desk.actions.DeskClient ------------------------------------------

    def start(self, now: float) -> list[Action]:
        name = self.state.name
        problem = name_problem(name)
        if problem is not None:
            return [Show(f"[Cannot go on duty as {name!r}: {problem}.]", "error"), Exit(1)]
        return [Connect()]

    def typed(self, text: str, now: float, begun: float | None = None) -> list[Action]:
        actions: list[Action] = []
        emit = actions.append
        begun = now if begun is None else begun
        if self.link.phase == "connecting":
            self.link.early.append((text, begun))
        elif self.link.phase == "duty":
            self._lines.line(text, now, begun, emit)
        return actions

    def end_of_input(self, now: float) -> list[Action]:
        actions: list[Action] = []
        emit = actions.append
        if self.link.phase == "connecting":
            self.link.early.append((None, now))
        elif self.link.phase == "duty":
            self._lines.drop_pending(emit)
            self.state.leave(now, emit)
        return actions

    def connected(self, now: float) -> list[Action]:
        s, link = self.state, self.link
        actions: list[Action] = []
        emit = actions.append
        if link.phase == "connecting":
            emit(SetPrompt(IDLE_PROMPT))
        elif link.phase != "duty":
            return actions
        link.phase = "duty"
        actions.extend(self._lines.early_topics())
        hello = DeskOperator(link.new_id(), s.name, s.topics, s.key, WIRE_VERSION)
        emit(link.opened(hello, now))
        actions.extend(link.replay(self, now))
        return actions

    def not_connected(self, why: str, now: float) -> list[Action]:
        if self.link.phase == "connecting":
            self.link.phase = "done"
            return [Show(unreachable(self.link.ip, self.link.port, why), "error"), Exit(1)]
        if self.link.phase == "duty":
            if self.link.next_registry():
                return [Connect()]  # (another registry of the service, at once)
            self.state.retry_at = now + self.link.wait()
        return []

    def probed(self, why: str, now: float) -> list[Action]:
        return []  # (an operator's client sends no Probe)

    def place_found(self, kept: KeptPlace | None, now: float) -> list[Action]:
        return []  # (nor FindPlace)

    def received(self, message: DeskMessage, now: float) -> list[Action]:
        actions: list[Action] = []
        emit = actions.append
        if isinstance(message, DeskRegistries):
            if self.link.learn(message) and self.link.phase == "duty":
                emit(Connect())  # the desk is at that registry: on duty there
        elif self.link.heard(message, now, emit):
            pass  # a sign of life
        elif self.link.phase == "duty":
            self._desk.said(message, now, emit)
        elif self.link.phase != "leaving":
            pass
        elif isinstance(message, DeskEnded):
            self._desk.said(message, now, emit)
            self.link.end(0, emit)
        elif isinstance(message, DeskRefused):
            self._desk.said(message, now, emit)  # never on duty: a wrong key, say
        elif not isinstance(message, DeskOnDuty):  # the answer to a `.room`, say
            show(message, now, emit)
        return actions

    def lost(self, reason: str, now: float) -> list[Action]:
        actions: list[Action] = []
        emit = actions.append
        s = self.state
        self.link.closed()
        if self.link.phase == "leaving":
            s.off_duty(emit)
        elif self.link.phase != "duty":
            pass
        elif not s.on_duty:  # refused, or never answered: nothing to come back to
            emit(Show(f"[The connection to the help desk was lost ({reason}).]", "error"))
            self.link.end(1, emit)
        else:
            if not s.reconnecting:
                s.reconnecting = True
                self.link.rewind()  # a new loss: the first wait again, as a person's
                ended = ""
                if s.session:
                    ended = "; " + cut_short(clean(s.serving))
                    s.switch("", "", IDLE_PROMPT, now, emit)
                emit(
                    Show(
                        f"[The connection to the help desk was lost ({reason}){ended}. "
                        "Reconnecting; you are back on duty as soon as it answers (.quit "
                        "leaves).]",
                        "error",
                    )
                )
            s.retry_at = now + self.link.wait()
        return actions

    def tick(self, now: float) -> list[Action]:
        actions: list[Action] = []
        emit = actions.append
        link = self.link
        if link.leaving_due(now):
            self.state.off_duty(emit)
        elif self.link.phase != "duty" or self._unanswered(now, emit):
            pass
        elif self.state.retry_at is not None and now >= self.state.retry_at:
            self.state.retry_at = None
            emit(Connect())
        return actions

    def _unanswered(self, now: float, emit: Emit) -> bool:
        """The desk's answer to the hello overdue (the run ends when it never answered),
        or its heartbeat lost: True when either ended the run or the connection (then
        taken as lost)."""
        why = self.link.overdue(now, emit)
        if why == "":
            self.link.end(1, emit)
            return True
        why = why or self.link.beat(now, emit)
        if why is not None:
            for action in self.lost(why, now):
                emit(action)
        return why is not None

    def next_wake(self) -> float | None:
        if self.link.phase == "leaving":
            return self.link.leave_by
        if self.link.phase != "duty":
            return None
        times = (self.state.retry_at, self.link.answer_by, self.link.beat_due())
        wakes = [t for t in times if t is not None]
        return min(wakes) if wakes else None
