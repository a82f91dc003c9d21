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
    Exit,
    KeepPlace,
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
from wire.ids import IdMaker
from wire.names import name_problem
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
        if not self.link.hold(text, begun) and self.link.phase == "duty":
            self._lines.line(text, now, begun, emit)
        return actions

    def end_of_input(self, now: float) -> list[Action]:
        actions: list[Action] = []
        emit = actions.append
        if not self.link.hold(None, now) and self.link.phase == "duty":
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
        actions.extend(link.opened(hello, now, self))
        return actions

    def not_connected(self, why: str, now: float) -> list[Action]:
        actions: list[Action] = []
        if self.link.phase == "connecting":
            actions.append(Show(unreachable(self.link.ip, self.link.port, why), "error"))
            self.link.end(1, actions.append)
        elif self.link.phase == "duty":
            self.link.try_again(now, actions.append)
        return actions

    def probed(self, why: str, now: float) -> list[Action]:
        return []  # (an operator's client sends no Probe)

    def place_found(self, kept: KeepPlace | None, now: float) -> list[Action]:
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
            self.link.later(now)
        return actions

    def tick(self, now: float) -> list[Action]:
        actions: list[Action] = []
        emit = actions.append
        link = self.link
        if link.leaving_due(now):
            self.state.off_duty(emit)
        elif link.phase != "duty":
            pass
        elif (why := link.unanswered(now, emit)) == "":
            link.end(1, emit)  # the desk never answered the hello
        elif why is not None:
            actions.extend(self.lost(why, now))
        elif link.retry_due(now):
            emit(Connect())
        return actions

    def next_wake(self) -> float | None:
        return self.link.next_wake() if self.link.phase in ("duty", "leaving") else None
