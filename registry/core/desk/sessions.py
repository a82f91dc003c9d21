"""Sessions: who is handed to which free operator, what is said in one, and how it ends; the
places held for their people to come back, after a lost connection or a crash."""

from __future__ import annotations

from msgspec import Struct
from msgspec.structs import replace

from registry.core.desk.actions import (
    Action,
    Close,
    DeskSend,
    Emit,
    KeptPlace,
    Log,
    SessionEnded,
    SessionLine,
    SessionStarted,
)
from registry.core.desk.limits import RESTART_SETTLE, room_is_full
from registry.core.desk.state import DeskState, Operator, Person, may_take, name_for_log
from wire.desk.messages import DeskEnded, DeskLine, DeskServed, DeskSession
from wire.desk.text import (
    MAX_DESK_LINE,
    crisis_reason,
    format_duration,
    speaks_of_crisis,
    stronger_crisis,
)
from wire.names import name_key
from wire.shown_text import clean
from wire.words import counted


class Ending(Struct, frozen=True):
    """How a session ends: `why` for the log, what each side is told (None: nothing)."""

    why: str
    to_person: str | None = None
    to_operator: str | None = None
    requeue: bool = False
    measure: bool = True


#: What an operator who ended a session hears when nobody is handed to it next.
NOBODY_WAITING = "Nobody is waiting for you right now."


def settle(s: DeskState, now: float, emit: Emit) -> None:
    """Hand over, answer the joins (before the hand-overs: a DeskQueued answers a join before
    anything else, position 0 for one just served), tell who ended a session and was given
    nobody, then push positions; none while held."""
    if s.holding:
        return
    served: list[Action] = []
    hand_over(s, now, served.append)
    s.tell_queued(now, emit)
    for action in served:
        emit(action)
    ended, s.ended = s.ended, []
    for operator in ended:
        if operator.person is None and s.operators.get(operator.conn) is operator:
            s.notice(operator.conn, NOBODY_WAITING, emit)
    s.push(now, emit)


def hand_over(s: DeskState, now: float, emit: Emit) -> None:
    """Give every free operator the earliest connected person it serves (the one free
    longest first, then the one on duty longest)."""
    if s.paused(now):
        return
    # operators kept for someone after a restart take nobody else
    kept_for = {name_key(p.awaits) for p in s.waiting if p.awaits}
    for person in list(s.waiting):
        if person.conn is None:
            continue
        # A conversation cut by the restart resumes whatever its operator now serves:
        # `.serve` chooses who is taken next, never ends a conversation in progress.
        free = [
            o
            for o in s.operators.values()
            if o.person is None
            and may_take(o, person)
            and (person.awaits or name_key(o.name) not in kept_for)
        ]
        if free:
            _start(s, person, min(free, key=lambda o: o.free_since), now, emit)


def _start(s: DeskState, person: Person, operator: Operator, now: float, emit: Emit) -> None:
    assert person.conn is not None
    resumed = bool(person.awaits)
    if resumed:
        person.awaits = ""
        said = "The help desk was restarted; your conversation with {} resumes."
        s.notice(person.conn, said.format(operator.name), emit)
        s.notice(operator.conn, said.format(clean(person.name)), emit)
    s.remove_waiting(person)
    session = operator.session = s.make_id()
    operator.person, operator.started = person, now
    operator.heard, operator.resumed = 0, resumed
    waited = person.waited(now)
    emit(DeskSend(person.conn, DeskServed(s.make_id(), operator.name, session)))
    told = DeskSession(
        s.make_id(), session, person.name, person.phone, person.topic,
        person.description, round(waited), person.crisis, person.said,
    )  # fmt: skip
    emit(DeskSend(operator.conn, told))
    scrub = person.scrubbed
    typed = tuple(scrub(line) for line in person.said)
    kept = replace(told, name=scrub(person.name), description=scrub(person.description))
    emit(SessionStarted(operator.name, replace(kept, phone=person.masked, said=typed)))
    line = (
        f"desk: {operator.name} serves {name_for_log(person)} "
        f"(topic {person.topic}, waited {format_duration(waited)})"
    )
    emit(Log(person.scrubbed(line)))


def say(s: DeskState, operator: Operator, by: Person | Operator, text: str, emit: Emit) -> None:
    """`text` from `by` to the other side of `operator`'s session and the transcript (too long is
    refused back, blank goes nowhere); a person's words of crisis are marked, and logged."""
    person = operator.person
    assert person is not None
    source, to = (person.conn, operator.conn) if by is person else (operator.conn, person.conn)
    assert source is not None and to is not None
    if len(text) > MAX_DESK_LINE:
        s.notice(source, f"Line too long: at most {MAX_DESK_LINE} characters.", emit)
        return
    if not text.strip():
        return
    emit(DeskSend(to, DeskLine(s.make_id(), by.name, text, operator.session)))
    crisis = by is person and speaks_of_crisis(text)
    emit(SessionLine(operator.session, person.scrubbed(by.name), person.scrubbed(text), crisis))
    if crisis:  # marked for the operator and in the transcript; the person is told nothing
        s.log(person, f"wrote words of crisis in their session with {operator.name}", emit)


def end(s: DeskState, operator: Operator, now: float, ending: Ending, emit: Emit) -> None:
    """End `operator`'s session as `ending` says; the person's connection closes unless
    requeued."""
    person, session, length = operator.person, operator.session, now - operator.started
    assert person is not None
    operator.person, operator.free_since = None, now
    person.served += length
    if ending.measure and not ending.requeue and not operator.resumed:
        # only a whole session counts (a resumed one began in the run before)
        s.estimator.record(person.topic, length)
    emit(SessionEnded(session, ending.why, length))
    line = (
        f"desk: session of {name_for_log(person)} with {operator.name} ended "
        f"({ending.why}; {format_duration(length)})"
    )
    emit(Log(person.scrubbed(line)))
    if ending.to_operator is not None and operator.conn in s.conns:
        emit(DeskSend(operator.conn, DeskEnded(s.make_id(), ending.to_operator, False, -1)))
    if person.conn is None or person.conn not in s.conns:
        return
    if ending.to_person is not None:
        # Lines that cross the end are counted for a connection about to close;
        # one that stays is answered line by line (see persons.line).
        heard = -1 if ending.requeue else operator.heard
        emit(DeskSend(person.conn, DeskEnded(s.make_id(), ending.to_person, ending.requeue, heard)))
    if ending.requeue:
        # the same token: a client that never hears of this (its connection broken
        # too) takes the place at the front back with the token it holds
        person.shown = None
        s.to_front(person)
    else:
        emit(Close(person.conn, "session ended"))
        s.conns.pop(person.conn, None)


def operator_gone(s: DeskState, operator: Operator, now: float, why: str, emit: Emit) -> None:
    emit(Log(f"desk: operator {operator.name} {why}"))
    s.operators.pop(operator.conn, None)
    person = operator.person
    if person is None:
        return
    gone = " went off duty" if why == "went off duty" else "'s connection was lost"
    told = f"{operator.name}{gone}; you are back at the front of the waiting room."
    end(s, operator, now, Ending(f"operator {why}", to_person=told, requeue=True), emit)
    s.answer(person, "", restored=False)


def person_gone(s: DeskState, person: Person, now: float, reason: str, emit: Emit) -> None:
    """`person`'s connection broke: their place is held (at the front, from a session)."""
    operator = s.serving_of(person)
    held = format_duration(s.settings.grace)
    if operator is not None:
        told = (
            f"{clean(person.name)}'s connection was lost ({reason}); the session has "
            f"ended. They keep a place at the front of the waiting room for {held}."
        )
        why = f"person's connection lost ({reason})"
        end(s, operator, now, Ending(why, to_operator=told, requeue=True), emit)
        s.hold_place(person, now)
        s.to_front(person)
        line = f"lost the connection while being served; place at the front held for {held}"
        s.log(person, line, emit)
    elif person in s.waiting:
        s.hold_place(person, now)
        s.log(person, f"lost the connection ({reason}); place held for {held}", emit)


def already_over(serving: str) -> str:
    return f"That session was already over; your session with {serving} goes on."


def restore(s: DeskState, places: list[KeptPlace], now: float, emit: Emit) -> None:
    """Hold `places`, kept by the run before, as if each connection had just broken.
    Call before any connection."""
    for place in sorted(places, key=lambda place: not place.back):
        danger = bool(place.crisis or crisis_reason(place.topic, place.description))
        full = room_is_full(len(s.waiting), in_danger=danger, limits=s.settings)
        if full or any(p.token == place.token for p in s.waiting):
            continue  # a copy of a place cannot be a second one
        s.waiting.append(_held(s, place, now))
        s.restored.add(place.token)
    s.settle_until = now + RESTART_SETTLE
    if count := len(s.waiting):
        line = (
            f"desk: {counted(count, 'place')} kept from before the registry stopped, held for "
            f"{format_duration(_reclaim(s))} for their people to come back; nobody is served "
            f"for up to {format_duration(RESTART_SETTLE)} while they reconnect"
        )
        emit(Log(line))


def _reclaim(s: DeskState) -> float:
    return min(s.settings.grace, s.settings.reclaim_window)


def _held(s: DeskState, place: KeptPlace, now: float) -> Person:
    served = max(0.0, place.served)
    since = place.serving_since
    in_session = 0.0 if since is None else max(0.0, now - since)
    return Person(
        token=place.token,
        name=place.name,
        phone=place.phone,
        topic=place.topic,
        description=place.description,
        joined=min(place.joined, now) - served,
        conn=None,
        address=place.address,
        held_until=now + _reclaim(s),
        awaits=place.operator,
        awaits_until=now + s.settings.grace if place.operator else 0.0,
        served=served + in_session,
        back=place.back,
        crisis=stronger_crisis(place.crisis, crisis_reason(place.topic, place.description)),
        said=place.said,
    )


def wakes(s: DeskState) -> list[float]:
    times = [p.held_until for p in s.waiting if p.held_until is not None]
    times += [p.awaits_until for p in s.waiting if p.awaits]
    if s.restored and s.settle_until > float("-inf"):
        times.append(s.settle_until)
    return times


def expire(s: DeskState, now: float, emit: Emit) -> None:
    """Give up places held too long, then part who were kept for each other too long."""
    if now >= s.settle_until:
        s.settle_until = float("-inf")  # settled: nothing more to wake for
    for person in list(s.waiting):
        if person.held_until is not None and now >= person.held_until:
            give_up(s, person, emit)
    for person in s.waiting:  # after the places given up, which say more
        if not person.awaits or now < person.awaits_until:
            continue
        name = clean(person.name)
        said = f"{name} is not back yet; you take the next person."
        _tell_kept_operator(s, person, said, emit)
        if person.conn is not None:
            said = f"{person.awaits} is not back; the next free operator will serve you."
            s.notice(person.conn, said, emit)
        line = f"and {person.awaits} were not together again in time; no longer kept for each other"
        s.log(person, line, emit)
        person.awaits, person.shown = "", None  # a push with the usual figures


def give_up(s: DeskState, person: Person, emit: Emit) -> None:
    s.remove_waiting(person)
    said = f"{clean(person.name)} did not come back; you take the next person."
    _tell_kept_operator(s, person, said, emit)
    s.log(person, "did not come back in time; place given up", emit)


def _tell_kept_operator(s: DeskState, person: Person, text: str, emit: Emit) -> None:
    operator = s.operator_named(person.awaits) if person.awaits else None
    if operator is not None:
        s.notice(operator.conn, text, emit)


def kept_for(s: DeskState, operator: Operator, now: float, emit: Emit) -> None:
    """Tell `operator`, just on duty, of each person kept for it and not back yet."""
    for person in s.waiting:
        if person.conn is None and person.awaits and may_take(operator, person):
            name = clean(person.name)
            held = person.held_until if person.held_until is not None else float("inf")
            left = format_duration(min(person.awaits_until, held) - now)
            said = (
                f"The help desk was restarted while you served {name}; your "
                f"conversation resumes as soon as {name} is back (you take nobody "
                f"else until then, for up to {left})."
            )
            s.notice(operator.conn, said, emit)


def places(s: DeskState) -> tuple[KeptPlace, ...]:
    """The places to keep on disk, for their people to come back after a crash: those served
    first, then those waiting."""
    # those served would be put back at the front, with the others put back, in the
    # order they joined (DeskState.to_front); `joined` as kept leaves out time served
    sessions = {o.person: o for o in s.serving() if o.person is not None}
    front = list(sessions) + [p for p in s.waiting if p.back]
    front.sort(key=lambda person: person.joined)
    rest = [p for p in s.waiting if not p.back]
    return tuple(
        KeptPlace(
            p.token,
            p.name,
            p.phone,
            p.topic,
            p.description,
            p.address,
            p.joined + p.served,
            operator=sessions[p].name if p in sessions else p.awaits,
            back=index < len(front),
            served=p.served,
            serving_since=sessions[p].started if p in sessions else None,
            crisis=p.crisis,
            said=p.said,
        )
        for index, p in enumerate(front + rest)
    )
