"""The state of the help desk's core and what every part of it shares: who is waiting,
on duty and connected, the places to keep on disk, and how a line is logged, noticed or
refused.

The parts are layers over it, each a class of its own module: the waiting line
(`registry.desk.line`), sessions (`sessions`), places kept across a restart (`restart`),
people who may be in danger (`danger`), the waiting room's notices to operators
(`notices`), joins (`joins`), operators (`operators`) and a person's messages (`persons`),
all joined in `registry.desk.queue.DeskQueue`, which takes the events.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TypedDict, Unpack

from net.options import check_options
from registry.desk.actions import Action, Close, ConnId, KeepPlaces, KeptPlace, Log, Send
from registry.desk.admission import Limits
from registry.desk.estimate import Estimator
from registry.desk.limits import (
    DANGER_ROOM,
    GRACE,
    MAX_PER_ADDRESS,
    MAX_PER_KEY,
    MAX_WAITING,
    PUSH_INTERVAL,
    RECLAIM_WINDOW,
)
from registry.desk.people import Operator, Person, Session
from wire.desk.messages import HEARTBEAT, DeskJoin, DeskNotice, DeskOperator, DeskRefused
from wire.desk.phone import phone_key, scrub_phone
from wire.desk.text import DEFAULT_CRISIS_NOTICE
from wire.heartbeat import Heartbeat
from wire.refusals import RefusalCode
from wire.shown_text import clean
from wire.version import wire_refusal


class QueueOptions(TypedDict, total=False):
    """What a desk may be given beyond its ids and its operator key. Each has a default:
    the crisis notice DEFAULT_CRISIS_NOTICE; the limits of registry.desk.limits (`grace`
    GRACE, `max_waiting` MAX_WAITING, `max_per_address` MAX_PER_ADDRESS, `max_per_key`
    MAX_PER_KEY, `danger_room` DANGER_ROOM, `push_interval` PUSH_INTERVAL,
    `reclaim_window` RECLAIM_WINDOW); a new `Estimator`; `heartbeat` HEARTBEAT; and no
    operators' keys `authorised` before (key text -> name)."""

    crisis_notice: str
    grace: float
    max_waiting: int
    max_per_address: int
    max_per_key: int
    danger_room: int
    push_interval: float
    reclaim_window: float
    estimator: Estimator | None
    heartbeat: float
    authorised: dict[str, str] | None


class DeskState:
    """The desk's state, and the helpers every layer uses."""

    def __init__(
        self,
        *,
        make_id: Callable[[], str],
        make_token: Callable[[], str],
        operator_key: str,
        **options: Unpack[QueueOptions],
    ) -> None:
        """Only a `DeskOperator` carrying `operator_key`, or coming from a public key in
        `authorised` (key text -> name), goes on duty; the first carries its key into
        `authorised`. The connections told of by `opened` are asked for a sign of life
        after `heartbeat` seconds of silence, and taken as lost after twice that. Raises
        ValueError for a negative `grace` or `push_interval`, a `heartbeat` not above 0, a
        `max_waiting`, `max_per_address` or `max_per_key` below 1, or a negative
        `danger_room`."""
        self._configure(options)
        self._make_id = make_id
        self._make_token = make_token
        self._operator_key = operator_key
        self._conn_keys: dict[ConnId, str] = {}  # the public key each connection came with
        # the connections watched for silence (see `_heartbeats`)
        self._beats: dict[ConnId, Heartbeat] = {}
        self._waiting: list[Person] = []
        self._tokens: dict[str, Person] = {}
        self._operators: dict[ConnId, Operator] = {}
        self._conns: dict[ConnId, Person | Operator] = {}
        self._addresses: dict[ConnId, str] = {}  # where each connection comes from, if told
        # the puzzle (seed, bits) each connection was asked to solve (DeskWork), once
        self._puzzles: dict[ConnId, tuple[str, int]] = {}
        self._order = itertools.count()
        self._kept: tuple[KeptPlace, ...] = ()  # the places on disk (KeepPlaces)
        # after `restore`: tokens of kept places not yet taken back, until when nobody is
        # served while some are (RESTART_SETTLE), and when those are given up
        # (RECLAIM_WINDOW)
        self._restored: set[str] = set()
        self._settle_until = float("-inf")
        self._reclaim_by = float("-inf")
        # between `hold` and `release` nobody is handed over; the operators whose `.end`
        # came meanwhile are told at `release` whether anyone waits for them
        self._holding = False
        self._ended_while_holding: set[ConnId] = set()
        # the DeskQueued answers due meanwhile, sent at `release` with the figures then
        # (person, the connection it was for, what it answers, whether a place came back)
        self._answers_held: list[tuple[Person, ConnId, str, bool]] = []
        # the notices of the waiting room due to operators, sent once hand-overs are made
        # (registry.desk.notices): people who joined, operators who came on duty
        self._arrivals: list[Person] = []
        self._briefings: list[Operator] = []

    def _configure(self, options: QueueOptions) -> None:
        """Check `options` (see `__init__`) and take them, each or its default."""
        check_options("DeskQueue", options, QueueOptions)
        grace = options.get("grace", GRACE)
        push_interval = options.get("push_interval", PUSH_INTERVAL)
        danger_room = options.get("danger_room", DANGER_ROOM)
        max_waiting = options.get("max_waiting", MAX_WAITING)
        max_per_address = options.get("max_per_address", MAX_PER_ADDRESS)
        max_per_key = options.get("max_per_key", MAX_PER_KEY)
        heartbeat = options.get("heartbeat", HEARTBEAT)
        if grace < 0 or push_interval < 0 or danger_room < 0:
            raise ValueError("grace, push_interval and danger_room must be >= 0")
        if min(max_waiting, max_per_address, max_per_key) < 1:
            raise ValueError("max_waiting, max_per_address and max_per_key must be >= 1")
        if not heartbeat > 0:
            raise ValueError("heartbeat must be > 0")
        #: Operators' public keys authorised by the operator key, shown once (key -> name).
        self.authorised: dict[str, str] = dict(options.get("authorised") or {})
        self.crisis_notice = options.get("crisis_notice", DEFAULT_CRISIS_NOTICE)
        self.grace = grace
        self.max_waiting = max_waiting
        self.max_per_address = max_per_address
        self.limits = Limits(max_per_key, max_per_address, max_waiting, danger_room)
        self.push_interval = push_interval
        self.reclaim_window = options.get("reclaim_window", RECLAIM_WINDOW)  # tests shorten it
        self.estimator = options.get("estimator") or Estimator()
        self.heartbeat = heartbeat

    # -- read-only views (for the adapter, the console and tests) --------------------------

    @property
    def waiting(self) -> tuple[Person, ...]:
        """The waiting room in order, held places included."""
        return tuple(self._waiting)

    @property
    def operators(self) -> tuple[Operator, ...]:
        """Operators on duty, in the order they came."""
        return tuple(self._operators.values())

    @property
    def sessions(self) -> tuple[Session, ...]:
        """Sessions in progress."""
        return tuple(o.session for o in self._operators.values() if o.session is not None)

    def knows(self, conn: ConnId) -> bool:
        """Whether `conn` has said who it is and has not left."""
        return conn in self._conns

    def on(self, conn: ConnId) -> Person | Operator | None:
        """The person or operator on connection `conn`, or None (not yet said who it is,
        or gone)."""
        return self._conns.get(conn)

    def place_tokens(self) -> frozenset[str]:
        """The tokens a returning person may ask a place back with: one per person waiting
        (held places included)."""
        return frozenset(self._tokens)

    def serving(self, conn: ConnId) -> bool:
        """Whether operator `conn` is in a session now."""
        entity = self._conns.get(conn)
        return isinstance(entity, Operator) and entity.session is not None

    def opened(self, conn: ConnId, address: str, key: str = "") -> None:
        """Connection `conn` comes from IP `address` with the public `key` (wire.keys text;
        "" when none): a person joining on it counts against that address's places
        (MAX_PER_ADDRESS; "" when unknown), and is watched for silence once it says who it
        is (see `heartbeat`). A connection never opened (the registry's console) is
        neither limited nor watched."""
        self._addresses[conn] = address
        if key:
            self._conn_keys[conn] = key

    def session_of(self, conn: ConnId) -> str:
        """The id of the session the operator or person on `conn` is in, or "" (none)."""
        operator = self._operators.get(conn)
        if operator is not None:
            return operator.session.id if operator.session else ""
        person = self._conns.get(conn)
        session = self._session_of(person) if isinstance(person, Person) else None
        return session.id if session else ""

    def _session_of(self, person: Person) -> Session | None:
        for operator in self._operators.values():
            if operator.session is not None and operator.session.person is person:
                return operator.session
        return None

    def _people(self) -> list[Person]:
        """Everyone who holds a place: waiting (held places included) or being served."""
        return self._waiting + [s.person for s in self.sessions]

    def _with_phone(self, phone: str, key: str, address: str) -> Person | None:
        """The person waiting or served with `phone` (however it is written: `phone_key`)
        who joined from the same source: the client key `key` when known, else `address`."""
        number = phone_key(phone)
        for person in self._people():
            same = person.key == key if key else person.address == address
            if same and phone_key(person.phone) == number:
                return person
        return None

    def _handing_over_paused(self, now: float) -> bool:
        """Whether nobody may be handed over now: between `hold` and `release`, and just
        after a restart until the people whose places were kept are back (RESTART_SETTLE)."""
        return self._holding or (bool(self._restored) and now < self._settle_until)

    def _places(self) -> tuple[KeptPlace, ...]:
        # those being served would be put back at the front: with the others put back, in
        # the order they joined (see _to_front); `joined` as kept leaves out time served,
        # so that waits go on counting right after a restart, and `served` with `back`
        # keeps their order among themselves when more are put back after it
        front = [s.person for s in self.sessions] + [p for p in self._waiting if p.back]
        front.sort(key=lambda person: person.joined)
        rest = [p for p in self._waiting if not p.back]
        sessions = {s.person: s for s in self.sessions}
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

    def _keep(self) -> list[Action]:
        """A KeepPlaces when who holds a place has changed since the last one."""
        places = self._places()
        if places == self._kept:
            return []
        self._kept = places
        return [KeepPlaces(places)]

    def _remove_waiting(self, person: Person) -> None:
        if person in self._waiting:
            self._waiting.remove(person)
        self._tokens.pop(person.token, None)
        self._restored.discard(person.token)
        person.due = None

    def _new_token(self) -> str:
        token = self._make_token()
        while not token or token in self._tokens:
            token = self._make_token()
        return token

    def _notice(self, conn: ConnId, text: str) -> Send:
        return Send(conn, DeskNotice(self._make_id(), text))

    def _log(self, line: str, person: Person) -> Log:
        # A name or a description may hold the number itself: scrub whatever is logged.
        return Log(scrub_phone(clean(line), person.phone))

    def _log_operator(self, operator: Operator, what: str) -> list[Action]:
        """`desk: operator ann <what>` for the log, but for the registry's console (on a
        connection never `opened`): the log is printed on that same console, just after
        the DeskOnDuty that says the same, and twice is once too many."""
        if operator.conn not in self._addresses:
            return []
        return [Log(f"desk: operator {operator.name} {what}")]

    def _refuse(
        self,
        conn: ConnId,
        reply_to: str,
        reason: str,
        code: RefusalCode = RefusalCode.OTHER,
        log: Log | None = None,
    ) -> list[Action]:
        """Refuse the connection `conn` what it asked for in `reply_to`, saying `reason`,
        and close it. The registry's log is told by `log`, a refusal of its kind (by
        default the reason, which must then hold no text from the request, is both)."""
        return [
            log or Log(f"desk: refused: {reason}", reason),
            Send(conn, DeskRefused(self._make_id(), reply_to, reason, code)),
            Close(conn, "refused: " + reason),
        ]

    def _other_wire(self, conn: ConnId, msg: DeskJoin | DeskOperator, what: str) -> list[Action]:
        """Refuse `msg`, from a client (`what`) of another version of the wire."""
        reason = wire_refusal(msg.wire, what)
        log = Log(f"desk: refused {clean(msg.name)!r}: {reason}", "desk: another version")
        return self._refuse(conn, msg.id, reason, RefusalCode.VERSION, log)
