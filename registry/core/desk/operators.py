"""Operators: going on duty (the operator key, or a key it authorised), and their commands."""

from __future__ import annotations

from registry.core.credentials import same_secret
from registry.core.desk import sessions
from registry.core.desk.actions import Close, ConnId, DeskSend, Emit, Log
from registry.core.desk.restart import kept_for
from registry.core.desk.state import DeskState, Operator
from wire.desk.messages import DeskEnd, DeskLeave, DeskLine, DeskLook, DeskOperator, DeskServe
from wire.desk.text import ALREADY_ON_DUTY, ENDED_TO_PERSON, MAX_DESK_LINE, TOPICS, topics_text
from wire.names import name_key
from wire.names import name_problem as operator_name_problem
from wire.refusals import RefusalCode
from wire.shown_text import clean
from wire.version import WIRE_VERSION

WRONG_KEY = (
    "Cannot go on duty: wrong operator key (the registry keeps it in its data directory, "
    "file desk-key)."
)

#: What an operator who ended a session hears when nobody is handed to it next.
NOBODY_WAITING = "Nobody is waiting for you right now."


def on(s: DeskState, conn: ConnId, msg: DeskOperator, now: float, emit: Emit) -> None:
    """A `DeskOperator` on `conn`: on duty, or refused."""
    key = s.source(conn).key
    # authorised for the name it was given: under another name it shows the key again
    bound = s.authorised.get(key) if key else None
    known = bound is not None and name_key(bound) == name_key(msg.name)
    if _refused(s, conn, msg, emit, known=known):
        return
    operator = Operator(
        conn=conn, name=msg.name, topics=frozenset(msg.topics), free_since=now, order=next(s.order)
    )
    s.operators[conn] = operator
    s.conns[conn] = operator
    if key and not known:
        # the operator key, shown once, authorises this operator's own key for this name
        s.authorised[key] = msg.name
        emit(Log(f"desk: the key of operator {clean(msg.name)!r} is authorised from now on"))
    topics = topics_text(tuple(sorted(operator.topics)))
    s.log_operator(operator, f"on duty ({topics})", emit)
    emit(DeskSend(conn, s.on_duty(operator, msg.id)))
    kept_for(s, operator, now, emit)
    # whoever it takes at once first; then those still waiting who may be in danger
    s.briefings.append(operator)
    sessions.hand_over(s, now, emit)


def revoke(s: DeskState, name: str, now: float, emit: Emit) -> None:
    """Revoke the keys authorised for operator `name`; one on duty goes off duty."""
    keys = [k for k, named in s.authorised.items() if name_key(named) == name_key(name)]
    if not keys:
        return
    for key in keys:
        del s.authorised[key]
    emit(Log(f"desk: the key of operator {clean(name)!r} is revoked"))
    for conn in [c for c in s.operators if s.source(c).key in keys]:
        emit(Close(conn, "its key was revoked"))


def _refused(s: DeskState, conn: ConnId, msg: DeskOperator, emit: Emit, *, known: bool) -> bool:
    if not known and not same_secret(msg.key, s.operator_key):
        # checked first: a caller without the key learns nothing (not even who is on duty)
        line = f"desk: refused an operator calling itself {clean(msg.name)!r}: wrong key"
        log = Log(line, "desk: wrong operator key")
        s.refuse(conn, msg.id, WRONG_KEY, emit, RefusalCode.OPERATOR_KEY, log)
        return True
    if msg.wire != WIRE_VERSION:
        s.refuse_wire(conn, msg, "operator client", emit)
        return True
    problem = operator_name_problem(msg.name)
    same = s.operator_named(msg.name)
    code = RefusalCode.OTHER
    if problem is None and same is not None:
        # the name as it is on duty: `-o ANN` is refused because of ann
        problem = f"an operator named {same.name} {ALREADY_ON_DUTY}"
        code = RefusalCode.ALREADY_ON_DUTY
    if problem is None and not all(t in TOPICS for t in msg.topics):
        problem = f"topics are 1 to {len(TOPICS)}"
    if problem is None:
        return False
    log = Log(f"desk: refused operator {clean(msg.name)!r}: {problem}", "desk: not on duty")
    s.refuse(conn, msg.id, f"Cannot go on duty: {problem}.", emit, code, log)
    return True


def room(s: DeskState, operator: Operator, msg: DeskLook, now: float, emit: Emit) -> None:
    emit(DeskSend(operator.conn, s.room(msg.id, now)))


def line(s: DeskState, operator: Operator, msg: DeskLine, now: float, emit: Emit) -> None:
    said = msg.text[:MAX_DESK_LINE]
    if operator.session is None:
        # most often it crossed the person's .end on its way
        text = f"Not sent: you are not serving anyone now. The line was: {said}"
    elif msg.session != operator.session.id:
        serving = clean(operator.session.person.name)
        text = (
            "Not sent: the session it was typed in is over; you now serve "
            f"{serving}. The line was: {said}"
        )
    else:
        sessions.say(s, operator.session, operator, msg.text, emit)
        return
    s.notice(operator.conn, text, emit)


def end(s: DeskState, operator: Operator, msg: DeskEnd, now: float, emit: Emit) -> None:
    conn, session = operator.conn, operator.session
    if session is None:
        s.notice(conn, "You are not serving anyone.", emit)
        return
    if msg.session != session.id:
        s.notice(conn, sessions.already_over(clean(session.person.name)), emit)
        return
    ending = sessions.Ending(
        "ended by the operator",
        to_person=ENDED_TO_PERSON.format(operator.name),
        to_operator=f"Session with {clean(session.person.name)} ended.",
    )
    sessions.end(s, session, now, ending, emit)
    sessions.hand_over(s, now, emit)
    if s.holding:
        s.ended_while_holding.add(conn)  # whoever is next is known at end_hold
    elif operator.session is None:
        s.notice(conn, NOBODY_WAITING, emit)


def serve(s: DeskState, operator: Operator, msg: DeskServe, now: float, emit: Emit) -> None:
    if not all(t in TOPICS for t in msg.topics):
        s.notice(operator.conn, f"Topics are 1 to {len(TOPICS)}.", emit)
        return
    operator.topics = frozenset(msg.topics)
    topics = topics_text(tuple(sorted(operator.topics)))
    s.log_operator(operator, f"now serves {topics}", emit)
    emit(DeskSend(operator.conn, s.on_duty(operator, msg.id)))


def off(s: DeskState, operator: Operator, msg: DeskLeave, now: float, emit: Emit) -> None:
    conn = operator.conn
    said = "You are off duty."
    if operator.session is not None:
        name = clean(operator.session.person.name)
        said = f"You are off duty; {name} is back at the front of the waiting room."
    sessions.operator_gone(s, operator, now, "went off duty", emit)
    s.conns.pop(conn, None)
    s.goodbye(conn, said, "operator off duty", emit)
