"""Sessions: who is handed to which free operator, what is said in a session, and how a
session ends (its person put back at the front when it was cut short).
"""

from __future__ import annotations

from msgspec import Struct

from registry.desk.actions import (
    Action,
    Close,
    Log,
    Send,
    SessionEnded,
    SessionLine,
    SessionStarted,
)
from registry.desk.line import WaitingLine
from registry.desk.people import Operator, Person, Session, name_for_log
from wire.desk.messages import DeskEnded, DeskLine, DeskPosition, DeskServed, DeskSession
from wire.desk.phone import scrub_phone
from wire.desk.text import MAX_DESK_LINE, format_duration
from wire.names import name_key
from wire.shown_text import clean


class Ending(Struct, frozen=True):
    """How a session ends: `why`, for the log and the transcript; what the person and the
    operator are told (None: nothing, they are told otherwise or gone); whether the person
    goes back to the front of the waiting room (`requeue`); whether its length counts in
    the wait estimates (`measure`)."""

    why: str
    to_person: str | None = None
    to_operator: str | None = None
    requeue: bool = False
    measure: bool = True


class Sessions(WaitingLine):
    """Handing people over, and the sessions between them and the operators."""

    def _dispatch(self, now: float) -> list[Action]:
        """Give every free operator the earliest connected person it serves; just after
        a restart, once the people whose places were kept are back (see RESTART_SETTLE);
        never between `hold` and `release`."""
        if self._handing_over_paused(now):
            return []
        actions: list[Action] = []
        # operators kept for someone after a restart (see `restore`) take nobody else
        kept_for = {name_key(p.awaits) for p in self._waiting if p.awaits}
        for person in list(self._waiting):
            if person.conn is None:
                continue
            # A conversation cut by the restart resumes whatever its operator now serves:
            # `.serve` chooses who is taken next, never ends a conversation in progress.
            free = [
                o
                for o in self._operators.values()
                if o.session is None
                and (
                    name_key(o.name) == name_key(person.awaits)
                    if person.awaits
                    else person.topic in o.topics and name_key(o.name) not in kept_for
                )
            ]
            if free:
                operator = min(free, key=lambda o: (o.free_since, o.order))
                actions += self._start(person, operator, now)
        return actions

    def _start(self, person: Person, operator: Operator, now: float) -> list[Action]:
        """`operator` serves `person` from `now`: each side is told, the transcript begins
        and the log says so."""
        assert person.conn is not None
        resumed = bool(person.awaits)
        actions = self._resumes(person, operator) if resumed else []
        self._remove_waiting(person)
        session = Session(self._make_id(), person, operator, now, resumed=resumed)
        operator.session = session
        waited = person.waited(now)
        return [
            *actions,
            Send(person.conn, DeskServed(self._make_id(), operator.name, session.id)),
            Send(
                operator.conn,
                DeskSession(
                    self._make_id(),
                    session.id,
                    person.name,
                    person.phone,
                    person.topic,
                    person.description,
                    round(waited),
                    person.crisis,
                    person.said,
                ),
            ),
            _started(session, waited),
            self._log(
                f"desk: {operator.name} serves {name_for_log(person)} "
                f"(topic {person.topic}, waited {format_duration(waited)})",
                person,
            ),
        ]

    def _resumes(self, person: Person, operator: Operator) -> list[Action]:
        """`person` and `operator` were kept for each other after a restart: no longer,
        and both are told their conversation resumes."""
        assert person.conn is not None
        person.awaits = ""
        name = clean(person.name)
        return [
            self._notice(
                person.conn,
                f"The help desk was restarted; your conversation with {operator.name} resumes.",
            ),
            self._notice(
                operator.conn,
                f"The help desk was restarted; your conversation with {name} resumes.",
            ),
        ]

    def _say(
        self, session: Session, by: Person | Operator, text: str, *, crisis: bool = False
    ) -> list[Action]:
        """`text`, a line from `by` (the person or the operator of `session`), to the other
        side and into the transcript (marked when it speaks of `crisis`); a line too long
        is refused back, a blank one goes nowhere."""
        person, operator = session.person, session.operator
        source, to = (person.conn, operator.conn) if by is person else (operator.conn, person.conn)
        assert source is not None and to is not None
        if len(text) > MAX_DESK_LINE:
            return [self._notice(source, f"Line too long: at most {MAX_DESK_LINE} characters.")]
        if not text.strip():
            return []
        return [
            Send(to, DeskLine(self._make_id(), by.name, text, session.id)),
            SessionLine(
                session.id,
                scrub_phone(clean(by.name), person.phone),
                scrub_phone(clean(text), person.phone),
                crisis,
            ),
        ]

    def _end(self, session: Session, now: float, ending: Ending) -> list[Action]:
        """End `session` as `ending` says, telling each side that is still there. The
        person's connection closes unless they go back to the waiting room. Its length
        counts in the estimate only when it ended as sessions do (`measure`, and the person
        not put back): one cut short by the desk closing or an operator leaving says nothing
        of how long help takes, and would pull the averages down."""
        person, operator = session.person, session.operator
        length = now - session.started
        operator.session = None
        operator.free_since = now
        person.served += length
        if ending.measure and not ending.requeue and not session.resumed:
            # (a resumed conversation's start was in the run before: its length here is
            # only the tail of one)
            self.estimator.record(person.topic, length)
        actions: list[Action] = [
            SessionEnded(session.id, ending.why, length),
            self._log(
                f"desk: session of {name_for_log(person)} with {operator.name} ended "
                f"({ending.why}; {format_duration(length)})",
                person,
            ),
        ]
        if ending.to_operator is not None and operator.conn in self._conns:
            message = DeskEnded(self._make_id(), ending.to_operator, False, -1)
            actions.append(Send(operator.conn, message))
        if person.conn is not None and person.conn in self._conns:
            actions += self._after_session(session, ending)
        return actions

    def _after_session(self, session: Session, ending: Ending) -> list[Action]:
        """The person of `session`, which just ended, still connected: told, and back at
        the front of the waiting room (`requeue`) or their connection closed."""
        person = session.person
        assert person.conn is not None
        actions: list[Action] = []
        if ending.to_person is not None:
            # Lines that cross the end are counted for a connection about to close;
            # one that stays is answered line by line (see _person_line).
            heard = -1 if ending.requeue else session.heard
            message = DeskEnded(self._make_id(), ending.to_person, ending.requeue, heard)
            actions.append(Send(person.conn, message))
        if ending.requeue:
            # Back to the front, with a fresh token (the old one left with the place).
            person.token = self._new_token()
            person.shown = None
            self._tokens[person.token] = person
            self._to_front(person)
        else:
            actions.append(Close(person.conn, "session ended"))
            self._conns.pop(person.conn, None)
        return actions

    def _operator_gone(self, operator: Operator, now: float, why: str) -> list[Action]:
        """Take `operator` off duty. Its person, if any, goes back to the front of the
        waiting room: leaving them was not their doing, whether the operator went off duty
        or lost the connection (they may `.quit` if they were done)."""
        actions: list[Action] = [Log(f"desk: operator {operator.name} {why}")]
        session = operator.session
        self._operators.pop(operator.conn, None)
        if session is None:
            return actions
        person = session.person
        if why == "went off duty":
            gone = f"{operator.name} went off duty"
        else:
            gone = f"{operator.name}'s connection was lost"
        actions += self._end(
            session,
            now,
            Ending(
                f"operator {why}",
                to_person=f"{gone}; you are back at the front of the waiting room.",
                requeue=True,
            ),
        )
        served = self._dispatch(now)
        actions += self._answer(person, "", now, restored=False)
        return actions + served

    def _hold_at_front(self, person: Person, now: float) -> Action:
        """`person`, whose connection broke while being served, waits first in line without
        a connection: the place is held (for `grace`) for their token."""
        person.conn = None
        person.dropped = now
        person.shown = None
        person.due = None
        self._tokens[person.token] = person
        self._to_front(person)
        return self._log(
            f"desk: {name_for_log(person)} lost the connection while being served; place at "
            f"the front held for {format_duration(self.grace)}",
            person,
        )

    def _settle(self, now: float) -> list[Action]:
        """After any change: serve who can be served, then push positions that changed,
        each person at most once per push_interval. Between `hold` and `release`, neither:
        figures taken halfway through a batch of ends would count operators already gone."""
        if self._holding:
            return []
        actions = self._dispatch(now)
        for person, position, k in self._positions():
            if person.conn is None:
                continue
            if person.shown == (position, k):
                person.due = None
                continue
            if now < person.pushed_at + self.push_interval:
                person.due = person.pushed_at + self.push_interval
                continue
            person.shown = (position, k)
            person.pushed_at = now
            person.due = None
            kind, low, high = self._estimate_for(person, position - 1, now).wire()
            actions.append(
                Send(person.conn, DeskPosition(self._make_id(), position, k, kind, low, high))
            )
        return actions


def _started(session: Session, waited: float) -> SessionStarted:
    """The transcript's record of `session` beginning after a wait of `waited` seconds,
    with the person's number masked wherever it is written."""
    person = session.person
    return SessionStarted(
        session.id,
        scrub_phone(clean(person.name), person.phone),
        person.masked,
        person.topic,
        scrub_phone(clean(person.description), person.phone),
        session.operator.name,
        waited,
        person.crisis,
        tuple(scrub_phone(clean(line), person.phone) for line in person.said),
    )
