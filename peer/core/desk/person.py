"""The person at the help desk (`ChatApp -d`), sans-IO (docs/DESK.md, "Asking for help")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from peer.core.desk.actions import (
    Addr,
    Connection,
    Emit,
    KeepPlace,
    SendToDesk,
    Show,
    show,
    unreachable,
)
from peer.core.desk.link import DEFAULTS, ClientSettings, DeskLink, DeskPhase
from peer.core.desk.person_state import QUESTIONS, QUITS, PersonState
from wire.desk.commands import spaced_dot
from wire.desk.messages import (
    DeskCrisis,
    DeskEnd,
    DeskEnded,
    DeskGiveUp,
    DeskJoin,
    DeskLine,
    DeskLook,
    DeskMessage,
    DeskPosition,
    DeskQueued,
    DeskRefused,
    DeskRegistries,
    DeskServed,
    DeskWork,
)
from wire.desk.render import kept_place
from wire.desk.text import MAX_DESK_LINE, format_estimate, speaks_of_crisis, too_long_line
from wire.desk.work import MAX_BITS, solve
from wire.ids import IdMaker
from wire.version import WIRE_VERSION

#: Seconds between refreshes of the held-place file while waiting or served: it tells a
#: restarted client whether the place can still be held.
REFRESH = 5.0
#: Seconds a person who typed words of crisis while waiting waits for the desk's own crisis
#: notice (it answers at once) before the built-in one is shown instead: one notice, the
#: registry's, with its local numbers, and never none.
CRISIS_NOTICE_WAIT = 2.0

PERSON_HELP = (
    "[.queue shows where you stand; .quit (or Ctrl-C) leaves;",
    " once you are served, type a message and press Enter; .end ends the session.]",
)

Handler = Callable[[Any, Emit], None]


class PersonCore:
    """One run of the desk client: the form, then the join, the wait and the session."""

    def __init__(self, desk: Addr, new_id: IdMaker, settings: ClientSettings = DEFAULTS) -> None:
        self.link = link = DeskLink(desk, new_id, settings)
        self.state = PersonState(link)
        #: The desk's messages by type; any other is shown.
        self._handlers: dict[type[DeskMessage], Handler] = {
            DeskCrisis: self._crisis,
            DeskQueued: self._queued,
            DeskPosition: self._position,
            DeskServed: self._served,
            DeskEnded: self._ended,
            DeskRefused: self._refused,
        }

    def start(self, now: float, emit: Emit) -> None:
        desk = f"ChatApp help desk at {self.link.ip}:{self.link.port}"
        emit(Show(f"[{desk}. Type .quit at any time to leave.]"))
        emit(Show(QUESTIONS["name"], "question"))
        emit(Connection.PROBE)

    def typed(self, text: str, now: float, emit: Emit, begun: float | None = None) -> None:
        begun = now if begun is None else begun
        phase = self.link.phase
        if phase is DeskPhase.FORM:
            self.state.answer_question(text, emit)
        elif not self.link.hold(text, begun) and phase not in (DeskPhase.LEAVING, DeskPhase.DONE):
            self.line(text, now, emit, begun)

    def end_of_input(self, now: float, emit: Emit) -> None:
        if self.link.phase is DeskPhase.FORM and self.state.probing:
            self.state.input_ended = True  # the probe's answer decides: bye, or unreachable
        elif self.link.phase is DeskPhase.FORM:
            self.state.bye(emit)
        elif not self.link.hold(None, now) and self.link.phase not in (
            DeskPhase.LEAVING,
            DeskPhase.DONE,
        ):
            self._leave(now, emit)

    def connected(self, now: float, emit: Emit) -> None:
        s, link = self.state, self.link
        if link.phase is DeskPhase.LEAVING and s.giving_up:
            link.up = True
            emit(SendToDesk(DeskGiveUp(link.new_id(), s.phone, s.token, WIRE_VERSION)))
            return
        if link.phase is DeskPhase.RECONNECTING:
            s.rejoining = True  # "Connected again" once the desk answers the join
        elif link.phase is not DeskPhase.CONNECTING:
            return
        link.go(DeskPhase.JOINING)
        s.sent_token = s.token
        if s.refresh_at is None:
            s.refresh_at = now + REFRESH
        link.opened(self.join(), now, self, emit)

    def not_connected(self, why: str, now: float, emit: Emit) -> None:
        if self.link.phase is DeskPhase.CONNECTING:
            emit(Show(unreachable(self.link.ip, self.link.port, why), "error"))
            self.state.crisis_notice(emit)
            self.link.end(1, emit)
        elif self.link.phase is DeskPhase.RECONNECTING:
            self.link.try_again(now, emit, self.state.give_up_at)
        elif self.link.phase is DeskPhase.LEAVING and self.state.giving_up:
            self._left(emit)

    def probed(self, why: str, now: float, emit: Emit) -> None:
        self.state.probing = False
        if (
            self.link.phase is DeskPhase.FORM and why
        ):  # said before the form is filled in for nothing
            emit(Show(unreachable(self.link.ip, self.link.port, why), "error"))
            emit(Show("[Start ChatApp -d again once the help desk is running.]", "error"))
            self.state.owed_notice(emit)
            self.link.end(1, emit)
        elif self.link.phase is DeskPhase.FORM and self.state.input_ended:
            self.state.bye(emit)

    def place_found(self, kept: KeepPlace | None, now: float, emit: Emit) -> None:
        self.state.place_found(kept, now, emit)

    def received(self, message: DeskMessage, now: float, emit: Emit) -> None:
        s, phase = self.state, self.link.phase
        if isinstance(message, DeskRegistries):
            self._registries_told(message, emit)
        elif self.link.heard(message, now, emit):
            pass  # a sign of life
        elif phase is DeskPhase.LEAVING:
            # only the desk's goodbye matters now (it says the place is given up)
            if isinstance(message, DeskEnded | DeskRefused):
                show(message, emit)
                s.finish(0, emit)
        elif isinstance(message, DeskWork):  # the join is not answered yet: no rejoin
            self.work(message, now, emit)
        elif phase not in (DeskPhase.FORM, DeskPhase.DONE):
            if s.rejoining:
                s.rejoining = False
                if not isinstance(message, DeskRefused | DeskEnded):  # those say it all
                    emit(Show("[Connected again.]"))
            self._handlers.get(type(message), show)(message, emit)

    def _registries_told(self, message: DeskRegistries, emit: Emit) -> None:
        """With the desk at another registry, the join (or goodbye) goes there."""
        s = self.state
        if not self.link.learn(message) or self.link.phase in (DeskPhase.FORM, DeskPhase.DONE):
            return
        if self.link.phase is DeskPhase.JOINING:
            self.link.go(DeskPhase.RECONNECTING if s.rejoining else DeskPhase.CONNECTING)
            s.rejoining = False
        emit(Connection.OPEN)

    def tick(self, now: float, emit: Emit) -> None:
        s, link = self.state, self.link
        live = link.phase in (DeskPhase.JOINING, DeskPhase.WAITING, DeskPhase.SERVED)
        if s.crisis_due is not None and now >= s.crisis_due:
            s.owed_notice(emit)
        if link.leaving_due(now):
            self._left(emit)
        elif s.rejoining and now >= s.give_up_at:
            emit(Connection.DROP)  # the desk never answered: the place is given up by now
            s.rejoining = False
            self._given_up(emit)
        elif live and (why := link.unanswered(now, emit)) is not None:
            if why:
                self.lost(why, now, emit)  # reconnecting
            else:
                s.finish(1, emit)  # the desk never answered the join
        elif link.phase is DeskPhase.RECONNECTING and link.retry_due(now):
            if now >= s.give_up_at:
                self._given_up(emit)
                return
            emit(Connection.OPEN)
        self._refresh(now, emit)  # whatever else fell due at the same moment

    def _refresh(self, now: float, emit: Emit) -> None:
        s = self.state
        if s.refresh_at is not None and now >= s.refresh_at:
            s.refresh_at = now + REFRESH
            if self.link.phase in (DeskPhase.WAITING, DeskPhase.SERVED) and s.token:
                emit(s.keep_place())

    def next_wake(self) -> float | None:
        s = self.state
        if self.link.phase in (DeskPhase.FORM, DeskPhase.CONNECTING, DeskPhase.DONE):
            return None
        # (while a reconnection attempt is under way its outcome comes as an event)
        give_up = s.give_up_at if s.rejoining else None
        return self.link.next_wake(s.refresh_at, give_up, s.crisis_due)

    def lost(self, reason: str, now: float, emit: Emit) -> None:
        """Connect again while the desk holds a place for our token; otherwise the run ends."""
        s, phase = self.state, self.link.phase
        self.link.closed()
        if phase is DeskPhase.LEAVING:
            self._left(emit)
        elif phase is DeskPhase.RECONNECTING:
            pass  # not from a connection of ours: the runner drops the older ones' events
        elif s.rejoining:
            self._still_silent(reason, now, emit)
        elif s.token and phase in (DeskPhase.SERVED, DeskPhase.WAITING, DeskPhase.JOINING):
            self._reconnect(reason, now, emit)
        elif phase is DeskPhase.SERVED:
            lost = f"The connection to the help desk was lost ({reason})"
            emit(Show(f"[{lost}; the session has ended.]", "error"))
            s.finish(1, emit)
        elif phase not in (DeskPhase.FORM, DeskPhase.DONE):
            emit(Show(f"[The help desk closed the connection ({reason}).]", "error"))
            s.finish(1, emit)

    def _reconnect(self, reason: str, now: float, emit: Emit) -> None:
        s = self.state
        kept = (
            "the session is interrupted. Reconnecting: you keep a place at the front"
            if self.link.phase is DeskPhase.SERVED
            else "reconnecting. Your place is kept"
        )
        lost = f"The connection to the help desk was lost ({reason})"
        emit(Show(f"[{lost}; {kept} for {int(s.grace)} s.]", "error"))
        self.link.go(DeskPhase.RECONNECTING)
        s.give_up_at = now + s.grace
        self.link.rewind()
        self.link.later(now, s.give_up_at)
        s.silence_told = False

    def _still_silent(self, reason: str, now: float, emit: Emit) -> None:
        """A reconnection the desk never answered ended: the same loss, its grace going on."""
        s = self.state
        s.rejoining = False
        self.link.go(DeskPhase.RECONNECTING)
        self.link.later(now, s.give_up_at)
        if not s.silence_told:
            s.silence_told = True
            left = max(0, int(s.give_up_at - now))
            silent = f"The help desk accepts the connection but does not answer ({reason})"
            emit(Show(f"[{silent}; still trying. Your place is kept for {left} s more.]", "error"))

    def _leave(self, now: float, emit: Emit) -> None:
        """Give the place up, said once the desk confirmed; while reconnecting, on a connection
        made for that alone."""
        s, link = self.state, self.link
        if (link.phase is DeskPhase.RECONNECTING or s.rejoining) and s.token:
            # (a desk that has not answered the rejoin may not be running: a goodbye on
            # that connection could wait for nothing; DeskGiveUp goes on a new one)
            s.rejoining = False
            link.go(DeskPhase.LEAVING)
            s.giving_up = True
            link.retry_at = None
            link.leave_by = now + link.settings.leave_timeout
            emit(Connection.OPEN)
        elif not link.up or link.phase is DeskPhase.RECONNECTING:
            self._left(emit)
        else:
            emit(link.leave(now))

    def _given_up(self, emit: Emit) -> None:
        line = "[Could not reach the help desk in time; your place was given up.]"
        emit(Show(line, "error"))
        self.state.finish(1, emit)

    def _left(self, emit: Emit) -> None:
        said = ""
        if self.state.giving_up:  # the desk could not be reached to be told
            said = " It could not be told now, and gives your place up by itself."
        emit(Show(f"[You left the help desk.{said}]"))
        self.state.finish(0, emit)

    def join(self, work: str = "") -> DeskJoin:
        s = self.state
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
            self.state.finish(1, emit)
            return
        emit(self.link.ask(self.join(work), now))

    def line(self, raw: str, now: float, emit: Emit, begun: float) -> None:
        s, text = self.state, spaced_dot(raw.strip())
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
                emit(SendToDesk(DeskEnd(self.link.new_id(), s.session)))
            else:
                line = "[You are not being served yet; .quit leaves the waiting room.]"
                emit(Show(line))
        elif text.startswith(".") and not text.startswith(".."):
            emit(Show(f"[Unknown command {text.split()[0][:20]}; .help lists them.]"))
        elif begun < s.form_closed and text:
            # typed for a question the form skipped (the topic, say), before it said so
            emit(Show(self.state.typed_for_it(raw), "error"))
        else:
            self._chat(raw[1:] if text.startswith("..") else raw, now, emit, raw)

    def _where(self, emit: Emit) -> None:
        phase = self.link.phase
        if phase is DeskPhase.SERVED:
            emit(Show("[You are being served now.]"))
        elif phase is DeskPhase.WAITING:
            emit(SendToDesk(DeskLook(self.link.new_id())))
        elif phase is DeskPhase.RECONNECTING or self.state.rejoining:
            emit(Show("[Reconnecting to the help desk; your place is kept.]"))
        else:
            emit(Show("[One moment: joining the waiting room.]"))

    def _chat(self, line: str, now: float, emit: Emit, typed: str) -> None:
        """To the operator when served, else not sent (words of crisis go to the desk)."""
        s, phase = self.state, self.link.phase
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
                emit(Show(typed, "typed"))
        else:
            s.said.append(line)
            emit(SendToDesk(DeskLine(self.link.new_id(), "", line, s.session)))

    def _crisis_typed(self, line: str, now: float, emit: Emit) -> None:
        """The desk tells its operators; the crisis notice is shown (the desk's unless slow)."""
        s, waiting = self.state, self.link.phase is DeskPhase.WAITING
        if waiting and self.link.up and not s.desk_notice:
            s.crisis_due = now + CRISIS_NOTICE_WAIT
        else:
            s.owed_notice(emit)
        told = "the help desk is told that you may need help urgently."
        emit(Show(f"[Nobody is serving you yet, so this line is not a message to anyone; {told}]"))
        if waiting:
            emit(SendToDesk(DeskLine(self.link.new_id(), "", line, "")))
        else:  # joining, or reconnecting: said once the place is known
            s.unsent_crisis = line

    def _crisis(self, message: DeskCrisis, emit: Emit) -> None:
        s = self.state
        if message.text != s.crisis:  # not again what was shown a moment ago
            show(message, emit)
        s.crisis, s.desk_notice, s.crisis_due = message.text, True, None

    def _queued(self, queued: DeskQueued, emit: Emit) -> None:
        s = self.state
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
                emit(SendToDesk(DeskLine(self.link.new_id(), "", s.unsent_crisis, "")))
        elif queued.restored:  # served at once: said before anything can reach the operator
            emit(Show(kept_place(queued.topic, "an operator is free for you now")))
        s.unsent_crisis = ""

    def _position(self, update: DeskPosition, emit: Emit) -> None:
        s = self.state
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
        self.state.session, self.state.said = message.session, []
        show(message, emit)

    def _ended(self, message: DeskEnded, emit: Emit) -> None:
        s, served = self.state, self.link.phase is DeskPhase.SERVED
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
        self.state.finish(1, emit)
