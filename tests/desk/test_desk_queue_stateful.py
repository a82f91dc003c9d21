"""A hypothesis state machine over the help desk's queue: random joins, drops, reconnections,
leaves, ends, operators coming and going and changing topics, and time passing; after every
step the waiting room's invariants must hold (docs/DESK.md: a property test over
every state and input)."""

from __future__ import annotations

import itertools

from desk_harness import Desk
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from registry.core.desk.state import Operator, Person
from tests.hypothesis_profiles import examples
from wire.desk.messages import (
    DeskEnded,
    DeskMessage,
    DeskPosition,
    DeskQueued,
    DeskRefused,
    DeskServed,
)

PEOPLE = [f"P{i}" for i in range(8)]
PHONE = {name: f"+1 555 010 {i:04d}" for i, name in enumerate(PEOPLE)}
topics_st = st.lists(st.integers(1, 6), max_size=6).map(lambda t: tuple(sorted(set(t))))

MAX_WAITING = 5
DANGER_ROOM = 3
PUSH = 1.0


class DeskMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.desk = Desk(
            grace=30.0, max_waiting=MAX_WAITING, danger_room=DANGER_ROOM, push_interval=PUSH
        )
        self.conns = itertools.count(1)
        self.live: dict[str, str] = {}  # conn -> person or operator name, while open
        self.tokens: dict[str, str] = {}  # person -> last token they were given
        self.dropped: set[str] = set()  # connections we broke ourselves
        self.seen = 0  # messages of desk.inbox already checked per conn
        self.checked: dict[str, int] = {}

    # -- helpers --------------------------------------------------------------------------

    def new_conn(self) -> str:
        return f"k{next(self.conns)}"

    def step(self, action: object) -> None:
        """Run one event, checking first-come-first-served for whoever it served."""
        queue = self.desk.queue
        before = list(queue.state.waiting)
        sessions_before = {id(s) for s in queue.state.serving()}
        action()  # type: ignore[operator]
        for session in queue.state.serving():
            if id(session) in sessions_before or session.person not in before:
                continue
            operator, person = session, session.person
            assert person is not None
            for earlier in before[: before.index(person)]:
                assert not (
                    earlier in queue.state.waiting
                    and earlier.conn is not None
                    and earlier.topic in operator.topics
                ), f"{operator.name} took {person.name} before {earlier.name}"
        self.forget_closed()
        self.collect_tokens()

    def forget_closed(self) -> None:
        for conn in list(self.live):
            if conn in self.desk.closed:
                del self.live[conn]

    def collect_tokens(self) -> None:
        for conn, name in self.live.items():
            for message in self.desk.inbox[conn]:
                if isinstance(message, DeskQueued):
                    self.tokens[name] = message.token

    def person_conns(self) -> list[str]:
        return sorted(c for c, n in self.live.items() if n in PHONE)

    def operator_conns(self) -> list[str]:
        return sorted(c for c, n in self.live.items() if n not in PHONE)

    # -- rules ----------------------------------------------------------------------------

    @rule(who=st.sampled_from(PEOPLE), topic=st.integers(1, 6))
    def join(self, who: str, topic: int) -> None:
        conn = self.new_conn()
        self.live[conn] = who
        # a person in danger (topic 1) has DANGER_ROOM places more than anyone else
        room = MAX_WAITING + (DANGER_ROOM if topic == 1 else 0)
        full = len(self.desk.queue.state.waiting) >= room
        self.step(lambda: self.desk.join(conn, who, phone=PHONE[who], topic=topic))
        if full:
            # A full room refuses newcomers, with the reason (a person put back in front
            # by a lost operator is not a newcomer and may take the room past the limit).
            assert self.desk.of(conn, DeskRefused) and not self.desk.of(conn, DeskQueued)
        # without its token nobody takes a held place back, whatever number it brings
        assert not any(m.restored for m in self.desk.of(conn, DeskQueued))

    @rule(who=st.sampled_from(PEOPLE), topic=st.integers(1, 6))
    def come_back(self, who: str, topic: int) -> None:
        token = self.tokens.get(who, "")
        conn = self.new_conn()
        self.live[conn] = who
        self.step(lambda: self.desk.join(conn, who, phone=PHONE[who], topic=topic, token=token))

    @rule(index=st.integers(0, 3), topics=topics_st)
    def operator_on(self, index: int, topics: tuple[int, ...]) -> None:
        conn = self.new_conn()
        self.live[conn] = f"op{index}"
        self.step(lambda: self.desk.operator(conn, f"op{index}", topics))

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def drop(self, data: st.DataObject) -> None:
        conn = data.draw(st.sampled_from(sorted(self.live)))
        del self.live[conn]
        self.dropped.add(conn)
        self.step(lambda: self.desk.drop(conn))

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def drop_together(self, data: st.DataObject) -> None:
        """Several connections end at once (a registry resumed after SIGSTOP): the adapter
        holds hand-overs while it reads them, and nobody goes to anyone gone."""
        conns = data.draw(st.lists(st.sampled_from(sorted(self.live)), min_size=1, unique=True))
        queue = self.desk.queue
        queue.state.holding = True
        sessions = len(queue.state.serving())
        for conn in conns:
            del self.live[conn]
            self.dropped.add(conn)
            self.step(lambda conn=conn: self.desk.drop(conn))
        assert len(queue.state.serving()) <= sessions, "nobody is handed over while holding"
        self.step(lambda: self.desk.apply(queue.end_hold(self.desk.now)))

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def leave(self, data: st.DataObject) -> None:
        conn = data.draw(st.sampled_from(sorted(self.live)))
        self.step(lambda: self.desk.leave(conn))

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def end(self, data: st.DataObject) -> None:
        conn = data.draw(st.sampled_from(sorted(self.live)))
        self.step(lambda: self.desk.end(conn))

    @precondition(lambda self: self.live)
    @rule(data=st.data(), text=st.sampled_from(["hi", "", "x" * 3000]))
    def say(self, data: st.DataObject, text: str) -> None:
        conn = data.draw(st.sampled_from(sorted(self.live)))
        self.step(lambda: self.desk.say(conn, text))

    @precondition(lambda self: self.person_conns())
    @rule(data=st.data())
    def ask(self, data: st.DataObject) -> None:
        conn = data.draw(st.sampled_from(self.person_conns()))
        self.step(lambda: self.desk.ask(conn))

    @precondition(lambda self: self.operator_conns())
    @rule(data=st.data(), topics=topics_st)
    def serve(self, data: st.DataObject, topics: tuple[int, ...]) -> None:
        conn = data.draw(st.sampled_from(self.operator_conns()))
        self.step(lambda: self.desk.serve(conn, topics))

    @rule(seconds=st.sampled_from([0.1, 0.5, 1.0, 5.0, 29.0, 31.0]))
    def wait(self, seconds: float) -> None:
        self.step(lambda: self.desk.advance(seconds))
        wake = self.desk.queue.next_wake()
        assert wake is None or wake > self.desk.now

    # -- invariants -----------------------------------------------------------------------

    @invariant()
    def everyone_is_in_one_place(self) -> None:
        queue = self.desk.queue
        waiting = list(queue.state.waiting)
        served = [s.person for s in queue.state.serving()]
        assert len(set(map(id, waiting))) == len(waiting)
        assert not set(map(id, waiting)) & set(map(id, served))
        assert len({p.token for p in waiting}) == len(waiting)  # a token holds one place
        operators = queue.state.serving()
        assert len(set(map(id, operators))) == len(operators)
        # a number may hold more than one place: without its token, a join is a place of
        # its own, and the held one goes back only with its token (test_desk_admission
        # bounds how many one source holds)

    @invariant()
    def no_free_operator_while_someone_it_serves_waits(self) -> None:
        queue = self.desk.queue
        for operator in queue.state.operators.values():
            if operator.person is None:
                for person in queue.state.waiting:
                    assert person.conn is None or person.topic not in operator.topics

    @invariant()
    def positions_are_consistent(self) -> None:
        queue = self.desk.queue
        last: dict[int, int] = {}
        for index, person in enumerate(queue.state.waiting):
            position, k = queue.state.position(person)
            assert 1 <= position <= index + 1
            assert position > last.get(person.topic, 0), "same topic, strictly later"
            last[person.topic] = position
            assert k == sum(person.topic in o.topics for o in queue.state.operators.values())
            if person.conn is not None and person.shown != (position, k):
                assert person.due is not None and person.due <= self.desk.now + PUSH

    @invariant()
    def the_places_kept_on_disk_are_everyone_with_a_place(self) -> None:
        # what a registry stopped at this moment would hold at its next start: everyone
        # served (who would be put back at the front) with those put back already, in the
        # order they joined, then the rest of the waiting room, in order
        queue = self.desk.queue
        waiting = list(queue.state.waiting)
        front = [s.person for s in queue.state.serving()] + [p for p in waiting if p.back]
        front.sort(key=lambda person: person.joined)
        people = front + [p for p in waiting if not p.back]
        assert [p.token for p in self.desk.kept] == [p.token for p in people]

    @invariant()
    def people_put_back_wait_first_in_the_order_they_joined(self) -> None:
        waiting = list(self.desk.queue.state.waiting)
        back = [p for p in waiting if p.back]
        assert waiting[: len(back)] == back
        assert [p.joined for p in back] == sorted(p.joined for p in back)

    @invariant()
    def messages_are_sane(self) -> None:
        for conn, timed in self.desk.sent_at.items():
            last_push: float | None = None
            for at, message in timed:
                check_estimate(message)
                if isinstance(message, DeskQueued):
                    last_push = at
                elif isinstance(message, DeskPosition) and not message.reply_to:  # a push
                    assert last_push is None or at - last_push >= PUSH - 1e-9, conn
                    last_push = at

    @invariant()
    def nobody_is_dropped_silently(self) -> None:
        queue = self.desk.queue
        for conn in self.desk.closed:
            if conn in self.dropped:
                continue
            last = self.desk.inbox[conn][-1] if self.desk.inbox[conn] else None
            assert isinstance(last, DeskEnded | DeskRefused), (conn, last)
        # A person the queue forgot was told why, or broke the connection themselves.
        for conn in self.live:
            entity = queue.state.conns.get(conn)
            assert entity is None or isinstance(entity, Person | Operator)
            if isinstance(entity, Person):
                assert entity in queue.state.waiting or any(
                    s.person is entity for s in queue.state.serving()
                )
                if entity not in queue.state.waiting:
                    assert self.desk.of(conn, DeskServed) or self.desk.of(conn, DeskQueued)


def check_estimate(message: DeskMessage) -> None:
    if isinstance(message, DeskQueued | DeskPosition):
        assert 0 <= message.estimate.low <= message.estimate.high


DeskMachine.TestCase.settings = settings(
    max_examples=examples(30),
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_desk_queue_state_machine = DeskMachine.TestCase
