"""The desk core's state (`DeskState`), given to each part; its records; what all parts say;
the waiting line: positions, estimates, the order of those put back, what is said of it.

The wait estimate is smoothed as TCP smooths round trips (RFC 6298). An operator in a session
of `e` seconds is free in its topic's average minus `e`, never less than OVERRUN * e; nobody
further back is shown a shorter wait."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Annotated

from msgspec import Meta, Struct, field
from msgspec.structs import replace

from registry.core.desk.actions import Close, ConnId, DeskSend, Emit, Log
from registry.core.desk.limits import TYPICAL_SESSION, DeskSettings
from wire.desk.messages import (
    EST_KEPT,
    EST_MEASURED,
    EST_NOBODY,
    EST_TYPICAL,
    DeskEnded,
    DeskJoin,
    DeskNotice,
    DeskOnDuty,
    DeskOperator,
    DeskPosition,
    DeskQueued,
    DeskRefused,
    DeskRoom,
    RoomRow,
    WaitEstimate,
)
from wire.desk.phone import mask_phone, phone_key, scrub_phone
from wire.desk.text import TOPICS, topics_text
from wire.heartbeat import Heartbeat
from wire.names import name_key
from wire.refusals import RefusalCode
from wire.shown_text import clean
from wire.version import wire_refusal

#: Weight of the newest session length in the moving average: a quarter, so that the
#: last few sessions say most and one odd session does not swing the estimate.
ALPHA = 0.25
#: Sessions ended before their measured average is trusted (the typical length below this).
MIN_HISTORY = 3
#: What is left of a session that has lasted `e`, at least: OVERRUN * e, as for lengths
#: with a long tail (a Pareto law of shape 3, a fair model of talks and calls).
OVERRUN = 0.5


class Average(Struct, forbid_unknown_fields=True):
    """An exponentially weighted mean and mean deviation of session lengths, in seconds."""

    count: Annotated[int, Meta(ge=0)] = 0
    mean: Annotated[float, Meta(ge=0)] = 0.0
    dev: Annotated[float, Meta(ge=0)] = 0.0

    def add(self, sample: float) -> None:
        """Fold in one session length (the first seeds the mean, half of it the deviation)."""
        sample = max(0.0, sample)
        if self.count == 0:
            self.mean = sample
            self.dev = sample / 2
        else:
            self.dev = (1 - ALPHA) * self.dev + ALPHA * abs(sample - self.mean)
            self.mean = (1 - ALPHA) * self.mean + ALPHA * sample
        self.count += 1


def whole(kind: str, low: float = 0.0, high: float = 0.0) -> WaitEstimate:
    low_whole = max(0, int(low))
    return WaitEstimate(kind, low_whole, max(low_whole, int(-(-high // 1))))


#: What an operator able to serve the person is doing: None when idle, else the topic of
#: its session and how many seconds that session has lasted.
Busy = tuple[int, float] | None


class Estimator:
    def __init__(self, typical: float = TYPICAL_SESSION) -> None:
        """`typical`: the session length taken until MIN_HISTORY sessions ended."""
        if not 0 < typical < math.inf:
            raise ValueError("typical must be a finite number of seconds above 0")
        self.typical = Average(0, typical, typical / 2)
        self.overall = Average()
        self.by_topic: dict[int, Average] = {}

    def record(self, topic: int, seconds: float) -> None:
        self.by_topic.setdefault(topic, Average()).add(seconds)
        self.overall.add(seconds)

    @property
    def measured(self) -> bool:
        return self.overall.count >= MIN_HISTORY

    def average(self, topic: int) -> Average:
        own = self.by_topic.get(topic)
        if own is not None and own.count >= MIN_HISTORY:
            return own
        return self.overall if self.measured else self.typical

    def estimate(self, topic: int, ahead: int, operators: Sequence[Busy]) -> WaitEstimate:
        """The wait with `ahead` people before, one Busy per operator able to serve `topic`."""
        k = len(operators)
        if k == 0:
            return whole(EST_NOBODY)
        average = self.average(topic)
        remaining = min(self._remaining(busy) for busy in operators)
        share = max(0, ahead) / k
        point = remaining + share * average.mean
        # each person ahead adds no more doubt than their session's length: a deviation
        # wider than the mean must not pull the low end below that of someone ahead
        spread = average.dev + share * min(average.dev, average.mean)
        kind = EST_MEASURED if self.measured else EST_TYPICAL
        return whole(kind, point - spread, point + spread)

    def _remaining(self, busy: Busy) -> float:
        if busy is None:
            return 0.0
        session_topic, elapsed = busy
        elapsed = max(0.0, elapsed)
        return max(self.average(session_topic).mean - elapsed, OVERRUN * elapsed)

    def history(self) -> tuple[Average, dict[int, Average]]:
        return replace(self.overall), {t: replace(a) for t, a in sorted(self.by_topic.items())}

    def restore_history(self, overall: Average, by_topic: dict[int, Average]) -> None:
        self.overall = replace(overall)
        self.by_topic = {t: replace(a) for t, a in by_topic.items()}


class Person(Struct, eq=False):
    """Someone asking for help, waiting or being served."""

    token: str
    name: str
    phone: str  # normalised; leaves the core only towards the operator serving them
    topic: int
    description: str
    joined: float
    conn: ConnId | None
    address: str = ""  # the IP the person joined from (MAX_PER_ADDRESS), "" if unknown
    key: str = ""  # the public key of the client that joined (MAX_PER_KEY), "" if unknown
    held_until: float | None = None  # when a place held without a connection is given up
    shown: tuple[int, int] | None = None  # (position, operators) the person last saw
    pushed_at: float = float("-inf")
    due: float | None = None  # when a push held back by PUSH_INTERVAL may go
    served: float = 0.0  # seconds spent being served since joining: not waiting
    back: bool = False  # put back at the front (see DeskState.to_front)
    # after a restart: the name of the operator who was serving them, and until when the
    # two are kept for each other (see sessions.restore)
    awaits: str = ""
    awaits_until: float = 0.0
    crisis: str = ""  # why they may be in danger (CRISIS_*), "" if nothing says so
    said: tuple[str, ...] = ()  # the lines of crisis typed while waiting (keep_said)
    alerted_at: float = float("-inf")  # when operators were last told of their words
    noticed_on: ConnId | None = None  # the connection the crisis notice was last sent on

    @property
    def masked(self) -> str:
        return mask_phone(self.phone)

    def scrubbed(self, text: str) -> str:
        """`text` as shown, this person's number in it masked: for the log and transcripts."""
        return scrub_phone(clean(text), self.phone)

    def waited(self, now: float) -> float:
        return max(0.0, now - self.joined - self.served)


class Operator(Struct, eq=False):
    """An operator on duty: serves `topics`, one `person` at a time (None: nobody), in the
    desk's `session` since `started`."""

    conn: ConnId
    name: str
    topics: frozenset[int]
    free_since: float
    person: Person | None = None
    session: str = ""
    started: float = 0.0
    heard: int = 0  # the person's lines received in the session (DeskEnded.heard)
    resumed: bool = False  # a conversation resumed after a restart: only its tail
    told_at: float = float("-inf")  # the last "... is waiting" notice
    untold: list[Person] = field(default_factory=list)  # arrivals held back since


def may_take(operator: Operator, person: Person) -> bool:
    """Whether `operator` may be given `person`: the one kept for them, else one of their topic."""
    if person.awaits:
        return name_key(operator.name) == name_key(person.awaits)
    return person.topic in operator.topics


def name_for_log(person: Person) -> str:
    return f"{clean(person.name)} (phone {person.masked})"


class Link(Struct):
    """A connection told of by `DeskQueue.opened`, and its `beat` once it said anything."""

    address: str = ""
    key: str = ""
    beat: Heartbeat | None = None


class DeskState:
    def __init__(
        self,
        make_id: Callable[[], str],
        make_token: Callable[[], str],
        operator_key: str,
        authorised: dict[str, str] | None,
        settings: DeskSettings,
    ) -> None:
        """Operators' keys `authorised` (key text -> name) go on duty as the operator key."""
        self.make_id = make_id
        self.make_token = make_token
        self.operator_key = operator_key
        self.authorised: dict[str, str] = dict(authorised or {})
        self.settings = settings
        self.estimator = Estimator(typical=settings.typical_session)
        # -- who is here
        self.waiting: list[Person] = []  # in order, held places included (each its token)
        self.operators: dict[ConnId, Operator] = {}  # on duty, in the order they came
        self.conns: dict[ConnId, Person | Operator] = {}  # who has said who they are
        self.links: dict[ConnId, Link] = {}  # the connections told of by `opened`
        self.puzzles: dict[ConnId, tuple[str, int]] = {}  # (seed, bits) asked, see DeskWork
        # -- after `restore`, the tokens not yet taken back, and until when nobody is served
        # (RESTART_SETTLE)
        self.restored: set[str] = set()
        self.settle_until = float("-inf")
        # set by the adapter until `DeskQueue.end_hold`: nobody is handed over, no position nor
        # DeskQueued pushed, as other connections may have ended at once, unread yet (SIGSTOP)
        self.holding = False
        # -- due once hand-overs are made: the DeskQueued answers (person, connection,
        # reply_to, restored); to operators who typed `.end`, if given nobody; notices
        # (operators.tell) of who just joined, unless taken, and to who just came on duty, of
        # who may be in danger
        self.answers: list[tuple[Person, ConnId, str, bool]] = []
        self.ended: list[Operator] = []
        self.arrivals: list[Person] = []
        self.briefings: list[Operator] = []

    def serving(self) -> list[Operator]:
        return [o for o in self.operators.values() if o.person is not None]

    def serving_of(self, person: Person) -> Operator | None:
        return next((o for o in self.operators.values() if o.person is person), None)

    def people(self) -> list[Person]:
        """Everyone who holds a place: waiting (held places included) or being served."""
        return self.waiting + [o.person for o in self.operators.values() if o.person is not None]

    def operator_named(self, name: str) -> Operator | None:
        key = name_key(name)
        return next((o for o in self.operators.values() if name_key(o.name) == key), None)

    def source(self, conn: ConnId) -> Link:
        return self.links.get(conn) or Link()

    def with_phone(self, phone: str, key: str, address: str) -> Person | None:
        """The person with `phone` who joined from the same client key (else address)."""
        number = phone_key(phone)
        for person in self.people():
            same = person.key == key if key else person.address == address
            if same and phone_key(person.phone) == number:
                return person
        return None

    def paused(self, now: float) -> bool:
        return self.holding or (bool(self.restored) and now < self.settle_until)

    def new_token(self) -> str:
        token = self.make_token()
        while not token or any(p.token == token for p in self.waiting):
            token = self.make_token()
        return token

    def remove_waiting(self, person: Person) -> None:
        if person in self.waiting:
            self.waiting.remove(person)
        self.restored.discard(person.token)
        person.due = None

    def notice(self, conn: ConnId, text: str, emit: Emit) -> None:
        emit(DeskSend(conn, DeskNotice(self.make_id(), text)))

    def log(self, person: Person, what: str, emit: Emit) -> None:
        """`desk: Alice (phone *****23) <what>` to the log, the person's number masked."""
        emit(Log(person.scrubbed(f"desk: {name_for_log(person)} {what}")))

    def goodbye(self, conn: ConnId, said: str, why: str, emit: Emit) -> None:
        emit(DeskSend(conn, DeskEnded(self.make_id(), said, False, -1)))
        emit(Close(conn, why))

    def refuse(  # noqa: PLR0913 (what a refusal says, and to whom, and the log's line)
        self,
        conn: ConnId,
        reply_to: str,
        reason: str,
        emit: Emit,
        code: RefusalCode = RefusalCode.OTHER,
        log: Log | None = None,
    ) -> None:
        """Refuse `reply_to` on `conn`, saying `reason`, and close it; `log` (by default the reason,
        which must hold nothing from the request) to the log."""
        emit(log or Log(f"desk: refused: {reason}", reason))
        emit(DeskSend(conn, DeskRefused(self.make_id(), reply_to, reason, code)))
        emit(Close(conn, "refused: " + reason))

    def refuse_wire(
        self, conn: ConnId, msg: DeskJoin | DeskOperator, what: str, emit: Emit
    ) -> None:
        reason = wire_refusal(msg.wire, what)
        log = Log(f"desk: refused {clean(msg.name)!r}: {reason}", "desk: another version")
        self.refuse(conn, msg.id, reason, emit, RefusalCode.VERSION, log)

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
            serving = [o for o in self.operators.values() if topic in o.topics]
            able[topic] = len(serving)
            reach[topic] = frozenset().union(*(o.topics for o in serving))
        before: dict[int, int] = dict.fromkeys(TOPICS, 0)
        result = []
        for index, person in enumerate(self.waiting):
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
        waiting, index = self.waiting, 0
        while (
            index < len(waiting) and waiting[index].back and waiting[index].joined <= person.joined
        ):
            index += 1
        waiting.insert(index, person)

    def hold_place(self, person: Person, now: float) -> None:
        person.conn = None
        person.held_until = now + self.settings.grace
        person.shown = None
        person.due = None

    def estimate(
        self, topic: int, ahead: int, now: float, person: Person | None = None
    ) -> WaitEstimate:
        """The wait for `topic` with `ahead` people before (for `person`, when kept for one)."""
        if person is not None and person.awaits:
            return whole(EST_KEPT, 0.0, person.awaits_until - now)
        busy: list[Busy] = [
            None if o.person is None else (o.person.topic, now - o.started)
            for o in self.operators.values()
            if topic in o.topics
        ]
        return self.estimator.estimate(topic, ahead, busy)

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
            for p in self.waiting
        ]
        return DeskRoom(self.make_id(), reply_to, tuple(rows))

    def answer(self, person: Person, reply_to: str, *, restored: bool) -> None:
        """Tell `person` where they stand (DeskQueued) once hand-overs are made."""
        assert person.conn is not None
        self.answers.append((person, person.conn, reply_to, restored))

    def tell_queued(self, now: float, emit: Emit) -> None:
        """The answers due, to those still on the connection they were for."""
        answers, self.answers = self.answers, []
        for person, conn, reply_to, restored in answers:
            if person.conn != conn or self.conns.get(conn) is not person:
                continue
            if person in self.waiting:
                position, k = self.position(person)
                est = self._shown(person, position, k, now)
            else:  # served at once
                position, k, est = 0, 1, whole(EST_MEASURED)  # (position 0: not shown)
            queued = DeskQueued(
                self.make_id(), reply_to, person.token, person.topic, position, k,
                int(self.settings.grace), restored, est,
            )  # fmt: skip
            emit(DeskSend(conn, queued))

    def push(self, now: float, emit: Emit) -> None:
        """Push the positions that changed, each at most every push_interval (else `due` then)."""
        for person, position, k in self.positions():
            if person.conn is None:
                continue
            if person.shown == (position, k):
                person.due = None
                continue
            if now < person.pushed_at + self.settings.push_interval:
                person.due = person.pushed_at + self.settings.push_interval
                continue
            est = self._shown(person, position, k, now)
            waited = int(person.waited(now))
            emit(DeskSend(person.conn, DeskPosition(self.make_id(), "", position, k, waited, est)))

    def _shown(self, person: Person, position: int, k: int, now: float) -> WaitEstimate:
        person.shown, person.pushed_at, person.due = (position, k), now, None
        return self.estimate(person.topic, position - 1, now, person)

    def on_duty(self, operator: Operator, what: str, reply_to: str, emit: Emit) -> None:
        """Answer `reply_to` with the topics `operator` serves and who waits; `desk: operator ann
        <what>` (`{}`: the topics) to the log, not for the console, whose screen is the log."""
        topics = tuple(sorted(operator.topics))
        if operator.conn in self.links:
            emit(Log(f"desk: operator {operator.name} {what.format(topics_text(topics))}"))
        yours = sum(1 for p in self.waiting if p.conn is not None and may_take(operator, p))
        told = DeskOnDuty(self.make_id(), reply_to, operator.name, topics, len(self.waiting), yours)
        emit(DeskSend(operator.conn, told))
