"""A person's messages once they hold a place: `.queue`, lines (to their operator when
served; words of crisis while waiting), `.end` and leaving.
"""

from __future__ import annotations

from registry.desk.actions import Action, Close, Send, SessionLine
from registry.desk.notices import WaitingNotices
from registry.desk.people import Person, Session, name_for_log
from registry.desk.restart import AfterRestart
from registry.desk.sessions import Ending
from wire.desk.messages import (
    DeskEnd,
    DeskEnded,
    DeskLeave,
    DeskLine,
    DeskMessage,
    DeskQueueInfo,
    DeskQueueRequest,
)
from wire.desk.text import MAX_DESK_LINE, speaks_of_crisis
from wire.shown_text import clean


class Persons(AfterRestart, WaitingNotices):
    """What a person waiting or being served sends."""

    def _from_person(self, person: Person, msg: DeskMessage, now: float) -> list[Action]:
        """A message from `person`, connected and holding a place (waiting or served)."""
        assert person.conn is not None
        conn = person.conn
        session = self._session_of(person)
        if isinstance(msg, DeskQueueRequest):
            return self._where_they_stand(person, session, msg, now)
        if isinstance(msg, DeskLine):
            return self._person_line(person, session, msg, now)
        if isinstance(msg, DeskEnd) and session is not None and msg.session != session.id:
            serving = session.operator.name
            return [
                self._notice(
                    conn, f"That session was already over; your session with {serving} goes on."
                )
            ]
        if isinstance(msg, DeskEnd | DeskLeave):
            return self._person_leaves(person, session, now)
        return [self._notice(conn, f"{type(msg).__name__} is not something a person can send.")]

    def _where_they_stand(
        self, person: Person, session: Session | None, msg: DeskQueueRequest, now: float
    ) -> list[Action]:
        """`.queue`: how many are ahead of `person`, how long they waited, and the wait."""
        assert person.conn is not None
        if session is not None:
            return [self._notice(person.conn, f"You are being served by {session.operator.name}.")]
        position, k = self.position(person)
        kind, low, high = self._estimate_for(person, position - 1, now).wire()
        info = DeskQueueInfo(
            self._make_id(), msg.id, position - 1, int(person.waited(now)), k, kind, low, high
        )
        return [Send(person.conn, info)]

    def _person_line(
        self, person: Person, session: Session | None, msg: DeskLine, now: float
    ) -> list[Action]:
        """A line from `person`: to their operator when it names their session; while
        waiting, words of crisis alert the operators, anything else is not sent."""
        assert person.conn is not None
        conn = person.conn
        if session is None and not msg.session and speaks_of_crisis(msg.text):
            return self._words_of_crisis(person, msg.text[:MAX_DESK_LINE], now)
        if session is None and not msg.session:
            return [
                self._notice(conn, "You are not being served yet; .queue shows where you stand.")
            ]
        if session is None or msg.session != session.id:
            # It crossed the end of its session on its way: it is not for whoever
            # serves the person next.
            return [
                self._notice(
                    conn,
                    "Not sent: your session had ended before this line reached the help "
                    f"desk. The line was: {msg.text[:MAX_DESK_LINE]}",
                )
            ]
        session.heard += 1
        # Words of crisis are marked for the operator (render_operator) and in the
        # transcript; the person is told nothing more: someone who can help reads them.
        crisis = speaks_of_crisis(msg.text)
        said = self._say(session, person, msg.text, crisis=crisis)
        if crisis and any(isinstance(action, SessionLine) for action in said):
            line = (
                f"desk: {name_for_log(person)} wrote words of crisis in their session "
                f"with {session.operator.name}"
            )
            said.append(self._log(line, person))
        return said

    def _person_leaves(self, person: Person, session: Session | None, now: float) -> list[Action]:
        """`.end` or `.quit`: the session ends, or the place in the waiting room is left."""
        assert person.conn is not None
        conn = person.conn
        if session is not None:
            return self._end(
                session,
                now,
                Ending(
                    "ended by the person",
                    to_person="You ended the session. Take care.",
                    to_operator=f"{clean(person.name)} ended the session.",
                ),
            )
        self._remove_waiting(person)
        self._conns.pop(conn, None)
        return [
            self._log(f"desk: {name_for_log(person)} left the waiting room", person),
            Send(conn, DeskEnded(self._make_id(), "You left the waiting room.", False, -1)),
            Close(conn, "left the waiting room"),
        ]
