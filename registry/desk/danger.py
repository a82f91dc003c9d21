"""Someone who may be in danger: the operators are told, and `.first` lets one put them at
the front of the line (docs/DESK.md, "Someone who may be in danger").
"""

from __future__ import annotations

from registry.desk.actions import Action, Send
from registry.desk.limits import ARRIVALS_INTERVAL
from registry.desk.line import WaitingLine
from registry.desk.people import Operator, Person, name_for_log
from wire.desk.messages import CRISIS_WAITING, DeskCrisis, DeskFirst
from wire.desk.text import (
    CRISIS_REASONS,
    DANGER_MARK,
    MAX_PERSON_NAME,
    TOPICS,
    keep_said,
    topic_label,
)
from wire.shown_text import clean


class DangerAlerts(WaitingLine):
    """Alerts of someone who may be in danger, and `.first`."""

    def _words_of_crisis(self, person: Person, text: str, now: float) -> list[Action]:
        """`person`, waiting, typed `text`, which holds words of someone in danger: nobody
        reads it yet, so the operators who could take them are told at once (at most once
        every ARRIVALS_INTERVAL per person), whoever serves them will see the line, and the
        person is told what became of it."""
        assert person.conn is not None
        actions: list[Action] = []
        if person.noticed_on != person.conn:
            # The registry's notice (local numbers to call, say), once per connection: a
            # client that has not seen it on this connection (none was due at the join, or
            # it was started again since) waits for it rather than show a notice of its own
            # first, so that the person reads one notice, not two.
            person.noticed_on = person.conn
            actions.append(Send(person.conn, DeskCrisis(self._make_id(), self.crisis_notice)))
        person.crisis = CRISIS_WAITING
        person.said = keep_said(person.said, text)
        actions.append(
            self._log(f"desk: {name_for_log(person)} wrote words of crisis while waiting", person)
        )
        if now < person.alerted_at + ARRIVALS_INTERVAL:
            told = True  # told already, a moment ago: once is enough to act on
        else:
            alerts, told = self._alert(person, now, "they wrote of it while waiting")
            actions += alerts
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
        return [*actions, self._notice(person.conn, said)]

    def _alert(self, person: Person, now: float, why: str) -> tuple[list[Action], bool]:
        """Tell the operators who serve `person`'s topic (all on duty, if none does) that
        they may be in danger, and how to take them next. Also whether anyone was told."""
        if self._operators:  # (with nobody told, the next line may still tell someone)
            person.alerted_at = now
        number = self._waiting.index(person) + 1
        serving = [o for o in self._operators.values() if person.topic in o.topics]
        text = (
            f"{DANGER_MARK} {clean(person.name)}, number {number} in the waiting room "
            f"({topic_label(person.topic)}), may be in danger: {why}."
        )
        told = serving or list(self._operators.values())
        actions: list[Action] = []
        first = self._first_hint(person)
        for operator in told:
            # this arrival needs no second word among the others held back
            operator.untold = [p for p in operator.untold if p is not person]
            if serving:
                hint = f" {first} puts them at the front of the line."
            else:  # `.serve` replaces the topics served: the command that adds this one
                hint = (
                    f" Nobody on duty serves topic {person.topic}: "
                    f"{_serve_adding(operator.topics, person.topic)} adds it to yours, to take "
                    "them."
                )
            actions.append(self._notice(operator.conn, text + hint))
        return actions, bool(told)

    def _danger_waiting(self, operator: Operator) -> list[Action]:
        """Tell `operator`, just on duty, of those waiting for its topics who may be in
        danger: the alerts went out before it was there, and `.room` is not read first."""
        actions: list[Action] = []
        for number, person in enumerate(self._waiting, 1):
            if not person.crisis or person.topic not in operator.topics or person.awaits:
                continue
            why = CRISIS_REASONS.get(person.crisis, "words of crisis")
            actions.append(
                self._notice(
                    operator.conn,
                    f"{DANGER_MARK} {clean(person.name)}, number {number} in the waiting room "
                    f"({topic_label(person.topic)}), may be in danger: {why}. "
                    f"{self._first_hint(person)} puts them at the front of the line.",
                )
            )
        return actions

    def _named(self, operator: Operator, name: str) -> int | Send:
        """The `.room` number of the one person waiting under `name` (ignoring case), or
        what the operator is told when nobody or more than one person is."""
        key = _name_match(name)
        numbers = [i for i, p in enumerate(self._waiting, 1) if _name_match(p.name) == key]
        if len(numbers) == 1:
            return numbers[0]
        shown = clean(name.strip())
        if not numbers:
            return self._notice(
                operator.conn, f"Nobody called {shown} is waiting; .room lists who is."
            )
        listed = ", ".join(str(n) for n in numbers[:-1]) + f" and {numbers[-1]}"
        return self._notice(
            operator.conn,
            f"{len(numbers)} people called {shown} are waiting: numbers {listed} in .room; "
            f".first {numbers[0]} (say) takes the one you mean.",
        )

    def _first_hint(self, person: Person) -> str:
        """The `.first` command that names `person` beyond doubt: their name when nobody
        else waits under it (a number goes stale as people leave and join), else their
        number in the waiting room now."""
        key = _name_match(person.name)
        alike = sum(1 for p in self._waiting if _name_match(p.name) == key)
        name = clean(person.name).strip()
        if alike == 1 and name and not name.isdigit() and len(name) <= MAX_PERSON_NAME:
            return f".first {name}"
        return f".first {self._waiting.index(person) + 1}"

    def _put_first(self, operator: Operator, msg: DeskFirst) -> list[Action]:
        """`.first N` or `.first Name`: the person at `N` of the waiting room (as `.room`
        numbers it), or the one waiting under that name, goes to its front, among the
        others put back there (see _to_front). An operator's judgement, not a rule: see
        docs/DESK.md, "Someone who may be in danger"."""
        number = self._number_of(operator, msg)
        if isinstance(number, Send):
            return [number]
        person = self._waiting[number - 1]
        self._waiting.remove(person)
        self._to_front(person)
        return self._moved(operator, person, number)

    def _number_of(self, operator: Operator, msg: DeskFirst) -> int | Send:
        """The number in the waiting room that `.first` names, or what the operator is told
        when it names nobody there."""
        number = msg.position
        if msg.name:
            found = self._named(operator, msg.name)
            if isinstance(found, Send):
                return found
            number = found
        if not 1 <= number <= len(self._waiting):
            count = len(self._waiting)
            people = "person" if count == 1 else "people"
            return self._notice(
                operator.conn,
                f"There is no number {number} in the waiting room ({count} {people}); "
                ".room lists them.",
            )
        return number

    def _moved(self, operator: Operator, person: Person, number: int) -> list[Action]:
        """What is said once `.first` put `person`, number `number` until then, at the
        front: to the operator, the log, and the person when they moved up."""
        name = clean(person.name)
        now_at = self._waiting.index(person) + 1
        label = topic_label(person.topic)
        if any(person.topic in o.topics for o in self._operators.values()):
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
            return [self._notice(operator.conn, f"{name} is already {where}; {who}.")]
        actions: list[Action] = [
            self._log(
                f"desk: operator {operator.name} put {name_for_log(person)} at the front of the "
                f"waiting room (from number {number})",
                person,
            ),
            self._notice(
                operator.conn, f"{name} is now number {now_at} in the waiting room; {who}."
            ),
        ]
        if person.conn is not None and now_at < number:
            actions.append(
                self._notice(person.conn, "An operator has moved you to the front of the line.")
            )
        return actions


def _serve_adding(topics: frozenset[int], topic: int) -> str:
    """The `.serve` command that serves `topics` and `topic` too (`.serve` replaces the
    topics served, so it must name them all)."""
    chosen = topics | {topic}
    if chosen >= set(TOPICS):
        return ".serve all"
    return ".serve " + ",".join(str(t) for t in sorted(chosen))


def _name_match(name: str) -> str:
    """A person's name as `.first Name` matches it: as shown, ignoring case and spaces
    around and between words."""
    return " ".join(clean(name).split()).casefold()
