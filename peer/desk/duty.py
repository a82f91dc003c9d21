"""An operator on duty at the help desk (`ChatApp -o`): a sans-IO state machine.

The operator comes on duty serving every topic and is given the next person as soon as
one waits; `.serve 1,3` limits the topics, `.room` lists the waiting room, `.end` ends the
session and takes the next person, `.help` lists the commands, `.quit` (or Ctrl-C, or the
end of input) goes off duty. Any other line goes to the person being served. The parser
and the way each desk message reads are shared with the registry's console operator
(`wire.desk.commands`, `wire.desk.render`), so both behave alike.

A connection lost while on duty is made again and again (the registry restarted, or the
network blinked) until the operator is back on duty or leaves: the session in progress
ends (its person goes back to the front of the waiting room), and the operator comes back
serving the same topics. Events and actions: peer.desk.actions; the adapter:
peer.desk.runner.
"""

from __future__ import annotations

from typing import TypedDict, Unpack

from net.options import check_options
from peer.desk.actions import (
    ANSWER_TIMEOUT,
    LEAVE_TIMEOUT,
    RETRY_FIRST,
    RETRY_MAX,
    Action,
    Connect,
    DeskClientCore,
    Exit,
    PutTyped,
    Send,
    SetPrompt,
    Show,
    style_of,
    unreachable,
)
from wire.desk.commands import parse_operator_line
from wire.desk.messages import (
    HEARTBEAT,
    DeskEnd,
    DeskEnded,
    DeskLine,
    DeskMessage,
    DeskOnDuty,
    DeskOperator,
    DeskRefused,
    DeskRegistries,
    DeskServe,
    DeskSession,
)
from wire.desk.render import render_operator
from wire.desk.text import ALL_TOPICS, too_long_line
from wire.names import name_problem
from wire.refusals import RefusalCode
from wire.reliable import IdMaker
from wire.shown_text import clean
from wire.version import WIRE_VERSION

#: The prompt while no one is being served.
IDLE_PROMPT = "desk> "


class OperatorOptions(TypedDict, total=False):
    """How an operator's client runs, each with its default: `retry` (RETRY_FIRST,
    RETRY_MAX), the first and the longest wait between reconnection attempts;
    `leave_timeout` (LEAVE_TIMEOUT), how long a `.quit` waits for the desk to confirm;
    `prompt` (False), whether lines are typed at a prompt (a terminal), into which a line
    held back by the hand-over guard is put back (see `OperatorCore._held_back`);
    `serve_when_asked` (False), whether it goes on duty for no topic unless the lines typed
    before say `.serve` (input that is not a terminal: see `OperatorCore._early_topics`);
    `heartbeat` (HEARTBEAT): see `DeskClientCore`."""

    retry: tuple[float, float]
    leave_timeout: float
    prompt: bool
    serve_when_asked: bool
    heartbeat: float


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
        **options: Unpack[OperatorOptions],
    ) -> None:
        """An operator on duty as `name` at the desk at `ip`:`port`, with the registry's
        operator `key`, its messages' ids from `new_id`; `options`: see OperatorOptions."""
        check_options("OperatorCore", options, OperatorOptions)
        super().__init__(
            ip,
            port,
            new_id,
            options.get("leave_timeout", LEAVE_TIMEOUT),
            options.get("heartbeat", HEARTBEAT),
        )
        self.name = name
        self._key = key
        self._retry_first, self._retry_max = options.get("retry", (RETRY_FIRST, RETRY_MAX))
        self.phase = "connecting"
        self.topics: tuple[int, ...] = ALL_TOPICS
        self.on_duty = False  # went on duty in this run (the first DeskOnDuty came)
        self.refused = ""  # why the desk last refused us, if it did
        self.refused_code: RefusalCode | None = None  # and what that meant
        self.reconnecting = False
        self._retry = self._retry_first
        self._retry_at: float | None = None
        self._refusal = ""  # the last refusal shown while reconnecting (shown once)
        self.session = ""  # the session being served: its lines and `.end` name it
        self.serving = ""  # the name of the person served, "" for none
        self._prompt = options.get("prompt", False)
        self._serve_when_asked = options.get("serve_when_asked", False)
        # The hand-over guard (see `_held_back`): when the session last changed, which is
        # when the operator was shown so.
        self._switched_at = float("-inf")
        # With `serve_when_asked`: the `.serve` typed before on duty (its line and
        # message), sent only once on duty and only if input has not ended by then (see
        # `_early_topics`).
        self._pending: tuple[str, DeskServe] | None = None
        self._hint_due = False  # "[.help lists the commands.]" not said yet

    # -- events ---------------------------------------------------------------------------

    def start(self, now: float) -> list[Action]:
        problem = name_problem(self.name)
        if problem is not None:
            return [Show(f"[Cannot go on duty as {self.name!r}: {problem}.]", "error"), Exit(1)]
        return [Connect()]

    def typed(self, text: str, now: float, begun: float | None = None) -> list[Action]:
        out: list[Action] = []
        if self.phase == "connecting":
            self._hold(text, now if begun is None else begun)
        elif self.phase == "duty":
            parsed = parse_operator_line(text, self.new_id, self.topics, self.session)
            if parsed.too_long and self._prompt:  # to shorten, not to type again
                out.append(Show(too_long_line(text, in_prompt=True), "error"))
                out.append(PutTyped(text))
            else:
                out.extend(
                    Show(line, "error" if parsed.too_long else "system") for line in parsed.lines
                )
            if parsed.quit:
                self._leave(now, out)
            elif parsed.message is not None:
                message = parsed.message
                if isinstance(message, DeskLine | DeskEnd) and not self.on_duty:
                    out.append(Show(_before_duty(message, text), "error"))
                elif isinstance(message, DeskServe) and self._defers_serve():
                    self._pending = (text, message)
                elif isinstance(message, DeskLine | DeskEnd) and self._held_back(
                    now if begun is None else begun
                ):
                    out.append(Show(self._held_line(message), "error"))
                    if isinstance(message, DeskLine) and self._prompt:
                        out.append(PutTyped(text))
                elif self._connected:
                    out.append(Send(parsed.message))
                else:
                    why = "reconnecting to the help desk" if self.reconnecting else "no connection"
                    out.append(Show(f"[Not sent: {why}.]", "error"))
        return out

    def end_of_input(self, now: float) -> list[Action]:
        out: list[Action] = []
        if self.phase == "connecting":
            self._hold(None, now)
        elif self.phase == "duty":
            self._drop_pending(out)
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
        self._liveness = None  # the answer to DeskOperator comes first
        out.extend(self._early_topics())
        out.append(
            Send(DeskOperator(self.new_id(), self.name, self.topics, self._key, WIRE_VERSION))
        )
        self._answer_by = now + ANSWER_TIMEOUT
        out.extend(self._replay(now))
        return out

    def not_connected(self, why: str, now: float) -> list[Action]:
        if self.phase == "connecting":
            self.phase = "done"
            return [Show(unreachable(self.ip, self.port, why), "error"), Exit(1)]
        if self.phase == "duty":
            if self._next_registry():
                return [Connect()]  # (another registry of the service, at once)
            self._retry_later(now)
        return []

    def received(self, message: DeskMessage, now: float) -> list[Action]:
        out: list[Action] = []
        if isinstance(message, DeskRegistries):
            if self._learn(message) and self.phase == "duty":
                out.append(Connect())  # the desk is at that registry: on duty there
        elif self._heard(message, now, out):
            pass  # a sign of life
        elif self.phase == "leaving":
            if isinstance(message, DeskEnded):
                self._message(message, now, out)
                self._end(0, out)
            elif isinstance(message, DeskRefused):
                self._message(message, now, out)  # never on duty: a wrong key, say
            elif not isinstance(message, DeskOnDuty):  # the answer to a `.room`, say
                out.extend(Show(line, style_of(line)) for line in render_operator(message))
        elif self.phase == "duty":
            self._message(message, now, out)
        return out

    def lost(self, reason: str, now: float) -> list[Action]:
        out: list[Action] = []
        self._connected = False
        self._answer_by = None
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
                    ended = "; " + cut_short(clean(self.serving))
                    self._switch("", "", IDLE_PROMPT, now, out)
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
        elif (
            self.phase != "duty"
            or self._unanswered(now, out, lambda o: self._end(1, o))
            or self._beat(now, out)
        ):
            pass  # (an answer overdue ends the run, or is taken as a lost connection)
        elif self._retry_at is not None and now >= self._retry_at:
            self._retry_at = None
            self._retry = min(self._retry * 2, self._retry_max)
            out.append(Connect())
        return out

    def next_wake(self) -> float | None:
        if self.phase == "leaving":
            return self._leave_by
        if self.phase != "duty":
            return None
        wakes = [t for t in (self._retry_at, self._answer_by, self._beat_due()) if t is not None]
        return min(wakes) if wakes else None

    def _early_topics(self) -> list[Action]:
        """Before going on duty: the topics chosen with `.serve` in the lines typed before
        (taken out of them), so that nobody of another topic is handed over first. When
        input ended before (`ChatApp -o ... </dev/null`, a script, Ctrl-C at once), on duty
        for no topic: the key is still checked, and what was typed carried out, but nobody
        is taken only to be left at once (and seen with their full number). With
        `serve_when_asked` (input from a pipe or a file), on duty for no topic: such input
        may end at any moment, unseen, and a person handed over just before it does would
        be left at once, their full number seen by a script. Only once its input asks to
        serve does such an operator take anyone, and a `.serve` typed before it is on duty
        is sent once it is, if input has not ended by then (see `_defers_serve`)."""
        out: list[Action] = []
        ended = any(line is None for line, _ in self._early)
        asked = False
        kept: list[tuple[str | None, float]] = []
        for line, begun in self._early:
            parsed = (
                None if line is None else parse_operator_line(line, lambda: "", self.topics, "")
            )
            if parsed is None or not isinstance(parsed.message, DeskServe):
                kept.append((line, begun))
            elif ended:
                out.append(
                    Show(
                        f"[Not carried out: {clean(line or '')} (input ended before you were "
                        "on duty).]",
                        "error",
                    )
                )
            elif self._defers_serve():
                self._pending = (line or "", parsed.message)
                asked = True
            else:
                self.topics = parsed.message.topics
                asked = True
        self._early = kept
        if ended:
            self.topics = ()
        elif self._defers_serve():
            self.topics = ()  # until the `.serve` is sent, once on duty
            if not asked:
                out.append(
                    Show(
                        "[Your input is not a terminal, so you take nobody until it says "
                        "which topics to serve: .serve all, or .serve 1,3.]"
                    )
                )
        return out

    def _defers_serve(self) -> bool:
        """Whether a `.serve` typed now waits to be sent until the operator is on duty.
        Input that is not a terminal may end at any moment, unseen: a `.serve` sent with
        (or just after) the `DeskOperator` would have someone handed over before an end
        of input that came meanwhile is known, only to be left. Sent once the desk says
        the operator is on duty (and input has not ended by then), nobody is handed over
        to input that ended before that."""
        return self._serve_when_asked and not self.on_duty

    def _drop_pending(self, out: list[Action]) -> None:
        """Input ended before on duty: the `.serve` waiting to be sent is not carried out."""
        if self._pending is not None:
            line, self._pending = self._pending[0], None
            out.append(
                Show(
                    f"[Not carried out: {clean(line)} (input ended before you were on duty).]",
                    "error",
                )
            )

    def _held_back(self, begun: float) -> bool:
        """Whether a line or `.end` begun at `begun` is held back rather than carried out:
        exactly when it was begun before the operator was shown that a new person was
        handed over (on a terminal its first key came before; from a script it was read
        before). Such a line was meant for the person before, and would name the new
        session, since it arrives after the change. Whatever is begun once the notice is
        shown goes, however soon after it: the operator has seen who they serve. A change
        to nobody holds nothing back: a line then names no session, and the desk sends it
        to nobody (and says so)."""
        return bool(self.session) and begun < self._switched_at

    def _held_line(self, message: DeskLine | DeskEnd) -> str:
        """What is said of a line or `.end` held back by `_held_back`."""
        who = clean(self.serving)
        if isinstance(message, DeskEnd):
            return (
                f"[.end not carried out: it was typed before {who} was handed over to you. "
                f".end again ends the session with {who}.]"
            )
        if self._prompt:
            return (
                f"[Not sent: you began this line before {who} was handed over to you. It is "
                f"back in the prompt: Enter sends it to {who}, or clear it.]"
            )
        return (
            f"[Not sent: this line was read before {who} was handed over to you; type it again "
            f"to send it to {who}. The line was: {clean(message.text)}]"
        )

    # -- on duty ----------------------------------------------------------------------------

    def _message(self, message: DeskMessage, now: float, out: list[Action]) -> None:
        refused = message.reason if isinstance(message, DeskRefused) else ""
        if isinstance(message, DeskRefused):
            self.refused, self.refused_code = refused, message.code
        if self.reconnecting and refused and self.refused_code is RefusalCode.ALREADY_ON_DUTY:
            # the desk has not yet seen our old connection end (it checks it is alive):
            # the refusal closes this one, and the next try comes after it (`lost`)
            if refused != self._refusal:
                self._refusal = refused
                out.append(Show(f"[{clean(refused)} Trying again.]", "error"))
            return
        pending = isinstance(message, DeskOnDuty) and self._pending is not None
        if not pending:  # (else the answer to the `.serve` sent now says what is served)
            out.extend(Show(line, style_of(line)) for line in render_operator(message))
        if isinstance(message, DeskOnDuty):
            self.topics = message.topics
            hint = not self.on_duty or self._hint_due
            self.on_duty, self._hint_due = True, False
            if self._pending is not None:
                out.append(Send(self._pending[1]))
                self._pending, self._hint_due = None, hint  # after the `.serve`'s answer
            elif hint:
                out.append(Show("[.help lists the commands.]"))
            self.reconnecting, self._retry, self._refusal = False, self._retry_first, ""
        elif isinstance(message, DeskSession):
            self._switch(message.session, message.name, f"to {message.name}> ", now, out)
        elif isinstance(message, DeskEnded):
            self._switch("", "", IDLE_PROMPT, now, out)
        elif isinstance(message, DeskRefused):
            self._end(1, out)

    def _switch(self, session: str, name: str, prompt: str, now: float, out: list[Action]) -> None:
        """Another session (or none) from now on, with `name`, shown at `now` (the lines
        that say so go out with these actions): what was begun before it is held back (see
        `_held_back`)."""
        if session == self.session:
            return
        self.session, self.serving = session, name
        self._switched_at = now
        out.append(SetPrompt(prompt))

    def _retry_later(self, now: float) -> None:
        if self._service_answers():
            self._retry = self._retry_first
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


def _before_duty(message: DeskLine | DeskEnd, text: str) -> str:
    """What is said of a line or `.end` typed before the operator was on duty: it was
    meant for nobody they could have seen."""
    if isinstance(message, DeskEnd):
        return "[.end not carried out: it was typed before you were on duty.]"
    return f"[Not sent: it was typed before you were on duty, to nobody: {clean(text)}]"
