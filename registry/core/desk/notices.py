"""What operators are told of the waiting room: who has arrived (to those busy, who could
serve them) and who may be in danger (to one just on duty). A notice goes out only once the
desk has handed over everyone it could, and names only people still waiting then.
"""

from __future__ import annotations

from registry.core.desk.actions import Emit
from registry.core.desk.danger import Danger
from registry.core.desk.limits import ARRIVALS_INTERVAL, ARRIVALS_NAMED
from registry.core.desk.people import Person
from registry.core.desk.state import DeskState
from wire.desk.text import speaks_of_crisis, topic_label
from wire.shown_text import clean


class Notices:
    """Notices of the waiting room to operators, sent when they are true."""

    def __init__(self, s: DeskState, danger: Danger) -> None:
        self._s = s
        self._danger = danger

    def tell(self, now: float, emit: Emit) -> None:
        """The notices due to operators (`DeskState.arrivals`, `DeskState.briefings`), of
        those still waiting, unless hand-overs are paused: then they wait too, to be sent
        after them."""
        s = self._s
        if s.paused(now):
            return
        arrivals, s.arrivals = s.arrivals, []
        briefings, s.briefings = s.briefings, []
        for operator in briefings:
            if s.operators.get(operator.conn) is operator:  # still on duty
                self._danger.tell_newcomer(operator, emit)
        for person in arrivals:
            if person not in s.waiting:
                continue  # taken at once, or gone: nobody needs to look for them
            if speaks_of_crisis(person.description):
                # words of danger are told at once, to every operator who could act
                self._danger.alert(person, now, "their description speaks of it", emit)
            else:
                self._tell_busy_operators(person, now, emit)

    def _tell_busy_operators(self, person: Person, now: float, emit: Emit) -> None:
        """Tell the operators in a session who could serve `person` that they arrived: at
        once, or with the others who arrive within ARRIVALS_INTERVAL of the last notice."""
        s = self._s
        text = (
            f"{clean(person.name)} is waiting ({topic_label(person.topic)}); "
            f"{len(s.waiting)} waiting in all."
        )
        for operator in s.operators.values():
            if operator.session is None or person.topic not in operator.topics:
                continue
            if now < operator.told_at + ARRIVALS_INTERVAL:
                operator.untold.append(person)
            else:
                operator.told_at = now
                emit(s.notice(operator.conn, text))

    def wakes(self) -> list[float]:
        """When `tell_held_back` has something to do."""
        return [o.told_at + ARRIVALS_INTERVAL for o in self._s.operators.values() if o.untold]

    def tell_held_back(self, now: float, emit: Emit) -> None:
        """The arrivals held back by ARRIVALS_INTERVAL, in one line to each operator, of
        those still waiting; none to an operator no longer in a session (one who is free
        has nobody waiting they could serve)."""
        s = self._s
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
            who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            verb = "is" if len(arrived) == 1 else "are"
            text = f"{who} {verb} waiting too; {len(s.waiting)} waiting in all."
            emit(s.notice(operator.conn, text))
