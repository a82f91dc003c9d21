"""An operator on duty at the help desk (`ChatApp -o`, issue 4): a sans-IO state machine.

The operator comes on duty serving every topic and is given the next person as soon as
one waits; `.serve 1,3` limits the topics, `.room` lists the waiting room, `.end` ends the
session and takes the next person, `.help` lists the commands, `.quit` (or Ctrl-C, or the
end of input) goes off duty. Any other line goes to the person being served. The parser
and the way each desk message reads are shared with the registry's console operator
(`wire.desk_text`), so both behave alike.

A connection lost while on duty is made again and again (the registry restarted, or the
network blinked) until the operator is back on duty or leaves: the session in progress
ends (its person goes back to the front of the waiting room), and the operator comes back
serving the same topics. Events and actions: peer.desk_actions; the adapter:
peer.desk_runner.
"""

from __future__ import annotations

from peer.desk_actions import (
    LEAVE_TIMEOUT,
    RETRY_FIRST,
    RETRY_MAX,
    Action,
    Connect,
    DeskClientCore,
    Exit,
    Send,
    SetPrompt,
    Show,
    TakeTyped,
    style_of,
    unreachable,
)
from wire.desk import (
    DeskEnd,
    DeskEnded,
    DeskLine,
    DeskMessage,
    DeskOnDuty,
    DeskOperator,
    DeskRefused,
    DeskSession,
)
from wire.desk_text import (
    ALL_TOPICS,
    ALREADY_ON_DUTY,
    SWITCH_GUARD,
    parse_operator_line,
    render_operator,
)
from wire.names import name_problem
from wire.reliable import IdMaker
from wire.shown_text import clean
from wire.version import WIRE_VERSION

#: The prompt while no one is being served.
IDLE_PROMPT = "desk> "


class OperatorCore(DeskClientCore):
    """One operator's run: on duty until they leave.

    Phases: connecting (the first connection), duty (on duty, or reconnecting to be),
    leaving, done."""

    def __init__(
        self,
        name: str,
        ip: str,
        port: int,
        key: str,
        new_id: IdMaker,
        *,
        retry: tuple[float, float] = (RETRY_FIRST, RETRY_MAX),
        leave_timeout: float = LEAVE_TIMEOUT,
    ) -> None:
        """`key` is the registry's operator key; `retry` the first and the longest wait
        between reconnection attempts; `leave_timeout` how long a `.quit` waits for the
        desk to confirm."""
        super().__init__(ip, port, new_id, leave_timeout)
        self.name = name
        self._key = key
        self._retry_first, self._retry_max = retry
        self.phase = "connecting"
        self.topics: tuple[int, ...] = ALL_TOPICS
        self.on_duty = False  # went on duty in this run (the first DeskOnDuty came)
        self.reconnecting = False
        self._retry = self._retry_first
        self._retry_at: float | None = None
        self._refusal = ""  # the last refusal shown while reconnecting (shown once)
        self.session = ""  # the session being served: its lines and `.end` name it
        # when a change of session took a half-typed line aside (see `_interrupted`)
        self._taken_aside_at: float | None = None

    # -- events ---------------------------------------------------------------------------

    def start(self, now: float) -> list[Action]:
        problem = name_problem(self.name)
        if problem is not None:
            return [Show(f"[Cannot go on duty as {self.name!r}: {problem}.]", "error"), Exit(1)]
        return [Connect()]

    def typed(self, text: str, now: float) -> list[Action]:
        out: list[Action] = []
        if self.phase == "connecting":
            self._hold(text)
        elif self.phase == "duty":
            parsed = parse_operator_line(text, self.new_id, self.topics, self.session)
            out.extend(Show(line) for line in parsed.lines)
            if parsed.quit:
                self._leave(now, out)
            elif parsed.message is not None:
                if isinstance(parsed.message, DeskLine | DeskEnd) and self._interrupted(now):
                    out.append(Show(_typed_before(parsed.message, text), "error"))
                elif self._connected:
                    out.append(Send(parsed.message))
                else:
                    why = "reconnecting to the help desk" if self.reconnecting else "no connection"
                    out.append(Show(f"[Not sent: {why}.]", "error"))
        return out

    def end_of_input(self, now: float) -> list[Action]:
        out: list[Action] = []
        if self.phase == "connecting":
            if not self._early:
                # nothing to do on duty (`ChatApp -o ... </dev/null`, Ctrl-C at once): on
                # duty for no topic, the key is still checked, but nobody is taken only to
                # be left at once
                self.topics = ()
            self._hold(None)
        elif self.phase == "duty":
            self._leave(now, out)
        return out

    def connected(self, now: float) -> list[Action]:
        out: list[Action] = []
        if self.phase == "connecting":
            out.append(SetPrompt(IDLE_PROMPT))
        elif self.phase != "duty":
            return out
        self.phase = "duty"
        self._connected = True
        out.append(
            Send(DeskOperator(self.new_id(), self.name, self.topics, self._key, WIRE_VERSION))
        )
        out.extend(self._replay(now))
        return out

    def not_connected(self, why: str, now: float) -> list[Action]:
        if self.phase == "connecting":
            self.phase = "done"
            return [Show(unreachable(self.ip, self.port, why), "error"), Exit(1)]
        if self.phase == "duty":
            self._retry_later(now)
        return []

    def received(self, message: DeskMessage, now: float) -> list[Action]:
        out: list[Action] = []
        if self.phase == "leaving":
            if isinstance(message, DeskEnded):
                self._message(message, out)
                self._end(0, out)
            elif isinstance(message, DeskRefused):
                self._message(message, out)  # never on duty: a wrong key, say
        elif self.phase == "duty":
            self._message(message, out)
        return out

    def lost(self, reason: str, now: float) -> list[Action]:
        out: list[Action] = []
        self._connected = False
        if self.phase == "leaving":
            self._off_duty(out)
        elif self.phase != "duty":
            pass
        elif not self.on_duty:  # refused, or never answered: nothing to come back to
            out.append(Show(f"[The connection to the help desk was lost ({reason}).]", "error"))
            self._end(1, out)
        else:
            if not self.reconnecting:
                self.reconnecting = True
                ended = ""
                if self.session:
                    ended = "; the session has ended and the person waits first in line again"
                    self._switch("", IDLE_PROMPT, out)
                out.append(
                    Show(
                        f"[The connection to the help desk was lost ({reason}){ended}. "
                        "Reconnecting; you are back on duty as soon as it answers (.quit "
                        "leaves).]",
                        "error",
                    )
                )
            self._retry_later(now)
        return out

    def tick(self, now: float) -> list[Action]:
        out: list[Action] = []
        if self._leaving_due(now):
            self._off_duty(out)
        elif self.phase == "duty" and self._retry_at is not None and now >= self._retry_at:
            self._retry_at = None
            self._retry = min(self._retry * 2, self._retry_max)
            out.append(Connect())
        return out

    def next_wake(self) -> float | None:
        if self.phase == "leaving":
            return self._leave_by
        return self._retry_at if self.phase == "duty" else None

    def typed_aside(self, text: str, now: float) -> list[Action]:
        if not text.strip():
            return []
        self._taken_aside_at = now
        return [Show(f"[Not sent (typed for the session before): {clean(text)}]", "error")]

    def _interrupted(self, now: float) -> bool:
        """Whether a line finished now may be the end of one whose start a change of session
        took aside: the operator was typing when it came, and keys typed before they could
        see it went on into the emptied prompt (`.end` too). Within SWITCH_GUARD it is shown
        unsent rather than given to the next person. (A change that comes while nothing is
        typed arms no guard: the next line is typed for the new session.)"""
        at = self._taken_aside_at
        return at is not None and now - at < SWITCH_GUARD

    # -- on duty ----------------------------------------------------------------------------

    def _message(self, message: DeskMessage, out: list[Action]) -> None:
        refused = message.reason if isinstance(message, DeskRefused) else ""
        if self.reconnecting and ALREADY_ON_DUTY in refused:
            # the desk has not yet seen our old connection end (it checks it is alive):
            # the refusal closes this one, and the next try comes after it (`lost`)
            if refused != self._refusal:
                self._refusal = refused
                out.append(Show(f"[{clean(refused)} Trying again.]", "error"))
            return
        out.extend(Show(line, style_of(line)) for line in render_operator(message))
        if isinstance(message, DeskOnDuty):
            self.topics = message.topics
            if not self.on_duty:
                self.on_duty = True
                out.append(Show("[.help lists the commands.]"))
            self.reconnecting, self._retry, self._refusal = False, self._retry_first, ""
        elif isinstance(message, DeskSession):
            self._switch(message.session, f"to {message.name}> ", out)
        elif isinstance(message, DeskEnded):
            self._switch("", IDLE_PROMPT, out)
        elif isinstance(message, DeskRefused):
            self._end(1, out)

    def _switch(self, session: str, prompt: str, out: list[Action]) -> None:
        """Another session (or none) from now on: what was typed for the last one is not
        sent to the next person, but shown, unsent (see `typed_aside`)."""
        self.session = session
        out.append(TakeTyped())
        out.append(SetPrompt(prompt))

    def _retry_later(self, now: float) -> None:
        self._retry_at = now + self._retry

    # -- leaving ----------------------------------------------------------------------------

    def _leave(self, now: float, out: list[Action]) -> None:
        """Go off duty (a session in progress ends; its person is told) and say so."""
        if self._connected:
            self._start_leaving(now, out)
        else:
            self._off_duty(out)

    def _off_duty(self, out: list[Action]) -> None:
        out.append(Show("[You are off duty.]"))
        self._end(0, out)


def _typed_before(message: DeskLine | DeskEnd, text: str) -> str:
    """What is said of a line or `.end` held back by `OperatorCore._interrupted`."""
    if isinstance(message, DeskEnd):
        return "[.end not carried out: the session changed just now; .end again ends this one.]"
    return f"[Not sent (typed for the session before): {clean(text)}]"
