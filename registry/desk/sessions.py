"""Sessions: who is handed to which free operator, what is said in a session, and how a
session ends (its person put back at the front when it was cut short).
"""

from __future__ import annotations

from registry.desk.actions import (
    Action,
    Close,
    ConnId,
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
        assert person.conn is not None
        actions: list[Action] = []
        resumed = bool(person.awaits)
        if person.awaits:  # the two were kept for each other after a restart
            person.awaits = ""
            name = clean(person.name)
            actions += [
                self._notice(
                    person.conn,
                    f"The help desk was restarted; your conversation with {operator.name} resumes.",
                ),
                self._notice(
                    operator.conn,
                    f"The help desk was restarted; your conversation with {name} resumes.",
                ),
            ]
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
            SessionStarted(
                session.id,
                scrub_phone(clean(person.name), person.phone),
                person.masked,
                person.topic,
                scrub_phone(clean(person.description), person.phone),
                operator.name,
                waited,
                person.crisis,
                tuple(scrub_phone(clean(line), person.phone) for line in person.said),
            ),
            self._log(
                f"desk: {operator.name} serves {name_for_log(person)} "
                f"(topic {person.topic}, waited {format_duration(waited)})",
                person,
            ),
        ]

    def _say(
        self,
        session: Session,
        sender: str,
        source: ConnId,
        to: ConnId,
        text: str,
        *,
        crisis: bool = False,
    ) -> list[Action]:
        if len(text) > MAX_DESK_LINE:
            return [self._notice(source, f"Line too long: at most {MAX_DESK_LINE} characters.")]
        if not text.strip():
            return []
        return [
            Send(to, DeskLine(self._make_id(), sender, text, session.id)),
            SessionLine(
                session.id,
                scrub_phone(clean(sender), session.person.phone),
                scrub_phone(clean(text), session.person.phone),
                crisis,
            ),
        ]

    def _end(
        self,
        session: Session,
        now: float,
        to_person: str | None,
        to_operator: str | None,
        why: str,
        *,
        requeue: bool = False,
        measure: bool = True,
    ) -> list[Action]:
        """End `session`, telling each side that is still there. The person's connection
        closes unless they go back to the waiting room. Its length counts in the estimate
        only when it ended as sessions do (`measure`, and the person not put back): one cut
        short by the desk closing or an operator leaving says nothing of how long help
        takes, and would pull the averages down."""
        person, operator = session.person, session.operator
        length = now - session.started
        operator.session = None
        operator.free_since = now
        person.served += length
        if measure and not requeue and not session.resumed:
            # (a resumed conversation's start was in the run before: its length here is
            # only the tail of one)
            self.estimator.record(person.topic, length)
        actions: list[Action] = [
            SessionEnded(session.id, why, length),
            self._log(
                f"desk: session of {name_for_log(person)} with {operator.name} ended "
                f"({why}; {format_duration(length)})",
                person,
            ),
        ]
        if to_operator is not None and operator.conn in self._conns:
            actions.append(Send(operator.conn, DeskEnded(self._make_id(), to_operator, False, -1)))
        if person.conn is not None and person.conn in self._conns:
            if to_person is not None:
                # Lines that cross the end are counted for a connection about to close;
                # one that stays is answered line by line (see _from_person).
                heard = -1 if requeue else session.heard
                actions.append(
                    Send(person.conn, DeskEnded(self._make_id(), to_person, requeue, heard))
                )
            if requeue:
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
            to_person=f"{gone}; you are back at the front of the waiting room.",
            to_operator=None,
            why=f"operator {why}",
            requeue=True,
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
