"""The waiting line: positions, estimates, the order of those put back, what is said of it."""

from __future__ import annotations

import math

from registry.core.desk.actions import DeskSend, Emit
from registry.core.desk.estimate import Busy, whole
from registry.core.desk.state import DeskState, Operator, Person, may_take
from wire.desk.messages import (
    EST_KEPT,
    EST_MEASURED,
    DeskOnDuty,
    DeskPosition,
    DeskQueued,
    DeskRoom,
    RoomRow,
    WaitEstimate,
)
from wire.desk.text import TOPICS


class Line:
    def __init__(self, s: DeskState) -> None:
        self._s = s

    def position(self, person: Person) -> tuple[int, int]:
        for p, position, k in self.positions():
            if p is person:
                return position, k
        raise ValueError("not waiting")

    def positions(self) -> list[tuple[Person, int, int]]:
        """(person, position, operators able to serve) for everyone waiting, in order: a position
        counts those ahead who compete for the same operators (all, while nobody serves)."""
        reach: dict[int, frozenset[int]] = {}
        able: dict[int, int] = {}
        for topic in TOPICS:
            serving = [o for o in self._s.operators.values() if topic in o.topics]
            able[topic] = len(serving)
            reach[topic] = frozenset().union(*(o.topics for o in serving))
        before: dict[int, int] = dict.fromkeys(TOPICS, 0)
        result = []
        for index, person in enumerate(self._s.waiting):
            competitors = reach.get(person.topic, frozenset())
            ahead = sum(before[t] for t in competitors) if competitors else index
            # kept for one operator after a restart: that one serves them, nobody else
            # (they still count ahead of the others: should it not be back in time, they
            # go to the next free operator from where they are)
            able_now = 1 if person.awaits else able.get(person.topic, 0)
            result.append((person, ahead + 1, able_now))
            before[person.topic] = before.get(person.topic, 0) + 1
        return result

    def to_front(self, person: Person) -> None:
        """Put `person` at the front, among the others put back, in the order they joined."""
        person.back = True
        waiting, index = self._s.waiting, 0
        while (
            index < len(waiting) and waiting[index].back and waiting[index].joined <= person.joined
        ):
            index += 1
        waiting.insert(index, person)

    def hold_place(self, person: Person, now: float) -> None:
        person.conn = None
        person.held_until = now + self._s.settings.grace
        person.shown = None
        person.due = None

    def estimate(
        self, topic: int, ahead: int, now: float, person: Person | None = None
    ) -> WaitEstimate:
        """The wait for `topic` with `ahead` people before (for `person`, when kept for one)."""
        if person is not None and person.awaits:
            return whole(EST_KEPT, 0.0, person.awaits_until - now)
        busy: list[Busy] = [
            None if o.session is None else (o.session.person.topic, now - o.session.started)
            for o in self._s.operators.values()
            if topic in o.topics
        ]
        return self._s.estimator.estimate(topic, ahead, busy)

    def room(self, reply_to: str, now: float) -> DeskRoom:
        rows = [
            RoomRow(
                p.name,
                p.topic,
                p.masked,
                int(p.waited(now)),
                p.conn is not None,
                p.crisis,
                p.awaits,
                math.ceil(max(0.0, p.awaits_until - now)) if p.awaits else 0,
            )
            for p in self._s.waiting
        ]
        return DeskRoom(self._s.make_id(), reply_to, tuple(rows))

    def tell_queued(
        self, person: Person, reply_to: str, now: float, emit: Emit, *, restored: bool
    ) -> None:
        """Tell `person` where they stand (DeskQueued), or at `end_hold` while held."""
        assert person.conn is not None
        s = self._s
        if s.holding:
            s.answers_held.append((person, person.conn, reply_to, restored))
            return
        if person in s.waiting:
            position, k = self.position(person)
            est = self._shown(person, position, k, now)
        else:  # served at once
            position, k, est = 0, 1, whole(EST_MEASURED)  # (position 0: not shown)
        queued = DeskQueued(
            s.make_id(), reply_to, person.token, person.topic, position, k, int(s.settings.grace),
            restored, est,
        )  # fmt: skip
        emit(DeskSend(person.conn, queued))

    def held_answers(self, now: float, emit: Emit) -> None:
        """The answers held, to those still on the connection they were for."""
        held, self._s.answers_held = self._s.answers_held, []
        for person, conn, reply_to, restored in held:
            if person.conn == conn and self._s.conns.get(conn) is person:
                self.tell_queued(person, reply_to, now, emit, restored=restored)

    def push(self, now: float, emit: Emit) -> None:
        """Push the positions that changed, each at most every push_interval (else `due` then)."""
        for person, position, k in self.positions():
            if person.conn is None:
                continue
            if person.shown == (position, k):
                person.due = None
                continue
            if now < person.pushed_at + self._s.settings.push_interval:
                person.due = person.pushed_at + self._s.settings.push_interval
                continue
            est = self._shown(person, position, k, now)
            waited = int(person.waited(now))
            emit(
                DeskSend(person.conn, DeskPosition(self._s.make_id(), "", position, k, waited, est))
            )

    def _shown(self, person: Person, position: int, k: int, now: float) -> WaitEstimate:
        person.shown, person.pushed_at, person.due = (position, k), now, None
        return self.estimate(person.topic, position - 1, now, person)

    def on_duty(self, operator: Operator, reply_to: str) -> DeskOnDuty:
        yours = sum(1 for p in self._s.waiting if p.conn is not None and may_take(operator, p))
        return DeskOnDuty(
            self._s.make_id(),
            reply_to,
            operator.name,
            tuple(sorted(operator.topics)),
            len(self._s.waiting),
            yours,
        )
