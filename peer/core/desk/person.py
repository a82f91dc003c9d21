"""The person at the help desk (`ChatApp -d`), sans-IO (docs/DESK.md, "Asking for help")."""

from __future__ import annotations

from peer.core.desk.actions import (
    Addr,
    Ask,
    Connect,
    Drop,
    Emit,
    KeepPlace,
    Probe,
    Send,
    Show,
    show,
    unreachable,
)
from peer.core.desk.link import DEFAULTS, ClientSettings, DeskLink, DeskPhase
from peer.core.desk.person_session import PersonSession
from peer.core.desk.person_state import QUESTIONS, PersonState
from wire.desk.messages import (
    DeskEnded,
    DeskGiveUp,
    DeskMessage,
    DeskRefused,
    DeskRegistries,
    DeskWork,
)
from wire.ids import IdMaker
from wire.version import WIRE_VERSION

#: Seconds between refreshes of the held-place file while waiting or served: it tells a
#: restarted client whether the place can still be held.
REFRESH = 5.0


class PersonCore:
    """One run of the desk client: the form, then the wait, then the session."""

    def __init__(self, desk: Addr, new_id: IdMaker, settings: ClientSettings = DEFAULTS) -> None:
        self.link = link = DeskLink(desk, new_id, settings)
        self.state = s = PersonState(link)
        self._session = PersonSession(s, self._leave)

    def start(self, now: float, emit: Emit) -> None:
        desk = f"ChatApp help desk at {self.link.ip}:{self.link.port}"
        emit(Show(f"[{desk}. Type .quit at any time to leave.]"))
        emit(Ask(QUESTIONS["name"]))
        emit(Probe())

    def typed(self, text: str, now: float, emit: Emit, begun: float | None = None) -> None:
        begun = now if begun is None else begun
        phase = self.link.phase
        if phase is DeskPhase.FORM:
            self.state.answer_question(text, emit)
        elif not self.link.hold(text, begun) and phase not in (DeskPhase.LEAVING, DeskPhase.DONE):
            self._session.line(text, now, emit, begun)

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
            emit(Send(DeskGiveUp(link.new_id(), s.phone, s.token, WIRE_VERSION)))
            return
        if link.phase is DeskPhase.RECONNECTING:
            s.rejoining = True  # "Connected again" once the desk answers the join
        elif link.phase is not DeskPhase.CONNECTING:
            return
        link.go(DeskPhase.JOINING)
        s.sent_token = s.token
        if s.refresh_at is None:
            s.refresh_at = now + REFRESH
        link.opened(self._session.join(), now, self, emit)

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
            self._session.work(message, now, emit)
        elif phase not in (DeskPhase.FORM, DeskPhase.DONE):
            if s.rejoining:
                s.rejoining = False
                if not isinstance(message, DeskRefused | DeskEnded):  # those say it all
                    emit(Show("[Connected again.]"))
            self._session.handlers.get(type(message), show)(message, emit)

    def _registries_told(self, message: DeskRegistries, emit: Emit) -> None:
        """With the desk at another registry, the join (or goodbye) goes there."""
        s = self.state
        if not self.link.learn(message) or self.link.phase in (DeskPhase.FORM, DeskPhase.DONE):
            return
        if self.link.phase is DeskPhase.JOINING:
            self.link.go(DeskPhase.RECONNECTING if s.rejoining else DeskPhase.CONNECTING)
            s.rejoining = False
        emit(Connect())

    def tick(self, now: float, emit: Emit) -> None:
        s, link = self.state, self.link
        live = link.phase in (DeskPhase.JOINING, DeskPhase.WAITING, DeskPhase.SERVED)
        if s.crisis_due is not None and now >= s.crisis_due:
            s.owed_notice(emit)
        if link.leaving_due(now):
            self._left(emit)
        elif s.rejoining and now >= s.give_up_at:
            emit(Drop())  # the desk never answered: the place is given up by now
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
            emit(Connect())
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
        """A reconnection the desk never answered ended: the same loss, its grace period going
        on."""
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
            emit(Connect())
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
