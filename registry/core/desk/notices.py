"""What operators are told of those still waiting (arrivals, who may be in danger), and `.first`."""

from __future__ import annotations

from registry.core.desk.actions import DeskSend, Emit
from registry.core.desk.limits import ARRIVALS_INTERVAL, ARRIVALS_NAMED
from registry.core.desk.state import DeskState, Operator, Person, name_for_log
from wire.desk.messages import CRISIS_DESCRIPTION, CRISIS_WAITING, DeskCrisis, DeskFirst
from wire.desk.text import (
    CRISIS_REASONS,
    DANGER_MARK,
    MAX_PERSON_NAME,
    TOPICS,
    keep_said,
    speaks_of_crisis,
    topic_label,
)
from wire.shown_text import clean


def tell(s: DeskState, now: float, emit: Emit) -> None:
    """The notices due (`arrivals`, `briefings`), unless hand-overs are paused."""
    if s.paused(now):
        return
    arrivals, s.arrivals = s.arrivals, []
    briefings, s.briefings = s.briefings, []
    for operator in briefings:
        if s.operators.get(operator.conn) is operator:
            tell_newcomer(s, operator, emit)
    for person in arrivals:
        if person not in s.waiting:
            continue  # taken at once, or gone
        if speaks_of_crisis(person.description):
            # words of danger are told at once, to every operator who could act
            alert(s, person, now, CRISIS_REASONS[CRISIS_DESCRIPTION], emit)
        else:  # to the busy operators who could serve them
            for operator in s.operators.values():
                if operator.session is not None and person.topic in operator.topics:
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
        if operator.session is None or not arrived:
            continue
        operator.told_at = now
        names = [clean(p.name) for p in arrived[:ARRIVALS_NAMED]]
        if len(arrived) > ARRIVALS_NAMED:
            names.append(f"{len(arrived) - ARRIVALS_NAMED} more")
        if len(arrived) == 1:
            who = f"{names[0]} is waiting ({topic_label(arrived[0].topic)})"
        else:
            who = f"{_listed(names)} are waiting"
        text = f"{who}; {len(s.waiting)} waiting in all."
        s.notice(operator.conn, text, emit)


def words_of_crisis(s: DeskState, person: Person, text: str, now: float, emit: Emit) -> None:
    """`person`, waiting, typed words of crisis: operators are told, and the person."""
    assert person.conn is not None
    if person.noticed_on != person.conn:
        # the registry's notice, once per connection: a client that has not seen it
        # waits for it rather than show its own first (one notice, not two)
        person.noticed_on = person.conn
        emit(DeskSend(person.conn, DeskCrisis(s.make_id(), s.settings.crisis_notice)))
    person.crisis = CRISIS_WAITING
    person.said = keep_said(person.said, text)
    line = f"desk: {name_for_log(person)} wrote words of crisis while waiting"
    s.log(line, person, emit)
    told = now < person.alerted_at + ARRIVALS_INTERVAL
    if not told:
        told = alert(s, person, now, CRISIS_REASONS[CRISIS_WAITING], emit)
    if told:
        said = (
            "The operators on duty have been told that you may need help urgently; the "
            "one who serves you will see what you wrote."
        )
    else:
        said = (
            "No operator is on duty to be told yet; the one who serves you will see what "
            "you wrote. If you are in danger now, do not wait here: see the notice above."
        )
    s.notice(person.conn, said, emit)


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
            text = _in_danger(s, person, why)
            text += (
                f" Nobody on duty serves topic {person.topic}: "
                f"{_serve_adding(operator.topics, person.topic)} adds it to yours, to take "
                "them."
            )
        s.notice(operator.conn, text, emit)
    return bool(s.operators)


def tell_newcomer(s: DeskState, operator: Operator, emit: Emit) -> None:
    for person in s.waiting:
        if not person.crisis or person.topic not in operator.topics or person.awaits:
            continue
        why = CRISIS_REASONS.get(person.crisis, "words of crisis")
        s.notice(operator.conn, _in_danger(s, person, why, first=True), emit)


def _in_danger(s: DeskState, person: Person, why: str, *, first: bool = False) -> str:
    number = s.waiting.index(person) + 1
    hint = f" {_first_hint(s, person)} puts them at the front of the line." if first else ""
    return (
        f"{DANGER_MARK} {clean(person.name)}, number {number} in the waiting room "
        f"({topic_label(person.topic)}), may be in danger: {why}.{hint}"
    )


def _numbers(s: DeskState, name: str) -> list[int]:
    key = _name_match(name)
    return [i for i, p in enumerate(s.waiting, 1) if _name_match(p.name) == key]


def _first_hint(s: DeskState, person: Person) -> str:
    name = clean(person.name).strip()
    alone = len(_numbers(s, person.name)) == 1
    if alone and name and not name.isdigit() and len(name) <= MAX_PERSON_NAME:
        return f".first {name}"
    return f".first {s.waiting.index(person) + 1}"


def put_first(s: DeskState, operator: Operator, msg: DeskFirst, now: float, emit: Emit) -> None:
    number = _number_of(s, operator, msg)
    if isinstance(number, str):
        s.notice(operator.conn, number, emit)
        return
    person = s.waiting[number - 1]
    s.waiting.remove(person)
    s.to_front(person)
    _moved(s, operator, person, number, emit)


def _number_of(s: DeskState, operator: Operator, msg: DeskFirst) -> int | str:
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


def _moved(s: DeskState, operator: Operator, person: Person, number: int, emit: Emit) -> None:
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
    s.log(line, person, emit)
    said = f"{name} is now number {now_at} in the waiting room; {who}."
    s.notice(operator.conn, said, emit)
    if person.conn is not None and now_at < number:
        said = "An operator has moved you to the front of the line."
        s.notice(person.conn, said, emit)


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _serve_adding(topics: frozenset[int], topic: int) -> str:
    chosen = topics | {topic}
    if chosen >= set(TOPICS):
        return ".serve all"
    return ".serve " + ",".join(str(t) for t in sorted(chosen))


def _name_match(name: str) -> str:
    """A name as `.first Name` matches it: as shown, ignoring case and spaces."""
    return " ".join(clean(name).split()).casefold()
