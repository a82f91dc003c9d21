"""Operators: going on duty (the operator key, or a key it authorised), their commands, and
what they are told of those still waiting (arrivals, who may be in danger)."""

from __future__ import annotations

from registry.core.credentials import same_secret
from registry.core.desk import sessions
from registry.core.desk.actions import Close, ConnId, DeskSend, Emit, Log
from registry.core.desk.limits import ARRIVALS_INTERVAL, ARRIVALS_NAMED
from registry.core.desk.state import DeskState, Operator, Person, name_for_log
from wire.desk.messages import (
    CRISIS_DESCRIPTION,
    DeskEnd,
    DeskFirst,
    DeskLeave,
    DeskLine,
    DeskLook,
    DeskOperator,
    DeskServe,
)
from wire.desk.text import (
    ALREADY_ON_DUTY,
    CRISIS_REASONS,
    DANGER_MARK,
    ENDED_TO_PERSON,
    MAX_DESK_LINE,
    MAX_PERSON_NAME,
    TOPICS,
    speaks_of_crisis,
    topic_label,
)
from wire.names import name_key
from wire.names import name_problem as operator_name_problem
from wire.refusals import RefusalCode
from wire.shown_text import clean
from wire.version import WIRE_VERSION

WRONG_KEY = (
    "Cannot go on duty: wrong operator key (the registry keeps it in its data directory, "
    "file desk-key)."
)


def on(s: DeskState, conn: ConnId, msg: DeskOperator, now: float, emit: Emit) -> None:
    """A `DeskOperator` on `conn`: on duty, or refused."""
    key = s.source(conn).key
    # authorised for the name it was given: under another name it shows the key again
    bound = s.authorised.get(key) if key else None
    known = bound is not None and name_key(bound) == name_key(msg.name)
    if _refused(s, conn, msg, emit, known=known):
        return
    operator = Operator(conn, msg.name, frozenset(msg.topics), free_since=now)
    s.operators[conn] = operator
    s.conns[conn] = operator
    if key and not known:
        # the operator key, shown once, authorises this operator's own key for this name
        s.authorised[key] = msg.name
        emit(Log(f"desk: the key of operator {clean(msg.name)!r} is authorised from now on"))
    s.on_duty(operator, "on duty ({})", msg.id, emit)
    sessions.kept_for(s, operator, now, emit)
    # whoever it takes at once (as hand-overs settle) first; then those waiting who may be in
    # danger
    s.briefings.append(operator)


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
    if operator.person is None:
        # most often it crossed the person's .end on its way
        text = f"Not sent: you are not serving anyone now. The line was: {said}"
    elif msg.session != operator.session:
        serving = clean(operator.person.name)
        text = (
            "Not sent: the session it was typed in is over; you now serve "
            f"{serving}. The line was: {said}"
        )
    else:
        sessions.say(s, operator, operator, msg.text, emit)
        return
    s.notice(operator.conn, text, emit)


def end(s: DeskState, operator: Operator, msg: DeskEnd, now: float, emit: Emit) -> None:
    conn, person = operator.conn, operator.person
    if person is None:
        s.notice(conn, "You are not serving anyone.", emit)
        return
    if msg.session != operator.session:
        s.notice(conn, sessions.already_over(clean(person.name)), emit)
        return
    ending = sessions.Ending(
        "ended by the operator",
        to_person=ENDED_TO_PERSON.format(operator.name),
        to_operator=f"Session with {clean(person.name)} ended.",
    )
    sessions.end(s, operator, now, ending, emit)
    s.ended.append(operator)


def serve(s: DeskState, operator: Operator, msg: DeskServe, now: float, emit: Emit) -> None:
    if not all(t in TOPICS for t in msg.topics):
        s.notice(operator.conn, f"Topics are 1 to {len(TOPICS)}.", emit)
        return
    operator.topics = frozenset(msg.topics)
    s.on_duty(operator, "now serves {}", msg.id, emit)


def off(s: DeskState, operator: Operator, msg: DeskLeave, now: float, emit: Emit) -> None:
    conn = operator.conn
    said = "You are off duty."
    if operator.person is not None:
        name = clean(operator.person.name)
        said = f"You are off duty; {name} is back at the front of the waiting room."
    sessions.operator_gone(s, operator, now, "went off duty", emit)
    s.conns.pop(conn, None)
    s.goodbye(conn, said, "operator off duty", emit)


def tell(s: DeskState, now: float, emit: Emit) -> None:
    """The notices due (`arrivals`, `briefings`), unless hand-overs are paused."""
    if s.paused(now):
        return
    arrivals, s.arrivals = s.arrivals, []
    briefings, s.briefings = s.briefings, []
    for operator in briefings:
        if s.operators.get(operator.conn) is not operator:
            continue  # off duty since
        for person in s.waiting:  # just on duty: who waits that may be in danger
            if person.crisis and person.topic in operator.topics and not person.awaits:
                why = CRISIS_REASONS.get(person.crisis, "words of crisis")
                s.notice(operator.conn, _in_danger(s, person, why, first=True), emit)
    for person in arrivals:
        if person not in s.waiting:
            continue  # taken at once, or gone
        if speaks_of_crisis(person.description):
            # words of danger are told at once, to every operator who could act
            alert(s, person, now, CRISIS_REASONS[CRISIS_DESCRIPTION], emit)
        else:  # to the busy operators who could serve them
            for operator in s.operators.values():
                if operator.person is not None and person.topic in operator.topics:
                    operator.untold.append(person)
    tell_held_back(s, now, emit)


def wakes(s: DeskState) -> list[float]:
    return [o.told_at + ARRIVALS_INTERVAL for o in s.operators.values() if o.untold]


def tell_held_back(s: DeskState, now: float, emit: Emit) -> None:
    for operator in s.operators.values():
        if not operator.untold or now < operator.told_at + ARRIVALS_INTERVAL:
            continue
        arrived = [p for p in operator.untold if p in s.waiting]
        operator.untold = []
        if operator.person is None or not arrived:
            continue
        operator.told_at = now
        names = [clean(p.name) for p in arrived[:ARRIVALS_NAMED]]
        if len(arrived) > ARRIVALS_NAMED:
            names.append(f"{len(arrived) - ARRIVALS_NAMED} more")
        if len(arrived) == 1:
            who = f"{names[0]} is waiting ({topic_label(arrived[0].topic)})"
        else:
            who = f"{_listed(names)} are waiting"
        s.notice(operator.conn, f"{who}; {len(s.waiting)} waiting in all.", emit)


def alert(s: DeskState, person: Person, now: float, why: str, emit: Emit) -> bool:
    """Tell the operators of `person`'s topic (all, if none serves it) they may be in danger:
    whether anyone was told."""
    if s.operators:  # (with nobody told, the next line may still tell someone)
        person.alerted_at = now
    serving = [o for o in s.operators.values() if person.topic in o.topics]
    for operator in serving or s.operators.values():
        # this arrival needs no second word among the others held back
        operator.untold = [p for p in operator.untold if p is not person]
        if serving:
            text = _in_danger(s, person, why, first=True)
        else:
            # `.serve` replaces the topics served: the command that adds this one
            chosen = operator.topics | {person.topic}
            serve = "all" if chosen >= set(TOPICS) else ",".join(map(str, sorted(chosen)))
            text = _in_danger(s, person, why) + (
                f" Nobody on duty serves topic {person.topic}: .serve {serve} adds it to yours, "
                "to take them."
            )
        s.notice(operator.conn, text, emit)
    return bool(s.operators)


def _in_danger(s: DeskState, person: Person, why: str, *, first: bool = False) -> str:
    number = s.waiting.index(person) + 1
    # `.first Maria` when that name is hers alone and can be typed, else `.first 3`
    name = clean(person.name).strip()
    alone = len(_numbers(s, person.name)) == 1
    by = name if alone and name and not name.isdigit() and len(name) <= MAX_PERSON_NAME else number
    hint = f" .first {by} puts them at the front of the line." if first else ""
    return (
        f"{DANGER_MARK} {clean(person.name)}, number {number} in the waiting room "
        f"({topic_label(person.topic)}), may be in danger: {why}.{hint}"
    )


def _numbers(s: DeskState, name: str) -> list[int]:
    key = _name_match(name)
    return [i for i, p in enumerate(s.waiting, 1) if _name_match(p.name) == key]


def put_first(s: DeskState, operator: Operator, msg: DeskFirst, now: float, emit: Emit) -> None:
    number = _number_of(s, msg)
    if isinstance(number, str):
        s.notice(operator.conn, number, emit)
        return
    person = s.waiting.pop(number - 1)
    s.to_front(person)
    name = clean(person.name)
    now_at = s.waiting.index(person) + 1
    label = topic_label(person.topic)
    if any(person.topic in o.topics for o in s.operators.values()):
        who = f"the next operator free for {label} takes them"
    else:
        who = f"nobody on duty serves {label} yet"
    if now_at == number:  # nobody moved: saying "now" would claim something was done
        where = (
            "first in the waiting room"
            if now_at == 1
            else f"number {now_at}, behind only people put back at the front after a "
            "session cut short"
        )
        s.notice(operator.conn, f"{name} is already {where}; {who}.", emit)
        return
    line = (
        f"desk: operator {operator.name} put {name_for_log(person)} at the front of the "
        f"waiting room (from number {number})"
    )
    emit(Log(person.scrubbed(line)))
    s.notice(operator.conn, f"{name} is now number {now_at} in the waiting room; {who}.", emit)
    if person.conn is not None and now_at < number:
        s.notice(person.conn, "An operator has moved you to the front of the line.", emit)


def _number_of(s: DeskState, msg: DeskFirst) -> int | str:
    number, count = msg.position, len(s.waiting)
    if msg.name:
        numbers, shown = _numbers(s, msg.name), clean(msg.name.strip())
        if not numbers:
            return f"Nobody called {shown} is waiting; .room lists who is."
        if len(numbers) > 1:
            return (
                f"{len(numbers)} people called {shown} are waiting: numbers "
                f"{_listed([str(n) for n in numbers])} in "
                f".room; .first {numbers[0]} (say) takes the one you mean."
            )
        number = numbers[0]
    if not 1 <= number <= count:
        people = "person" if count == 1 else "people"
        return (
            f"There is no number {number} in the waiting room ({count} {people}); .room lists them."
        )
    return number


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _name_match(name: str) -> str:
    """A name as `.first Name` matches it: as shown, ignoring case and spaces."""
    return " ".join(clean(name).split()).casefold()
