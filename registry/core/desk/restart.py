"""Places held for their people to come back, after a lost connection or a crash."""

from __future__ import annotations

from registry.core.desk.actions import Emit, KeptPlace, Log
from registry.core.desk.limits import RESTART_SETTLE, room_is_full
from registry.core.desk.state import DeskState, Operator, Person, name_for_log
from wire.desk.text import crisis_reason, format_duration, stronger_crisis
from wire.shown_text import clean


def restore(s: DeskState, places: list[KeptPlace], now: float, emit: Emit) -> None:
    """Hold `places`, kept by the run before, as if each connection had just broken.
    Call before any connection."""
    for place in sorted(places, key=lambda place: not place.back):
        danger = bool(place.crisis or crisis_reason(place.topic, place.description))
        full = room_is_full(len(s.waiting), in_danger=danger, limits=s.settings)
        if full or any(p.token == place.token for p in s.waiting):
            continue  # a copy of a place cannot be a second one
        person = _held(s, place, now)
        s.waiting.append(person)
        s.restored.add(person.token)
    s.settle_until = now + RESTART_SETTLE
    if s.waiting:
        count = len(s.waiting)
        places_text = "1 place" if count == 1 else f"{count} places"
        held = format_duration(_reclaim(s))
        line = (
            f"desk: {places_text} kept from before the registry stopped, held for "
            f"{held} for their people to "
            f"come back; nobody is served for up to {format_duration(RESTART_SETTLE)} "
            "while they reconnect"
        )
        emit(Log(line))


def _reclaim(s: DeskState) -> float:
    return min(s.settings.grace, s.settings.reclaim_window)


def _held(s: DeskState, place: KeptPlace, now: float) -> Person:
    served = max(0.0, place.served)
    in_session = 0.0
    if place.serving_since is not None:
        in_session = max(0.0, now - place.serving_since)
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
    _stop_awaiting(s, now, emit)  # after the places given up: they say more


def give_up(s: DeskState, person: Person, emit: Emit) -> None:
    s.remove_waiting(person)
    said = f"{clean(person.name)} did not come back; you take the next person."
    _tell_kept_operator(s, person, said, emit)
    line = f"desk: {name_for_log(person)} did not come back in time; place given up"
    s.log(line, person, emit)


def _stop_awaiting(s: DeskState, now: float, emit: Emit) -> None:
    for person in s.waiting:
        if not person.awaits or now < person.awaits_until:
            continue
        name = clean(person.name)
        said = f"{name} is not back yet; you take the next person."
        _tell_kept_operator(s, person, said, emit)
        if person.conn is not None:
            said = f"{person.awaits} is not back; the next free operator will serve you."
            s.notice(person.conn, said, emit)
        line = (
            f"desk: {name_for_log(person)} and {person.awaits} were not together "
            "again in time; no longer kept for each other"
        )
        s.log(line, person, emit)
        person.awaits, person.shown = "", None  # a push with the usual figures


def kept_operator(s: DeskState, person: Person) -> Operator | None:
    return s.operator_named(person.awaits) if person.awaits else None


def _tell_kept_operator(s: DeskState, person: Person, text: str, emit: Emit) -> None:
    operator = kept_operator(s, person)
    if operator is not None:
        s.notice(operator.conn, text, emit)


def kept_for(s: DeskState, operator: Operator, now: float, emit: Emit) -> None:
    """Tell `operator`, just on duty, of each person kept for it and not back yet."""
    for person in s.waiting:
        if person.conn is None and kept_operator(s, person) is operator:
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
    sessions = {session.person: session for session in s.sessions()}
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
            operator=sessions[p].operator.name if p in sessions else p.awaits,
            back=index < len(front),
            served=p.served,
            serving_since=sessions[p].started if p in sessions else None,
            crisis=p.crisis,
            said=p.said,
        )
        for index, p in enumerate(front + rest)
    )
