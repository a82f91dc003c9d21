"""The waiting line: positions, the estimate each person is shown, the order of those put
back at the front, and `.room`.
"""

from __future__ import annotations

import math

from registry.desk.actions import Action, Send
from registry.desk.estimate import Busy, Estimate
from registry.desk.people import Operator, Person, sorted_topics
from registry.desk.state import DeskState
from wire.desk.messages import EST_KEPT, EST_MEASURED, DeskOnDuty, DeskQueued, DeskRoom
from wire.desk.text import TOPICS
from wire.names import name_key


class WaitingLine(DeskState):
    """The waiting line and what is said of it."""

    def position(self, person: Person) -> tuple[int, int]:
        """(position, operators able to serve) for a waiting person."""
        for p, position, k in self._positions():
            if p is person:
                return position, k
        raise ValueError("not waiting")

    def _positions(self) -> list[tuple[Person, int, int]]:
        """(person, position, operators able to serve) for everyone waiting, in order."""
        reach: dict[int, frozenset[int]] = {}
        able: dict[int, int] = {}
        for topic in TOPICS:
            serving = [o for o in self._operators.values() if topic in o.topics]
            able[topic] = len(serving)
            reach[topic] = frozenset().union(*(o.topics for o in serving))
        before: dict[int, int] = dict.fromkeys(TOPICS, 0)
        result = []
        for index, person in enumerate(self._waiting):
            competitors = reach.get(person.topic, frozenset())
            ahead = sum(before[t] for t in competitors) if competitors else index
            # kept for one operator after a restart: that one serves them, nobody else
            # (they still count ahead of the others: should it not be back in time, they
            # go to the next free operator from where they are)
            able_now = 1 if person.awaits else able.get(person.topic, 0)
            result.append((person, ahead + 1, able_now))
            before[person.topic] = before.get(person.topic, 0) + 1
        return result

    def _to_front(self, person: Person) -> None:
        """Put `person`, whose session was cut short (their operator left, or their
        connection broke), back at the front of the waiting room: before everyone else, but
        among the others put back so, in the order they joined, so that of two people put
        back the one who has waited longer goes first."""
        person.back = True
        waiting, index = self._waiting, 0
        while (
            index < len(waiting) and waiting[index].back and waiting[index].joined <= person.joined
        ):
            index += 1
        waiting.insert(index, person)

    def _estimate_for(self, person: Person, ahead: int, now: float) -> Estimate:
        if person.awaits:  # kept for their operator: what they wait for is its return
            return Estimate(EST_KEPT, 0.0, max(0.0, person.awaits_until - now))
        return self._estimate(person.topic, ahead, now)

    def _estimate(self, topic: int, ahead: int, now: float) -> Estimate:
        busy: list[Busy] = [
            None if o.session is None else (o.session.person.topic, now - o.session.started)
            for o in self._operators.values()
            if topic in o.topics
        ]
        return self.estimator.estimate(topic, ahead, busy)

    def _room(self, reply_to: str, now: float) -> DeskRoom:
        people = self._waiting
        kept_left = [max(0.0, p.awaits_until - now) if p.awaits else 0.0 for p in people]
        return DeskRoom(
            self._make_id(),
            reply_to,
            tuple(p.name for p in people),
            tuple(p.topic for p in people),
            tuple(p.masked for p in people),
            tuple(int(p.waited(now)) for p in people),
            tuple(p.conn is not None for p in people),
            tuple(p.crisis for p in people),
            tuple(p.awaits for p in people),
            tuple(math.ceil(left) for left in kept_left),
        )

    def _answer(self, person: Person, reply_to: str, now: float, *, restored: bool) -> list[Action]:
        """The `DeskQueued` that tells `person` where they stand (the answer to their join,
        `reply_to` its id, or "" for someone put back at the front), then, for a place
        taken back that waits for its operator after a restart, a notice saying so.
        Between `hold` and `release` it is kept for `release` (`_held_answers`): figures
        taken halfway through a batch of ends would count operators already gone."""
        assert person.conn is not None
        if self._holding:
            self._answers_held.append((person, person.conn, reply_to, restored))
            return []
        actions: list[Action] = [self._queued(person, reply_to, now, restored=restored)]
        if restored and person.awaits and person in self._waiting:
            who = person.awaits
            actions.append(
                self._notice(
                    person.conn,
                    f"The help desk was restarted; your conversation with {who} resumes as "
                    f"soon as {who} is back.",
                )
            )
        return actions

    def _held_answers(self, now: float) -> list[Action]:
        """At `release`: the answers kept since `hold`, in order, to those still on the
        connection they were for (one that left, or came back on another, has no use
        for it)."""
        held, self._answers_held = self._answers_held, []
        actions: list[Action] = []
        for person, conn, reply_to, restored in held:
            if person.conn == conn and self._conns.get(conn) is person:
                actions += self._answer(person, reply_to, now, restored=restored)
        return actions

    def _queued(self, person: Person, reply_to: str, now: float, *, restored: bool) -> Send:
        assert person.conn is not None
        if person in self._waiting:
            position, k = self.position(person)
            person.shown = (position, k)
            person.pushed_at = now
            person.due = None
            est = self._estimate_for(person, position - 1, now)
        else:  # served at once
            position, k, est = 0, 1, Estimate(EST_MEASURED)  # (position 0: not shown)
        kind, low, high = est.wire()
        return Send(
            person.conn,
            DeskQueued(
                self._make_id(),
                reply_to,
                person.token,
                person.topic,
                position,
                k,
                int(self.grace),
                restored,
                kind,
                low,
                high,
            ),
        )

    def _on_duty(self, operator: Operator, reply_to: str) -> DeskOnDuty:
        # what the operator can be given: people here for its topics, not held places, nor
        # those kept for another operator after a restart; those kept for it, whatever topic
        yours = sum(
            1
            for p in self._waiting
            if p.conn is not None
            and (
                name_key(p.awaits) == name_key(operator.name)
                if p.awaits
                else p.topic in operator.topics
            )
        )
        return DeskOnDuty(
            self._make_id(),
            reply_to,
            operator.name,
            sorted_topics(operator.topics),
            len(self._waiting),
            yours,
        )
