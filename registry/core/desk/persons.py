"""A person's messages once they hold a place: `.queue`, lines (to their operator when
served; words of crisis while waiting), `.end` and leaving.
"""

from __future__ import annotations

from registry.core.desk.actions import Emit, Send
from registry.core.desk.line import Line
from registry.core.desk.notices import Notices
from registry.core.desk.sessions import Ending, Sessions, already_over
from registry.core.desk.state import DeskState, Person, name_for_log
from wire.desk.messages import DeskEnd, DeskLeave, DeskLine, DeskQueueInfo, DeskQueueRequest
from wire.desk.text import MAX_DESK_LINE, speaks_of_crisis
from wire.shown_text import clean


class Persons:
    """What a person waiting or being served sends (connected, holding a place)."""

    def __init__(self, s: DeskState, line: Line, sessions: Sessions, notices: Notices) -> None:
        self._s = s
        self._line = line
        self._sessions = sessions
        self._notices = notices

    def where(self, person: Person, msg: DeskQueueRequest, now: float, emit: Emit) -> None:
        """`.queue`: how many are ahead of `person`, how long they waited, and the wait."""
        s = self._s
        assert person.conn is not None
        session = s.session_of(person)
        if session is not None:
            said = f"You are being served by {session.operator.name}."
            emit(s.notice(person.conn, said))
            return
        position, k = self._line.position(person)
        est = self._line.estimate(person.topic, position - 1, now, person)
        waited = int(person.waited(now))
        info = DeskQueueInfo(s.make_id(), msg.id, position - 1, waited, k, est)
        emit(Send(person.conn, info))

    def line(self, person: Person, msg: DeskLine, now: float, emit: Emit) -> None:
        """A line from `person`: to their operator when it names their session; while
        waiting, words of crisis alert the operators, anything else is not sent."""
        s = self._s
        assert person.conn is not None
        session = s.session_of(person)
        if session is None and not msg.session and speaks_of_crisis(msg.text):
            self._notices.words_of_crisis(person, msg.text[:MAX_DESK_LINE], now, emit)
            return
        if session is None and not msg.session:
            said = "You are not being served yet; .queue shows where you stand."
            emit(s.notice(person.conn, said))
            return
        if session is None or msg.session != session.id:
            # It crossed the end of its session on its way: it is not for whoever
            # serves the person next.
            said = (
                "Not sent: your session had ended before this line reached the help "
                f"desk. The line was: {msg.text[:MAX_DESK_LINE]}"
            )
            emit(s.notice(person.conn, said))
            return
        session.heard += 1
        # Words of crisis are marked for the operator (render_operator) and in the
        # transcript; the person is told nothing more: someone who can help reads them.
        crisis = speaks_of_crisis(msg.text)
        if self._sessions.say(session, person, msg.text, emit, crisis=crisis) and crisis:
            line = (
                f"desk: {name_for_log(person)} wrote words of crisis in their session "
                f"with {session.operator.name}"
            )
            emit(s.log(line, person))

    def leaves(self, person: Person, msg: DeskEnd | DeskLeave, now: float, emit: Emit) -> None:
        """`.end` or `.quit`: the session ends, or the place in the waiting room is left;
        an `.end` of a session already over changes nothing."""
        s = self._s
        assert person.conn is not None
        conn = person.conn
        session = s.session_of(person)
        if session is not None and isinstance(msg, DeskEnd) and msg.session != session.id:
            emit(s.notice(conn, already_over(session.operator.name)))
        elif session is not None:
            ending = Ending(
                "ended by the person",
                to_person="You ended the session. Take care.",
                to_operator=f"{clean(person.name)} ended the session.",
            )
            self._sessions.end(session, now, ending, emit)
        else:
            s.remove_waiting(person)
            s.conns.pop(conn, None)
            emit(s.log(f"desk: {name_for_log(person)} left the waiting room", person))
            s.goodbye(conn, "You left the waiting room.", "left the waiting room", emit)
