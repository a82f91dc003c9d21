"""Operators: going on duty (with the operator key, or a key it authorised), and what an
operator sends while on duty: lines, `.end`, `.serve`, `.first`, `.room`, going off duty.
"""

from __future__ import annotations

from registry.desk.actions import Action, Close, ConnId, KeepOperators, Log, Send
from registry.desk.key import key_matches
from registry.desk.notices import WaitingNotices
from registry.desk.people import Operator, sorted_topics
from registry.desk.restart import AfterRestart
from registry.desk.sessions import Ending
from wire.desk.messages import (
    DeskEnd,
    DeskEnded,
    DeskFirst,
    DeskLeave,
    DeskLine,
    DeskMessage,
    DeskOperator,
    DeskRoomRequest,
    DeskServe,
)
from wire.desk.text import ALREADY_ON_DUTY, MAX_DESK_LINE, TOPICS, format_duration, topics_text
from wire.names import name_key
from wire.names import name_problem as operator_name_problem
from wire.refusals import RefusalCode
from wire.shown_text import clean
from wire.version import WIRE_VERSION

#: Why an operator without the registry's operator key is refused.
WRONG_KEY = (
    "Cannot go on duty: wrong operator key (the registry keeps it in its data directory, "
    "file desk-key)."
)

#: What an operator who ended a session hears when nobody is handed to it next.
NOBODY_WAITING = "Nobody is waiting for you right now."


class Operators(AfterRestart, WaitingNotices):
    """Operators coming on duty, and their messages once there."""

    def _operator_on(self, conn: ConnId, msg: DeskOperator, now: float) -> list[Action]:
        """An operator's `DeskOperator` on `conn`: on duty (its key authorised from now on
        when it came with the operator key), told of anyone kept for it after a restart,
        and given the next person; or refused, saying why."""
        key = self._conn_keys.get(conn, "")
        # authorised for the name it was given: under another name it shows the key again
        bound = self.authorised.get(key) if key else None
        known = bound is not None and name_key(bound) == name_key(msg.name)
        refused = self._duty_refusal(conn, msg, known=known)
        if refused:
            return refused
        operator = Operator(
            conn=conn,
            name=msg.name,
            topics=frozenset(msg.topics),
            free_since=now,
            order=next(self._order),
        )
        self._operators[conn] = operator
        self._conns[conn] = operator
        actions: list[Action] = []
        if key and not known:
            # the operator key, shown once, authorises this operator's own key for this
            # name: it goes on duty as it with that alone from now on, and the shared key
            # need travel no more
            self.authorised[key] = msg.name
            actions.append(KeepOperators(tuple(sorted(self.authorised.items()))))
            line = f"desk: the key of operator {clean(msg.name)!r} is authorised from now on"
            actions.append(Log(line))
        actions += [
            *self._log_operator(
                operator, f"on duty ({topics_text(sorted_topics(operator.topics))})"
            ),
            Send(conn, self._on_duty(operator, msg.id)),
            *self._kept_for(operator, now),
        ]
        # whoever it takes at once first; then those still waiting who may be in danger
        self._brief(operator)
        return actions + self._dispatch(now)

    def revoke(self, name: str) -> list[Action]:
        """Revoke the keys authorised for operator `name` (the registry console's `revoke`):
        it shows the operator key again to go on duty, and one on duty now with such a key
        is taken off it (its connection closed). Nothing when none is authorised."""
        keys = [k for k, named in self.authorised.items() if name_key(named) == name_key(name)]
        if not keys:
            return []
        for key in keys:
            del self.authorised[key]
        actions: list[Action] = [
            KeepOperators(tuple(sorted(self.authorised.items()))),
            Log(f"desk: the key of operator {clean(name)!r} is revoked"),
        ]
        for conn in [c for c in self._operators if self._conn_keys.get(c) in keys]:
            actions.append(Close(conn, "its key was revoked"))
        return actions

    def _duty_refusal(self, conn: ConnId, msg: DeskOperator, *, known: bool) -> list[Action]:
        """Why the operator on `conn` does not go on duty (the refusal, and what the log
        says), or nothing when it does. `known`: its key was authorised before."""
        if not known and not key_matches(msg.key, self._operator_key):
            # checked first: a caller without the key learns nothing (not even who is on duty)
            line = f"desk: refused an operator calling itself {clean(msg.name)!r}: wrong key"
            log = Log(line, "desk: wrong operator key")
            return self._refuse(conn, msg.id, WRONG_KEY, RefusalCode.OPERATOR_KEY, log)
        if msg.wire != WIRE_VERSION:
            return self._other_wire(conn, msg, "operator client")
        problem = operator_name_problem(msg.name)
        same = next(
            (o for o in self._operators.values() if name_key(o.name) == name_key(msg.name)), None
        )
        code = RefusalCode.OTHER
        if problem is None and same is not None:
            # the name as it is on duty: `-o ANN` is refused because of ann
            problem = f"an operator named {same.name} {ALREADY_ON_DUTY}"
            code = RefusalCode.ALREADY_ON_DUTY
        if problem is None and not all(t in TOPICS for t in msg.topics):
            problem = f"topics are 1 to {len(TOPICS)}"
        if problem is not None:
            reason = f"Cannot go on duty: {problem}."
            log = Log(f"desk: refused operator {clean(msg.name)!r}: {problem}", "desk: not on duty")
            return self._refuse(conn, msg.id, reason, code, log)
        return []

    def _kept_for(self, operator: Operator, now: float) -> list[Action]:
        """What `operator`, just on duty, is told of each person kept for it after a
        restart who is not back yet."""
        actions: list[Action] = []
        for person in self._waiting:
            if person.conn is None and self._kept_operator(person) is operator:
                name = clean(person.name)
                # their place may run out first: after a restart within RECLAIM_WINDOW
                held = self._reclaim_by if person.token in self._restored else float("inf")
                if person.dropped is not None:
                    held = min(held, person.dropped + self.grace)
                left = format_duration(min(person.awaits_until, held) - now)
                actions.append(
                    self._notice(
                        operator.conn,
                        f"The help desk was restarted while you served {name}; your "
                        f"conversation resumes as soon as {name} is back (you take nobody "
                        f"else until then, for up to {left}).",
                    )
                )
        return actions

    def _from_operator(self, operator: Operator, msg: DeskMessage, now: float) -> list[Action]:
        """A message from `operator`, on duty."""
        conn = operator.conn
        if isinstance(msg, DeskRoomRequest):
            return [Send(conn, self._room(msg.id, now))]
        if isinstance(msg, DeskFirst):
            return self._put_first(operator, msg)
        if isinstance(msg, DeskLine):
            return self._operator_line(operator, msg)
        if isinstance(msg, DeskEnd):
            return self._operator_end(operator, msg, now)
        if isinstance(msg, DeskServe):
            return self._operator_serves(operator, msg)
        if isinstance(msg, DeskLeave):
            return self._off_duty(operator, now)
        return [self._notice(conn, f"{type(msg).__name__} is not something an operator can send.")]

    def _operator_line(self, operator: Operator, msg: DeskLine) -> list[Action]:
        """A line for the person `operator` serves: sent when it names their session."""
        conn = operator.conn
        if operator.session is None:
            # most often it crossed the person's .end on its way
            said = msg.text[:MAX_DESK_LINE]
            return [
                self._notice(
                    conn, f"Not sent: you are not serving anyone now. The line was: {said}"
                )
            ]
        if msg.session != operator.session.id:
            serving = clean(operator.session.person.name)
            return [
                self._notice(
                    conn,
                    "Not sent: the session it was typed in is over; you now serve "
                    f"{serving}. The line was: {msg.text[:MAX_DESK_LINE]}",
                )
            ]
        return self._say(operator.session, operator, msg.text)

    def _operator_end(self, operator: Operator, msg: DeskEnd, now: float) -> list[Action]:
        """`.end`: the session it names ends, and `operator` takes the next person."""
        conn = operator.conn
        if operator.session is None:
            return [self._notice(conn, "You are not serving anyone.")]
        if msg.session != operator.session.id:
            serving = clean(operator.session.person.name)
            return [
                self._notice(
                    conn,
                    f"That session was already over; your session with {serving} goes on.",
                )
            ]
        person = operator.session.person
        actions = self._end(
            operator.session,
            now,
            Ending(
                "ended by the operator",
                to_person=f"{operator.name} ended the session. Take care.",
                to_operator=f"Session with {clean(person.name)} ended.",
            ),
        )
        actions += self._dispatch(now)
        if self._holding:
            self._ended_while_holding.add(conn)  # whoever is next is known at release
        elif operator.session is None:
            actions.append(self._notice(conn, NOBODY_WAITING))
        return actions

    def _operator_serves(self, operator: Operator, msg: DeskServe) -> list[Action]:
        """`.serve`: the topics `operator` takes people for from now on."""
        if not all(t in TOPICS for t in msg.topics):
            return [self._notice(operator.conn, f"Topics are 1 to {len(TOPICS)}.")]
        operator.topics = frozenset(msg.topics)
        return [
            *self._log_operator(
                operator, f"now serves {topics_text(sorted_topics(operator.topics))}"
            ),
            Send(operator.conn, self._on_duty(operator, msg.id)),
        ]

    def _off_duty(self, operator: Operator, now: float) -> list[Action]:
        """`.quit`: `operator` goes off duty; the person it served goes back to the front."""
        conn = operator.conn
        said = "You are off duty."
        if operator.session is not None:  # that person is put back, and ought to be known
            name = clean(operator.session.person.name)
            said = f"You are off duty; {name} is back at the front of the waiting room."
        actions = self._operator_gone(operator, now, "went off duty")
        self._conns.pop(conn, None)
        actions.append(Send(conn, DeskEnded(self._make_id(), said, False, -1)))
        actions.append(Close(conn, "operator off duty"))
        return actions
