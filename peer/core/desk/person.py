"""The person at the help desk (`ChatApp -d`), sans-IO (docs/DESK.md, "Asking for help")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from peer.core.desk import typed
from peer.core.desk.link import (
    DEFAULTS,
    Addr,
    ClientSettings,
    Connection,
    DeskLink,
    DeskPhase,
    Emit,
    KeepPlace,
    SendToDesk,
    Show,
    show,
)
from wire.base import IdMaker
from wire.desk.messages import (
    DeskCrisis,
    DeskEnded,
    DeskGiveUp,
    DeskJoin,
    DeskLine,
    DeskMessage,
    DeskPosition,
    DeskQueued,
    DeskRefused,
    DeskRegistries,
    DeskServed,
    DeskWork,
)
from wire.desk.render import kept_place
from wire.desk.text import (
    CRISIS_TOPICS,
    DEFAULT_CRISIS_NOTICE,
    MAX_DESK_LINE,
    crisis_lines,
    format_estimate,
    speaks_of_crisis,
    too_long_line,
)
from wire.desk.work import MAX_BITS, solve
from wire.version import WIRE_VERSION

#: Seconds between refreshes of the held-place file while waiting or served: it tells a
#: restarted client whether the place can still be held.
REFRESH = 5.0
#: Seconds a person who typed words of crisis while waiting waits for the desk's own crisis
#: notice (it answers at once) before the built-in one is shown instead: one notice, the
#: registry's, with its local numbers, and never none.
CRISIS_NOTICE_WAIT = 2.0
#: Where typed lines and the end of input mean nothing any more.
_OVER = (DeskPhase.LEAVING, DeskPhase.DONE)


class PersonCore:
    """One run of the desk client: the form, then the join, the wait and the session."""

    def __init__(self, desk: Addr, new_id: IdMaker, settings: ClientSettings = DEFAULTS) -> None:
        self.link = link = DeskLink(desk, new_id, settings)
        link.go(DeskPhase.FORM)
        # -- the form: its step (name, phone, place (looked up), topic, description), and
        # when it stopped asking with questions left (a held place taken back): a line begun
        # before then was typed for a question, never chat
        self.step = "name"
        self.tries = 0
        self.form_closed = float("-inf")
        self.name = self.phone = self.description = ""
        self.topic = 0
        # the `Probe` of the start is not answered yet; the input ended meanwhile
        self.probing = True
        self.input_ended = False
        # -- the place, and the crisis notice
        self.token = ""
        self.grace = 0.0
        self.crisis = ""  # the crisis notice shown (the desk's, or the built-in one)
        self.desk_notice = False  # whether `crisis` is the desk's own notice
        self.crisis_due: float | None = None  # the desk's notice is awaited until then
        self.unsent_crisis = ""  # words of crisis typed while no place was held yet
        self.sent_token = ""  # the token of the last DeskJoin: a place asked back
        self.position = -1
        self.operators = -1
        self.session = ""  # the session being served in (DeskServed), named by each line
        self.said: list[str] = []  # the lines sent in it, to tell which did not arrive
        self.refresh_at: float | None = None  # of the held-place file (REFRESH)
        self.give_up_at = 0.0  # reconnecting: when the place is given up
        # a reconnection is up but the desk has not answered its join yet: a desk that
        # accepts connections without answering (the registry stopped, its kernel still
        # accepting) is not back, and the grace period still runs from the first loss
        self.rejoining = False
        self.silence_told = False  # said once per loss that the desk accepts but is silent
        # leaving while reconnecting: a connection is made only to give the place up
        self.giving_up = False
        #: The desk's messages by type; any other is shown.
        self._handlers: dict[type[DeskMessage], Callable[[Any, Emit], None]] = {
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
        emit(typed.ask("name"))
        emit(Connection.PROBE)

    def typed(self, text: str, now: float, emit: Emit, begun: float | None = None) -> None:
        begun = now if begun is None else begun
        phase = self.link.phase
        if phase is DeskPhase.FORM:
            typed.answer(self, text, emit)
        elif not self.link.hold(text, begun) and phase not in _OVER:
            typed.after_form(self, text, now, emit, begun)

    def end_of_input(self, now: float, emit: Emit) -> None:
        if self.link.phase is DeskPhase.FORM and self.probing:
            self.input_ended = True  # the probe's answer decides: bye, or unreachable
        elif self.link.phase is DeskPhase.FORM:
            self.bye(emit)
        elif not self.link.hold(None, now) and self.link.phase not in _OVER:
            self.leave(now, emit)

    def connected(self, now: float, emit: Emit) -> None:
        link = self.link
        if link.phase is DeskPhase.LEAVING and self.giving_up:
            link.up = True
            emit(SendToDesk(DeskGiveUp(link.new_id(), self.phone, self.token, WIRE_VERSION)))
            return
        if link.phase is DeskPhase.RECONNECTING:
            self.rejoining = True  # "Connected again" once the desk answers the join
        elif link.phase is not DeskPhase.CONNECTING:
            return
        link.go(DeskPhase.JOINING)
        self.sent_token = self.token
        if self.refresh_at is None:
            self.refresh_at = now + REFRESH
        link.opened(self.join(), now, self, emit)

    def not_connected(self, why: str, now: float, emit: Emit) -> None:
        if self.link.phase is DeskPhase.CONNECTING:
            emit(self.link.unreachable(why))
            self.crisis_notice(emit)
            self.link.end(1, emit)
        elif self.link.phase is DeskPhase.RECONNECTING:
            self.link.try_again(now, emit, self.give_up_at)
        elif self.link.phase is DeskPhase.LEAVING and self.giving_up:
            self._left(emit)

    def probed(self, why: str, now: float, emit: Emit) -> None:
        self.probing = False
        if self.link.phase is DeskPhase.FORM and why:  # said before the form is filled in
            emit(self.link.unreachable(why))
            emit(Show("[Start ChatApp -d again once the help desk is running.]", "error"))
            self.owed_notice(emit)
            self.link.end(1, emit)
        elif self.link.phase is DeskPhase.FORM and self.input_ended:
            self.bye(emit)

    def place_found(self, kept: KeepPlace | None, now: float, emit: Emit) -> None:
        typed.place_found(self, kept, now, emit)

    def received(self, message: DeskMessage, now: float, emit: Emit) -> None:
        phase = self.link.phase
        if isinstance(message, DeskRegistries):  # the desk is there: the join (or goodbye) too
            if self.link.learn(message) and phase not in (DeskPhase.FORM, DeskPhase.DONE):
                if phase is DeskPhase.JOINING:
                    self.link.go(DeskPhase.RECONNECTING if self.rejoining else DeskPhase.CONNECTING)
                    self.rejoining = False
                emit(Connection.OPEN)
        elif self.link.heard(message, now, emit):
            pass  # a sign of life
        elif phase is DeskPhase.LEAVING:
            # only the desk's goodbye matters now (it says the place is given up)
            if isinstance(message, DeskEnded | DeskRefused):
                show(message, emit)
                self.finish(0, emit)
        elif isinstance(message, DeskWork):  # the join is not answered yet: no rejoin
            self.work(message, now, emit)
        elif phase not in (DeskPhase.FORM, DeskPhase.DONE):
            if self.rejoining:
                self.rejoining = False
                if not isinstance(message, DeskRefused | DeskEnded):  # those say it all
                    emit(Show("[Connected again.]"))
            self._handlers.get(type(message), show)(message, emit)

    def tick(self, now: float, emit: Emit) -> None:
        link = self.link
        live = link.phase in (DeskPhase.JOINING, DeskPhase.WAITING, DeskPhase.SERVED)
        if self.crisis_due is not None and now >= self.crisis_due:
            self.owed_notice(emit)
        if link.leaving_due(now):
            self._left(emit)
        elif self.rejoining and now >= self.give_up_at:
            emit(Connection.DROP)  # the desk never answered: the place is given up by now
            self.rejoining = False
            self._given_up(emit)
        elif live and (why := link.unanswered(now, emit)) is not None:
            if why:
                self.lost(why, now, emit)  # reconnecting
            else:
                self.finish(1, emit)  # the desk never answered the join
        elif link.phase is DeskPhase.RECONNECTING and link.retry_due(now):
            if now >= self.give_up_at:
                self._given_up(emit)
                return
            emit(Connection.OPEN)
        # whatever else fell due at the same moment: the held-place file's refresh
        if self.refresh_at is not None and now >= self.refresh_at:
            self.refresh_at = now + REFRESH
            if link.phase in (DeskPhase.WAITING, DeskPhase.SERVED) and self.token:
                emit(self.keep_place())

    def next_wake(self) -> float | None:
        if self.link.phase in (DeskPhase.FORM, DeskPhase.CONNECTING, DeskPhase.DONE):
            return None
        # (while a reconnection attempt is under way its outcome comes as an event)
        give_up = self.give_up_at if self.rejoining else None
        return self.link.next_wake(self.refresh_at, give_up, self.crisis_due)

    def lost(self, reason: str, now: float, emit: Emit) -> None:
        """Connect again while the desk holds a place for our token; otherwise the run ends."""
        phase = self.link.phase
        self.link.closed()
        if phase is DeskPhase.LEAVING:
            self._left(emit)
        elif phase is DeskPhase.RECONNECTING:
            pass  # not from a connection of ours: the runner drops the older ones' events
        elif self.rejoining:
            self._still_silent(reason, now, emit)
        elif self.token and phase in (DeskPhase.SERVED, DeskPhase.WAITING, DeskPhase.JOINING):
            self._reconnect(reason, now, emit)
        elif phase is DeskPhase.SERVED:
            lost = f"The connection to the help desk was lost ({reason})"
            emit(Show(f"[{lost}; the session has ended.]", "error"))
            self.finish(1, emit)
        elif phase not in (DeskPhase.FORM, DeskPhase.DONE):
            emit(Show(f"[The help desk closed the connection ({reason}).]", "error"))
            self.finish(1, emit)

    def _reconnect(self, reason: str, now: float, emit: Emit) -> None:
        kept = (
            "the session is interrupted. Reconnecting: you keep a place at the front"
            if self.link.phase is DeskPhase.SERVED
            else "reconnecting. Your place is kept"
        )
        lost = f"The connection to the help desk was lost ({reason})"
        emit(Show(f"[{lost}; {kept} for {int(self.grace)} s.]", "error"))
        self.link.go(DeskPhase.RECONNECTING)
        self.give_up_at = now + self.grace
        self.link.rewind()
        self.link.later(now, self.give_up_at)
        self.silence_told = False

    def _still_silent(self, reason: str, now: float, emit: Emit) -> None:
        """A reconnection the desk never answered ended: the same loss, its grace going on."""
        self.rejoining = False
        self.link.go(DeskPhase.RECONNECTING)
        self.link.later(now, self.give_up_at)
        if not self.silence_told:
            self.silence_told = True
            left = max(0, int(self.give_up_at - now))
            silent = f"The help desk accepts the connection but does not answer ({reason})"
            emit(Show(f"[{silent}; still trying. Your place is kept for {left} s more.]", "error"))

    def leave(self, now: float, emit: Emit) -> None:
        """Give the place up, said once the desk confirmed; while reconnecting, on a connection
        made for that alone."""
        link = self.link
        if (link.phase is DeskPhase.RECONNECTING or self.rejoining) and self.token:
            # (a desk that has not answered the rejoin may not be running: a goodbye on
            # that connection could wait for nothing; DeskGiveUp goes on a new one)
            self.rejoining = False
            link.go(DeskPhase.LEAVING)
            self.giving_up = True
            link.retry_at = None
            link.leave_by = now + link.settings.leave_timeout
            emit(Connection.OPEN)
        elif not link.up or link.phase is DeskPhase.RECONNECTING:
            self._left(emit)
        else:
            emit(link.leave(now))

    def _given_up(self, emit: Emit) -> None:
        emit(Show("[Could not reach the help desk in time; your place was given up.]", "error"))
        self.finish(1, emit)

    def _left(self, emit: Emit) -> None:
        said = ""
        if self.giving_up:  # the desk could not be reached to be told
            said = " It could not be told now, and gives your place up by itself."
        emit(Show(f"[You left the help desk.{said}]"))
        self.finish(0, emit)

    def finish(self, code: int, emit: Emit) -> None:
        """Forget the place, and show the crisis notice again to who may be in danger."""
        emit(KeepPlace())
        if self.crisis_due is not None:
            self.owed_notice(emit)
        else:
            self.crisis_notice(emit)
        self.link.end(code, emit)

    def bye(self, emit: Emit) -> None:
        emit(Show("[Bye.]"))
        self.link.end(0, emit)

    def crisis_notice(self, emit: Emit) -> None:
        if self.topic in CRISIS_TOPICS or self.crisis or speaks_of_crisis(self.description):
            for line in crisis_lines(self.crisis or DEFAULT_CRISIS_NOTICE):
                emit(Show(line, "alert"))

    def owed_notice(self, emit: Emit) -> None:
        """The built-in crisis notice, now: none of the desk's came in time (or at all)."""
        self.crisis_due = None
        self.crisis = self.crisis or DEFAULT_CRISIS_NOTICE
        self.crisis_notice(emit)

    def keep_place(self) -> KeepPlace:
        return KeepPlace(self.token, self.topic, self.description, self.grace)

    def connect_first(self, emit: Emit) -> None:
        self.link.go(DeskPhase.CONNECTING)
        emit(Show("> ", "prompt"))
        emit(Connection.OPEN)

    def join(self, work: str = "") -> DeskJoin:
        me = (self.name, self.phone, self.topic, self.description, self.token)
        return DeskJoin(self.link.new_id(), *me, WIRE_VERSION, work)

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
            self.finish(1, emit)
            return
        emit(self.link.ask(self.join(work), now))

    def chat(self, line: str, now: float, emit: Emit, typed: str) -> None:
        """To the operator when served, else not sent (words of crisis go to the desk)."""
        phase = self.link.phase
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
            self.said.append(line)
            emit(SendToDesk(DeskLine(self.link.new_id(), "", line, self.session)))

    def _crisis_typed(self, line: str, now: float, emit: Emit) -> None:
        """The desk tells its operators; the crisis notice is shown (the desk's unless slow)."""
        waiting = self.link.phase is DeskPhase.WAITING
        if waiting and self.link.up and not self.desk_notice:
            self.crisis_due = now + CRISIS_NOTICE_WAIT
        else:
            self.owed_notice(emit)
        told = "the help desk is told that you may need help urgently."
        emit(Show(f"[Nobody is serving you yet, so this line is not a message to anyone; {told}]"))
        if waiting:
            emit(SendToDesk(DeskLine(self.link.new_id(), "", line, "")))
        else:  # joining, or reconnecting: said once the place is known
            self.unsent_crisis = line

    def _crisis(self, message: DeskCrisis, emit: Emit) -> None:
        if message.text != self.crisis:  # not again what was shown a moment ago
            show(message, emit)
        self.crisis, self.desk_notice, self.crisis_due = message.text, True, None

    def _queued(self, queued: DeskQueued, emit: Emit) -> None:
        self.token, self.grace = queued.token, float(queued.grace)
        self.link.go(DeskPhase.WAITING)
        emit(self.keep_place())
        if self.sent_token and not queued.restored:
            line = "[Your earlier place could not be kept, so you join the waiting room again.]"
            emit(Show(line))
        # answered: a later DeskQueued (back in the queue when an operator leaves) is not
        # the answer to a place asked back
        self.sent_token = ""
        self.operators, self.position = queued.operators, queued.position
        if queued.position > 0:
            show(queued, emit)
            if self.unsent_crisis:
                emit(SendToDesk(DeskLine(self.link.new_id(), "", self.unsent_crisis, "")))
        elif queued.restored:  # served at once: said before anything can reach the operator
            emit(Show(kept_place(queued.topic, "an operator is free for you now")))
        self.unsent_crisis = ""

    def _position(self, update: DeskPosition, emit: Emit) -> None:
        if update.reply_to:  # the answer to `.queue`
            show(update, emit)
            return
        if self.operators == 0 and update.operators > 0:
            line = "[An operator for your topic is on duty now.]"
            if update.position == self.position:  # else the new position says it
                estimate = format_estimate(*update.estimate)
                line = f"[An operator for your topic is on duty now; estimated wait: {estimate}.]"
            emit(Show(line))
        elif self.operators > 0 and update.operators == 0:
            emit(Show("[No operator for your topic is on duty any more; you keep your place.]"))
        self.operators = update.operators
        if update.position != self.position:
            self.position = update.position
            show(update, emit)

    def _served(self, message: DeskServed, emit: Emit) -> None:
        # the held-place file stays: should the connection break during the session, a
        # place at the front is held for this token (see `PersonCore.lost`)
        self.link.go(DeskPhase.SERVED)
        self.session, self.said = message.session, []
        show(message, emit)

    def _ended(self, message: DeskEnded, emit: Emit) -> None:
        served = self.link.phase is DeskPhase.SERVED
        show(message, emit)
        if served and message.heard >= 0:
            # they crossed the end on their way, and the connection is closing
            for line in self.said[message.heard :]:
                said = "the session ended before this line reached the help desk"
                emit(Show(f"[Not sent: {said}: “{line}”]", "error"))
        if message.requeued:
            self.link.go(DeskPhase.JOINING)  # a DeskQueued with the new place follows
            self.position = -1
        else:
            self.finish(0 if served else 1, emit)

    def _refused(self, message: DeskRefused, emit: Emit) -> None:
        show(message, emit)
        self.finish(1, emit)
