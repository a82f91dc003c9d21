"""The desk core's state (`DeskState`), given to each part; its records; what all parts say."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from msgspec import Struct, field

from registry.core.desk.actions import Close, ConnId, DeskSend, Emit, KeptPlace, Log
from registry.core.desk.estimate import Estimator
from registry.core.desk.limits import DeskSettings
from wire.desk.messages import DeskEnded, DeskJoin, DeskNotice, DeskOperator, DeskRefused
from wire.desk.phone import mask_phone, phone_key, scrub_phone
from wire.heartbeat import Heartbeat
from wire.names import name_key
from wire.refusals import RefusalCode
from wire.shown_text import clean
from wire.version import wire_refusal


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
    back: bool = False  # put back at the front (see registry.core.desk.line.Line.to_front)
    # after a restart: the name of the operator who was serving them, and until when the
    # two are kept for each other (see DeskQueue.restore)
    awaits: str = ""
    awaits_until: float = 0.0
    crisis: str = ""  # why they may be in danger (CRISIS_*), "" if nothing says so
    said: tuple[str, ...] = ()  # the lines of crisis typed while waiting (keep_said)
    alerted_at: float = float("-inf")  # when operators were last told of their words
    noticed_on: ConnId | None = None  # the connection the crisis notice was last sent on

    @property
    def masked(self) -> str:
        return mask_phone(self.phone)

    def waited(self, now: float) -> float:
        return max(0.0, now - self.joined - self.served)


class Operator(Struct, eq=False):
    """An operator on duty: serves `topics`, one person at a time."""

    conn: ConnId
    name: str
    topics: frozenset[int]
    free_since: float
    order: int  # tie-break between operators free since the same moment
    session: Conversation | None = None
    told_at: float = float("-inf")  # the last "... is waiting" notice
    untold: list[Person] = field(default_factory=list)  # arrivals held back since


class Conversation(Struct, eq=False):
    """A person served by an operator: a session of the desk."""

    id: str
    person: Person
    operator: Operator
    started: float
    heard: int = 0  # the person's lines received in the session (DeskEnded.heard)
    resumed: bool = False  # a conversation resumed after a restart: only its tail


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
        """Operators' keys `authorised` (key text -> name) go on duty as the operator key does."""
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
        self.order = itertools.count()  # tie-break of operators free since the same moment
        # -- what is kept on disk; after `restore`, the tokens not yet taken back, and until
        # when nobody is served (RESTART_SETTLE)
        self.kept: tuple[KeptPlace, ...] = ()
        self.restored: set[str] = set()
        self.settle_until = float("-inf")
        # -- between `hold` and `end_hold`: the operators whose `.end` came, and the
        # DeskQueued answers due (person, connection, reply_to, restored)
        self.holding = False
        self.ended_while_holding: set[ConnId] = set()
        self.answers_held: list[tuple[Person, ConnId, str, bool]] = []
        # -- notices due to operators once hand-overs are made (registry.core.desk.notices):
        # of who just joined, unless taken; to who just came on duty, of who may be in danger
        self.arrivals: list[Person] = []
        self.briefings: list[Operator] = []

    def sessions(self) -> list[Conversation]:
        return [o.session for o in self.operators.values() if o.session is not None]

    def session_of(self, person: Person) -> Conversation | None:
        return next((s for s in self.sessions() if s.person is person), None)

    def people(self) -> list[Person]:
        """Everyone who holds a place: waiting (held places included) or being served."""
        return self.waiting + [s.person for s in self.sessions()]

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

    def log(self, line: str, person: Person, emit: Emit) -> None:
        """`line` for the log, of `person`'s number scrubbed."""
        emit(Log(scrub_phone(clean(line), person.phone)))

    def log_operator(self, operator: Operator, what: str, emit: Emit) -> None:
        """`desk: operator ann <what>` for the log; not for the console, whose screen is the log."""
        if operator.conn in self.links:
            emit(Log(f"desk: operator {operator.name} {what}"))

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
