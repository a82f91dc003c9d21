"""The person's join, wait and session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from peer.core.desk.actions import Emit, PutTyped, Send, Show, show
from peer.core.desk.link import DeskPhase
from peer.core.desk.person_state import QUITS, PersonState
from wire.desk.commands import spaced_dot
from wire.desk.messages import (
    DeskCrisis,
    DeskEnd,
    DeskEnded,
    DeskJoin,
    DeskLine,
    DeskLook,
    DeskMessage,
    DeskPosition,
    DeskQueued,
    DeskRefused,
    DeskServed,
    DeskWork,
)
from wire.desk.render import kept_place
from wire.desk.text import MAX_DESK_LINE, format_estimate, speaks_of_crisis, too_long_line
from wire.desk.work import MAX_BITS, solve
from wire.version import WIRE_VERSION

#: Seconds a person who typed words of crisis while waiting waits for the desk's own crisis
#: notice (it answers at once) before the built-in one is shown instead: one notice, the
#: registry's, with its local numbers, and never none.
CRISIS_NOTICE_WAIT = 2.0

PERSON_HELP = (
    "[.queue shows where you stand; .quit (or Ctrl-C) leaves;",
    " once you are served, type a message and press Enter; .end ends the session.]",
)

Handler = Callable[[Any, Emit], None]


class PersonSession:
    def __init__(self, s: PersonState, leave: Callable[[float, Emit], None]) -> None:
        self.s = s
        self.link = s.link
        self._leave = leave
        #: The desk's messages by type; any other is shown.
        self.handlers: dict[type[DeskMessage], Handler] = {
            DeskCrisis: self._crisis,
            DeskQueued: self._queued,
            DeskPosition: self._position,
            DeskServed: self._served,
            DeskEnded: self._ended,
            DeskRefused: self._refused,
        }

    def join(self, work: str = "") -> DeskJoin:
        s = self.s
        return DeskJoin(
            self.link.new_id(), s.name, s.phone, s.topic, s.description, s.token, WIRE_VERSION, work
        )

    def work(self, asked: DeskWork, now: float, emit: Emit) -> None:
        """The work a busy desk asks, and the join sent again with it; more than MAX_BITS, or no
        hex, is given up."""
        if self.link.phase is not DeskPhase.JOINING:
            return
        try:
            if not 0 < asked.bits <= MAX_BITS:
                raise ValueError
            work = solve(asked.seed, asked.bits)
        except ValueError:
            emit(Show("[The help desk asked for work this client cannot do.]", "error"))
            self.s.finish(1, emit)
            return
        emit(self.link.ask(self.join(work), now))

    def line(self, raw: str, now: float, emit: Emit, begun: float) -> None:
        s, text = self.s, spaced_dot(raw.strip())
        command = text.lower()
        if command in QUITS:
            self._leave(now, emit)
        elif command == ".help":
            for line in PERSON_HELP:
                emit(Show(line))
        elif command == ".queue":
            self._where(emit)
        elif command == ".end":
            if self.link.phase is DeskPhase.SERVED:
                emit(Send(DeskEnd(self.link.new_id(), s.session)))
            else:
                line = "[You are not being served yet; .quit leaves the waiting room.]"
                emit(Show(line))
        elif text.startswith(".") and not text.startswith(".."):
            emit(Show(f"[Unknown command {text.split()[0][:20]}; .help lists them.]"))
        elif begun < s.form_closed and text:
            # typed for a question the form skipped (the topic, say), before it said so
            emit(Show(self.s.typed_for_it(raw), "error"))
        else:
            self._chat(raw[1:] if text.startswith("..") else raw, now, emit, raw)

    def _where(self, emit: Emit) -> None:
        phase = self.link.phase
        if phase is DeskPhase.SERVED:
            emit(Show("[You are being served now.]"))
        elif phase is DeskPhase.WAITING:
            emit(Send(DeskLook(self.link.new_id())))
        elif phase is DeskPhase.RECONNECTING or self.s.rejoining:
            emit(Show("[Reconnecting to the help desk; your place is kept.]"))
        else:
            emit(Show("[One moment: joining the waiting room.]"))

    def _chat(self, line: str, now: float, emit: Emit, typed: str) -> None:
        """To the operator when served, else not sent (words of crisis go to the desk)."""
        s, phase = self.s, self.link.phase
        if not line.strip():
            return
        if phase is not DeskPhase.SERVED and speaks_of_crisis(line):
            self._crisis_typed(line[:MAX_DESK_LINE], now, emit)
        elif phase is not DeskPhase.SERVED:
            said = "so the line was not sent; .queue shows where you stand."
            emit(Show(f"[You are not being served yet, {said}]"))
        elif len(line) > MAX_DESK_LINE:
            prompt = self.link.settings.prompt
            emit(Show(too_long_line(line, in_prompt=prompt), "error"))
            if prompt:  # to shorten, not to type again
                emit(PutTyped(typed))
        else:
            s.said.append(line)
            emit(Send(DeskLine(self.link.new_id(), "", line, s.session)))

    def _crisis_typed(self, line: str, now: float, emit: Emit) -> None:
        """The desk tells its operators, and the crisis notice is shown (the desk's, unless
        slow)."""
        s, waiting = self.s, self.link.phase is DeskPhase.WAITING
        if waiting and self.link.up and not s.desk_notice:
            s.crisis_due = now + CRISIS_NOTICE_WAIT
        else:
            s.owed_notice(emit)
        told = "the help desk is told that you may need help urgently."
        emit(Show(f"[Nobody is serving you yet, so this line is not a message to anyone; {told}]"))
        if waiting:
            emit(Send(DeskLine(self.link.new_id(), "", line, "")))
        else:  # joining, or reconnecting: said once the place is known
            s.unsent_crisis = line

    def _crisis(self, message: DeskCrisis, emit: Emit) -> None:
        s = self.s
        if message.text != s.crisis:  # not again what was shown a moment ago
            show(message, emit)
        s.crisis, s.desk_notice, s.crisis_due = message.text, True, None

    def _queued(self, queued: DeskQueued, emit: Emit) -> None:
        s = self.s
        s.token = queued.token
        s.grace = float(queued.grace)
        self.link.go(DeskPhase.WAITING)
        emit(s.keep_place())
        if s.sent_token and not queued.restored:
            line = "[Your earlier place could not be kept, so you join the waiting room again.]"
            emit(Show(line))
        # answered: a later DeskQueued (back in the queue when an operator leaves) is not
        # the answer to a place asked back
        s.sent_token = ""
        s.operators = queued.operators
        s.position = queued.position
        if queued.position > 0:
            show(queued, emit)
            if s.unsent_crisis:
                emit(Send(DeskLine(self.link.new_id(), "", s.unsent_crisis, "")))
        elif queued.restored:  # served at once: said before anything can reach the operator
            emit(Show(kept_place(queued.topic, "an operator is free for you now")))
        s.unsent_crisis = ""

    def _position(self, update: DeskPosition, emit: Emit) -> None:
        s = self.s
        if update.reply_to:  # the answer to `.queue`
            show(update, emit)
            return
        if s.operators == 0 and update.operators > 0:
            line = "[An operator for your topic is on duty now.]"
            if update.position == s.position:  # else the new position says it
                estimate = format_estimate(*update.estimate)
                line = f"[An operator for your topic is on duty now; estimated wait: {estimate}.]"
            emit(Show(line))
        elif s.operators > 0 and update.operators == 0:
            line = "[No operator for your topic is on duty any more; you keep your place.]"
            emit(Show(line))
        s.operators = update.operators
        if update.position != s.position:
            s.position = update.position
            show(update, emit)

    def _served(self, message: DeskServed, emit: Emit) -> None:
        # the held-place file stays: should the connection break during the session, a
        # place at the front is held for this token (see `PersonCore.lost`)
        self.link.go(DeskPhase.SERVED)
        self.s.session, self.s.said = message.session, []
        show(message, emit)

    def _ended(self, message: DeskEnded, emit: Emit) -> None:
        s, served = self.s, self.link.phase is DeskPhase.SERVED
        show(message, emit)
        if served and message.heard >= 0:
            # they crossed the end on their way, and the connection is closing
            for line in s.said[message.heard :]:
                said = "the session ended before this line reached the help desk"
                emit(Show(f"[Not sent: {said}: “{line}”]", "error"))
        if message.requeued:
            self.link.go(DeskPhase.JOINING)  # a DeskQueued with the new place follows
            s.position = -1
        else:
            s.finish(0 if served else 1, emit)

    def _refused(self, message: DeskRefused, emit: Emit) -> None:
        show(message, emit)
        self.s.finish(1, emit)
