"""What operators are told of the waiting room: who has arrived (to those busy, who could
serve them) and who may be in danger (to one just on duty).

Such a notice goes out only once the desk has handed over everyone it could, and names
only people still waiting then. Hand-overs wait at times (`hold`, and just after a
restart: see `_handing_over_paused`); a notice sent before them could name someone a free
operator takes a moment later, and the operator told would look for a person who is no
longer there.
"""

from __future__ import annotations

from registry.desk.actions import Action
from registry.desk.danger import DangerAlerts
from registry.desk.limits import ARRIVALS_INTERVAL, ARRIVALS_NAMED
from registry.desk.people import Operator, Person
from wire.desk.text import speaks_of_crisis, topic_label
from wire.shown_text import clean


class WaitingNotices(DangerAlerts):
    """Notices of the waiting room to operators, sent when they are true."""

    def _arrived(self, person: Person) -> None:
        """`person` has just joined the waiting room: the operators are told once the
        desk has handed over whoever it could (`_tell_waiting`), unless they were taken."""
        self._arrivals.append(person)

    def _brief(self, operator: Operator) -> None:
        """`operator` has just come on duty: it is told of those waiting for its topics who
        may be in danger, once the desk has handed over whoever it could (it may be given
        one of them)."""
        self._briefings.append(operator)

    def _tell_waiting(self, now: float) -> list[Action]:
        """The notices due since `_arrived` and `_brief`, of those still waiting, unless
        hand-overs are paused: then they wait too, to be sent after them."""
        if self._handing_over_paused(now):
            return []
        arrivals, self._arrivals = self._arrivals, []
        briefings, self._briefings = self._briefings, []
        actions: list[Action] = []
        for operator in briefings:
            if self._operators.get(operator.conn) is operator:  # still on duty
                actions += self._danger_waiting(operator)
        for person in arrivals:
            if person not in self._waiting:
                continue  # taken at once, or gone: nobody needs to look for them
            if speaks_of_crisis(person.description):
                # words of danger are told at once, to every operator who could act
                actions += self._alert(person, now, "their description speaks of it")[0]
            else:
                actions += self._tell_busy_operators(person, now)
        return actions

    def _tell_busy_operators(self, person: Person, now: float) -> list[Action]:
        """Tell the operators in a session who could serve `person` that they arrived: at
        once, or with the others who arrive within ARRIVALS_INTERVAL of the last notice."""
        text = (
            f"{clean(person.name)} is waiting ({topic_label(person.topic)}); "
            f"{len(self._waiting)} waiting in all."
        )
        actions: list[Action] = []
        for operator in self._operators.values():
            if operator.session is None or person.topic not in operator.topics:
                continue
            if now < operator.told_at + ARRIVALS_INTERVAL:
                operator.untold.append(person)
            else:
                operator.told_at = now
                actions.append(self._notice(operator.conn, text))
        return actions

    def _tell_held_back_arrivals(self, now: float) -> list[Action]:
        """The arrivals held back by ARRIVALS_INTERVAL, in one line to each operator, of
        those still waiting; none to an operator no longer in a session (one who is free
        has nobody waiting they could serve)."""
        actions: list[Action] = []
        for operator in self._operators.values():
            if not operator.untold or now < operator.told_at + ARRIVALS_INTERVAL:
                continue
            arrived = [p for p in operator.untold if p in self._waiting]
            operator.untold = []
            if operator.session is None or not arrived:
                continue
            operator.told_at = now
            names = [clean(p.name) for p in arrived[:ARRIVALS_NAMED]]
            if len(arrived) > ARRIVALS_NAMED:
                names.append(f"{len(arrived) - ARRIVALS_NAMED} more")
            who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            verb = "is" if len(arrived) == 1 else "are"
            text = f"{who} {verb} waiting too; {len(self._waiting)} waiting in all."
            actions.append(self._notice(operator.conn, text))
        return actions
