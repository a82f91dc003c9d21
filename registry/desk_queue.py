"""The help desk's waiting room as a sans-IO state machine (issue 4, seed 000).

`DeskQueue` knows people waiting for help, operators on duty and the sessions between
them. It never touches a socket, a clock or a file: every method takes an event with
`now` (seconds on a monotonic clock) and returns the actions for the adapter to carry out
in order: frames to send to a connection, connections to close, log lines, transcript
records. `next_wake()` says when `timer(now)` must be called next (grace periods running
out, position pushes held back by the once-a-second limit).

Connections are named by opaque ids the adapter chooses. The first message of a
connection says who it is: `DeskJoin` (a person) or `DeskOperator` (an operator). The
registry's own console is an operator like any other, on a connection id of its own.

Rules, as the issue states them and as decided where it was silent (docs/DESK.md):

- The waiting room is one first-come-first-served list. When an operator is free, the
  earliest connected person whose topic it serves goes to it; a person who could go to
  several free operators goes to the one free the longest.
- A person's position counts the people ahead who compete for the same operators: those
  whose topic some operator serving this person's topic also serves. While nobody serves
  the person's topic, everyone ahead counts. With operators that serve every topic (the
  usual case) this is the plain place in the line.
- A waiting person whose connection breaks keeps the place for `grace` seconds; a
  `DeskJoin` carrying the token takes it back with the position unchanged. A held place
  is skipped when serving (an operator never waits for someone who is not there), so the
  person finds themselves still first, or served as soon as they are back.
- A session ends when either side ends it or the person's connection breaks; both sides
  are told and the operator takes the next person. A person whose connection broke while
  being served keeps a place at the front for `grace` seconds, taken back with the token
  like any held place (a blip of the network is not the end of their call). When the
  operator's connection breaks the person goes back to the front of the waiting room
  instead: it was not their doing.
- Nobody is dropped silently: every refusal and every end is a message with a reason.
- A connection is alive only while it answers: one silent for `heartbeat` seconds is asked
  for a sign of life (`DeskPing`), and one silent for twice as long is closed and taken as
  lost, exactly as if it had broken (a stopped process keeps its TCP connection open).
"""

from __future__ import annotations

import ipaddress
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from registry.desk_actions import (
    Action,
    Close,
    ConnId,
    KeepPlaces,
    KeptPlace,
    Log,
    Send,
    SessionEnded,
    SessionLine,
    SessionStarted,
)
from registry.desk_estimate import Busy, Estimate, Estimator
from registry.desk_key import key_matches
from wire.desk import (
    CRISIS_WAITING,
    EST_KEPT,
    HEARTBEAT,
    DeskCrisis,
    DeskEnd,
    DeskEnded,
    DeskFirst,
    DeskGiveUp,
    DeskJoin,
    DeskLeave,
    DeskLine,
    DeskMessage,
    DeskNotice,
    DeskOnDuty,
    DeskOperator,
    DeskPing,
    DeskPong,
    DeskPosition,
    DeskQueued,
    DeskQueueInfo,
    DeskQueueRequest,
    DeskRefused,
    DeskRoom,
    DeskRoomRequest,
    DeskServe,
    DeskServed,
    DeskSession,
)
from wire.desk_text import (
    ALREADY_ON_DUTY,
    CRISIS_REASONS,
    DANGER_MARK,
    DEFAULT_CRISIS_NOTICE,
    MAX_DESCRIPTION,
    MAX_DESK_LINE,
    MAX_PERSON_NAME,
    TOPICS,
    crisis_reason,
    format_duration,
    format_estimate,
    keep_said,
    mask_numbers,
    mask_phone,
    name_problem,
    normalise_phone,
    phone_key,
    phone_problem,
    scrub_phone,
    speaks_of_crisis,
    stronger_crisis,
    topic_label,
    topics_text,
)
from wire.heartbeat import Beat, Heartbeat
from wire.names import name_key
from wire.names import name_problem as operator_name_problem
from wire.shown_text import clean
from wire.version import WIRE_VERSION, wire_refusal

#: Most people in the waiting room, places held after a lost connection included. A
#: newcomer beyond it is refused with the reason and the current estimate; the bound keeps
#: a flood of connections from growing the registry's memory and everyone's wait.
MAX_WAITING = 50
#: Most places in the waiting room held from one address (held places included): a script
#: on one computer cannot fill the room of MAX_WAITING and keep everyone else out.
#: Loopback is exempt: whoever runs it shares the registry's own machine (and tests do).
MAX_PER_ADDRESS = 5
#: Seconds a waiting person's place is kept after their connection breaks.
GRACE = 120.0
#: Seconds, at most, a restarted desk waits for the people whose places it kept (see
#: `restore`) to reconnect before it serves anyone. Their clients all lost the connection
#: at the same moment and retry on the same backoff (up to 4 s apart), so who reconnects
#: first is chance; serving whoever did would let them pass the people ahead of them.
RESTART_SETTLE = 5.0
#: Seconds after a restart within which a place kept on disk must be taken back, or it is
#: given up (see `restore`). A client still running reconnects by itself: it tries again at
#: most 4 s after a failed attempt (peer.desk_actions.RETRY_MAX), and an attempt that gets
#: no answer at all (the registry's machine still coming up) fails after 5 s
#: (peer.desk_runner.CONNECT_TIMEOUT); so it is back within 9 s of the desk listening, and
#: 15 s leaves room for a loaded machine and the join's round trip. A place nobody takes
#: back by then belongs to someone who gave up while the registry was down (closed the
#: client, or typed `.quit` and the desk never heard): held for the whole grace period, it
#: would be counted ahead of every newcomer, in positions and estimates, for nothing.
RECLAIM_WINDOW = 15.0
#: Shortest time between two position pushes to one person ("at most once a second").
PUSH_INTERVAL = 1.0
#: Shortest time between two "... is waiting" notices to an operator in a session: the
#: arrivals in between are told in one line at its end, not a line each (a burst of fifty
#: would bury what the person being served says).
ARRIVALS_INTERVAL = 30.0
#: Names at most in that one line; the rest are counted.
ARRIVALS_NAMED = 3
#: Why an operator without the registry's operator key is refused.
WRONG_KEY = (
    "Cannot go on duty: wrong operator key (the registry keeps it in its data directory, "
    "file desk-key)."
)


# -- state --------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class Person:
    """Someone asking for help, waiting or being served."""

    token: str
    name: str
    phone: str  # normalised; leaves the core only towards the operator serving them
    topic: int
    description: str
    joined: float
    conn: ConnId | None
    address: str = ""  # the IP the person joined from (MAX_PER_ADDRESS), "" if unknown
    dropped: float | None = None  # when the connection broke, while the place is held
    shown: tuple[int, int] | None = None  # (position, operators) the person last saw
    pushed_at: float = float("-inf")
    due: float | None = None  # when a push held back by PUSH_INTERVAL may go
    served: float = 0.0  # seconds spent being served since joining: not waiting
    back: bool = False  # put back at the front (see DeskQueue._to_front)
    # after a restart: the name of the operator who was serving them, and until when the
    # two are kept for each other (see DeskQueue.restore)
    awaits: str = ""
    awaits_until: float = 0.0
    crisis: str = ""  # why they may be in danger (wire.desk CRISIS_*), "" if nothing says so
    # the lines of crisis typed while waiting (keep_said), for their operator
    said: tuple[str, ...] = ()
    alerted_at: float = float("-inf")  # when operators were last told of their words
    noticed_on: ConnId | None = None  # the connection the crisis notice was last sent on

    @property
    def masked(self) -> str:
        return mask_phone(self.phone)

    def waited(self, now: float) -> float:
        """Seconds spent waiting since joining: time being served does not count."""
        return max(0.0, now - self.joined - self.served)


@dataclass(slots=True, eq=False)
class Operator:
    """An operator on duty: serves `topics`, one person at a time."""

    conn: ConnId
    name: str
    topics: frozenset[int]
    free_since: float
    order: int  # tie-break between operators free since the same moment
    session: Session | None = None
    told_at: float = float("-inf")  # the last "... is waiting" notice
    untold: list[Person] = field(default_factory=list)  # arrivals held back since


@dataclass(slots=True, eq=False)
class Session:
    """An operator serving a person."""

    id: str
    person: Person
    operator: Operator
    started: float
    heard: int = 0  # the person's lines received in the session (DeskEnded.heard)
    resumed: bool = False  # a conversation resumed after a restart: only its tail


class DeskQueue:
    """The waiting room, the operators and the sessions. See the module docstring."""

    def __init__(
        self,
        *,
        make_id: Callable[[], str],
        make_token: Callable[[], str],
        operator_key: str,
        crisis_notice: str = DEFAULT_CRISIS_NOTICE,
        grace: float = GRACE,
        max_waiting: int = MAX_WAITING,
        max_per_address: int = MAX_PER_ADDRESS,
        push_interval: float = PUSH_INTERVAL,
        reclaim_window: float = RECLAIM_WINDOW,
        estimator: Estimator | None = None,
        heartbeat: float = HEARTBEAT,
    ) -> None:
        """Only a `DeskOperator` carrying `operator_key` goes on duty. The connections told
        of by `opened` are asked for a sign of life after `heartbeat` seconds of silence,
        and taken as lost after twice that. Raises ValueError for a negative `grace` or
        `push_interval`, a `heartbeat` not above 0, or a `max_waiting` or
        `max_per_address` below 1."""
        if grace < 0 or max_waiting < 1 or max_per_address < 1 or push_interval < 0:
            raise ValueError(
                "grace and push_interval must be >= 0, max_waiting and max_per_address >= 1"
            )
        if not heartbeat > 0:
            raise ValueError("heartbeat must be > 0")
        self._make_id = make_id
        self._make_token = make_token
        self._operator_key = operator_key
        self.crisis_notice = crisis_notice
        self.grace = grace
        self.max_waiting = max_waiting
        self.max_per_address = max_per_address
        self.push_interval = push_interval
        self.reclaim_window = reclaim_window  # RECLAIM_WINDOW; tests shorten it
        self.estimator = estimator or Estimator()
        self.heartbeat = heartbeat
        # the connections watched for silence (see `_heartbeats`)
        self._beats: dict[ConnId, Heartbeat] = {}
        self._waiting: list[Person] = []
        self._tokens: dict[str, Person] = {}
        self._operators: dict[ConnId, Operator] = {}
        self._conns: dict[ConnId, Person | Operator] = {}
        self._addresses: dict[ConnId, str] = {}  # where each connection comes from, if told
        self._order = itertools.count()
        self._kept: tuple[KeptPlace, ...] = ()  # the places on disk (KeepPlaces)
        # after `restore`: tokens of kept places not yet taken back, until when nobody is
        # served while some are (RESTART_SETTLE), and when those are given up
        # (RECLAIM_WINDOW)
        self._restored: set[str] = set()
        self._settle_until = float("-inf")
        self._reclaim_by = float("-inf")

    # -- read-only views (for the adapter, the console and tests) -------------------------

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

    def serving(self, conn: ConnId) -> bool:
        """Whether operator `conn` is in a session now."""
        entity = self._conns.get(conn)
        return isinstance(entity, Operator) and entity.session is not None

    def position(self, person: Person) -> tuple[int, int]:
        """(position, operators able to serve) for a waiting person."""
        for p, position, k in self._positions():
            if p is person:
                return position, k
        raise ValueError("not waiting")

    def next_wake(self) -> float | None:
        """When `timer` must run next: a held place running out or a held-back push."""
        times = [p.dropped + self.grace for p in self._waiting if p.dropped is not None]
        times += [p.due for p in self._waiting if p.due is not None]
        times += [o.told_at + ARRIVALS_INTERVAL for o in self._operators.values() if o.untold]
        if self._restored:
            times.append(self._reclaim_by)
            if self._settle_until > float("-inf"):
                times.append(self._settle_until)
        times += [beat.due() for conn, beat in self._beats.items() if conn in self._conns]
        times += [p.awaits_until for p in self._waiting if p.awaits]
        return min(times, default=None)

    # -- events ---------------------------------------------------------------------------

    def opened(self, conn: ConnId, address: str) -> None:
        """Connection `conn` comes from IP `address`: a person joining on it counts against
        that address's places (MAX_PER_ADDRESS; "" when unknown), and is watched for
        silence once it says who it is (see `heartbeat`). A connection never opened (the
        registry's console) is neither limited nor watched."""
        self._addresses[conn] = address

    def receive(self, conn: ConnId, message: DeskMessage, now: float) -> list[Action]:
        """A message arrived on `conn`. The first one of a connection says who it is."""
        entity = self._conns.get(conn)
        if conn in self._addresses:
            beat = self._beats.get(conn)
            if beat is None:
                self._beats[conn] = Heartbeat(now, self.heartbeat)
            else:
                beat.heard(now)
        if entity is not None and isinstance(message, DeskPing):
            # answered at once, and changes nothing else: a sign of life only
            return [Send(conn, DeskPong(self._make_id(), message.id))]
        if entity is not None and isinstance(message, DeskPong):
            return []
        if entity is None:
            actions = self._first(conn, message, now)
        elif isinstance(entity, Person):
            actions = self._from_person(entity, message, now)
        else:
            actions = self._from_operator(entity, message, now)
        return actions + self._settle(now) + self._keep()

    def disconnected(
        self, conn: ConnId, now: float, reason: str = "connection lost"
    ) -> list[Action]:
        """Connection `conn` is gone (closed, broken, or closed by us for bad frames)."""
        entity = self._conns.pop(conn, None)
        self._addresses.pop(conn, None)
        self._beats.pop(conn, None)
        actions: list[Action] = []
        if isinstance(entity, Person):
            session = self._session_of(entity)
            if session is not None:
                name = clean(entity.name)
                actions += self._end(
                    session,
                    now,
                    to_person=None,
                    to_operator=(
                        f"{name}'s connection was lost ({reason}); the session has ended. "
                        f"They keep a place at the front of the waiting room for "
                        f"{format_duration(self.grace)}."
                    ),
                    why=f"person's connection lost ({reason})",
                    requeue=True,
                )
                actions.append(self._hold_at_front(entity, now))
            elif entity in self._waiting:
                entity.conn = None
                entity.dropped = now
                entity.shown = None
                entity.due = None
                actions.append(
                    self._log(
                        f"desk: {name_for_log(entity)} lost the connection ({reason}); "
                        f"place held for {format_duration(self.grace)}",
                        entity,
                    )
                )
        elif isinstance(entity, Operator):
            actions += self._operator_gone(entity, now, f"connection lost ({reason})")
        return actions + self._settle(now) + self._keep()

    def _hold_at_front(self, person: Person, now: float) -> Action:
        """`person`, whose connection broke while being served, waits first in line without
        a connection: the place is held (for `grace`) for their token."""
        person.conn = None
        person.dropped = now
        person.shown = None
        person.due = None
        self._tokens[person.token] = person
        self._to_front(person)
        return self._log(
            f"desk: {name_for_log(person)} lost the connection while being served; place at "
            f"the front held for {format_duration(self.grace)}",
            person,
        )

    def timer(self, now: float) -> list[Action]:
        """Time has passed: give up places held too long (or, after a restart, not taken
        back within RECLAIM_WINDOW), send held-back position pushes, ask quiet connections
        for a sign of life and drop those silent too long."""
        actions = self._heartbeats(now)
        if now >= self._settle_until:
            self._settle_until = float("-inf")  # settled: nothing more to wake for
        if self._restored and now >= self._reclaim_by:
            actions += self._give_up_unclaimed()
        for person in list(self._waiting):
            if person.dropped is not None and now >= person.dropped + self.grace:
                actions += self._give_up_place(person, format_duration(self.grace))
        actions += self._stop_awaiting(now)  # after the places given up: they say more
        return actions + self._settle(now) + self._tell_held_back_arrivals(now) + self._keep()

    def _kept_operator(self, person: Person) -> Operator | None:
        """The operator on duty kept for `person` after a restart (see `restore`), if any."""
        if not person.awaits:
            return None
        key = name_key(person.awaits)
        return next((o for o in self._operators.values() if name_key(o.name) == key), None)

    def _tell_kept_operator(self, person: Person, text: str) -> list[Action]:
        """`text` to the operator kept for `person`, when it is on duty."""
        operator = self._kept_operator(person)
        return [] if operator is None else [self._notice(operator.conn, text)]

    def _stop_awaiting(self, now: float) -> list[Action]:
        """The operator and person kept for each other after a restart who are not
        together again within the grace period: each is free for anyone, and told so."""
        actions: list[Action] = []
        for person in self._waiting:
            if not person.awaits or now < person.awaits_until:
                continue
            name = clean(person.name)
            actions += self._tell_kept_operator(
                person, f"{name} is not back yet; you take the next person."
            )
            if person.conn is not None:
                actions.append(
                    self._notice(
                        person.conn,
                        f"{person.awaits} is not back; the next free operator will serve you.",
                    )
                )
            actions.append(
                self._log(
                    f"desk: {name_for_log(person)} and {person.awaits} were not together "
                    "again in time; no longer kept for each other",
                    person,
                )
            )
            person.awaits, person.shown = "", None  # a push with the usual figures
        return actions

    def _heartbeats(self, now: float) -> list[Action]:
        """A DeskPing to each connection silent for `heartbeat`; each silent for twice as
        long (it did not answer) is closed, with a notice for when its process runs again,
        and taken as lost (`disconnected`)."""
        actions: list[Action] = []
        for conn, beat in list(self._beats.items()):
            if conn not in self._conns:  # left, refused or closed: nothing to watch
                del self._beats[conn]
                continue
            match beat.check(now):
                case Beat.PING:
                    actions.append(Send(conn, DeskPing(self._make_id())))
                case Beat.LOST:
                    silent = format_duration(beat.silent_for(now))
                    actions += [
                        self._notice(
                            conn,
                            f"No sign of life from your client for {silent}, so the help "
                            "desk took your connection as lost and closed it.",
                        ),
                        Close(conn, f"no sign of life for {silent}"),
                        *self.disconnected(conn, now, f"no sign of life for {silent}"),
                    ]
        return actions

    def _give_up_unclaimed(self) -> list[Action]:
        """Give up the places kept across a restart that nobody took back in time."""
        actions: list[Action] = []
        for person in list(self._waiting):
            if person.token in self._restored and person.conn is None:
                within = f"{format_duration(self.reclaim_window)} of the restart"
                actions += self._give_up_place(person, within)
        self._restored.clear()
        return actions

    def _give_up_place(self, person: Person, within: str) -> list[Action]:
        """Give up the place of `person`, who did not come back `within` (how long, said
        in the log); an operator kept for them is told it takes the next person."""
        self._remove_waiting(person)
        actions = self._tell_kept_operator(
            person, f"{clean(person.name)} did not come back; you take the next person."
        )
        line = f"desk: {name_for_log(person)} did not come back within {within}; place given up"
        return [*actions, self._log(line, person)]

    def restore(self, places: list[KeptPlace], now: float) -> list[Action]:
        """Hold `places`, kept on disk by the run before (see KeepPlaces), as places whose
        connection broke just now: each is kept for its token, in the order given (those
        `back` first, as they were), and given up if nobody takes it back within
        RECLAIM_WINDOW (or `grace`, if shorter). Call before any connection; beyond
        `max_waiting` the rest are not held.

        A place whose person was being served names their operator: for `grace`, the two
        are kept for each other, so that the conversation resumes with the same operator
        when both are back (the line is not reshuffled by who reconnects first). The person
        goes to nobody else meanwhile, and the operator takes nobody else while the person
        may come back, whatever topics it serves now (it was serving them, and `.serve`
        chooses who is taken next, not whether a conversation goes on); once the person's
        place is given up, or `grace` is over, the usual rules apply.

        The session a place was in when the run before stopped counts as time served up to
        now: nothing tells when in it the registry stopped, and a wait shown longer than it
        was would count talking to an operator as waiting (it also keeps that session out
        of the estimate, as any session cut short)."""
        for place in sorted(places, key=lambda place: not place.back):
            if len(self._waiting) >= self.max_waiting or place.token in self._tokens:
                continue  # a copy of a place cannot be a second one
            served = max(0.0, place.served)
            in_session = 0.0
            if place.serving_since is not None:
                in_session = max(0.0, now - place.serving_since)
            person = Person(
                token=place.token,
                name=place.name,
                phone=place.phone,
                topic=place.topic,
                description=place.description,
                joined=min(place.joined, now) - served,
                conn=None,
                address=place.address,
                dropped=now,
                awaits=place.operator,
                awaits_until=now + self.grace if place.operator else 0.0,
                served=served + in_session,
                back=place.back,
                crisis=stronger_crisis(place.crisis, crisis_reason(place.topic, place.description)),
                said=place.said,
            )
            self._waiting.append(person)
            self._tokens[person.token] = person
            self._restored.add(person.token)
        self._settle_until = now + RESTART_SETTLE
        self._reclaim_by = now + self.reclaim_window
        self._kept = self._places()
        count = len(self._waiting)
        if not count:
            return []
        places_text = "1 place" if count == 1 else f"{count} places"
        line = (
            f"desk: {places_text} kept from before the registry stopped, held for "
            f"{format_duration(min(self.grace, self.reclaim_window))} for their people to come "
            f"back; nobody is served for up to {format_duration(RESTART_SETTLE)} while they "
            "reconnect"
        )
        return [Log(line)]

    def shutdown(self, now: float, reason: str = "The help desk is closing.") -> list[Action]:
        """The registry stops: end every session, tell everyone why, close everything."""
        actions: list[Action] = []
        # a person's place is not kept: they are told what they can do
        to_person = f"{reason.rstrip('.')}; please try again later."
        for operator in list(self._operators.values()):
            if operator.session is not None:
                # Operators hear the reason once, below, with everyone else.
                actions += self._end(
                    operator.session, now, to_person, None, "registry closing", measure=False
                )
        for conn in list(self._conns):
            said = reason if conn in self._operators else to_person
            actions.append(Send(conn, DeskEnded(self._make_id(), said, False, -1)))
            actions.append(Close(conn, "registry closing"))
        self._conns.clear()
        self._addresses.clear()
        self._operators.clear()
        self._waiting.clear()
        self._tokens.clear()
        # everyone was told the desk is closing, and their clients end: nobody comes back
        return actions + self._keep()

    # -- first frames ---------------------------------------------------------------------

    def _first(self, conn: ConnId, message: DeskMessage, now: float) -> list[Action]:
        if isinstance(message, DeskJoin):
            return self._join(conn, message, now)
        if isinstance(message, DeskOperator):
            return self._operator_on(conn, message, now)
        if isinstance(message, DeskGiveUp):
            return self._give_up(conn, message)
        return self._refuse(
            conn, message.id, "A help-desk connection starts with DeskJoin or DeskOperator."
        )

    def _give_up(self, conn: ConnId, msg: DeskGiveUp) -> list[Action]:
        """A person who left while their connection was lost gives up the place held for
        their token: those behind move up now, not at the end of the grace period (or of
        RECLAIM_WINDOW, after a restart)."""
        if msg.wire != WIRE_VERSION:
            return self._refuse(conn, msg.id, wire_refusal(msg.wire, "desk client"))
        held = self._tokens.get(msg.token) if msg.token else None
        phone = normalise_phone(msg.phone)
        actions: list[Action] = []
        said = "You left the help desk; no place was held for you any more."
        if (
            held is not None
            and held in self._waiting
            and phone is not None
            and phone_key(held.phone) == phone_key(phone)
        ):
            if held.conn is not None:  # a half-open connection of the client that gave up
                self._conns.pop(held.conn, None)
                actions.append(Close(held.conn, "the place was given up"))
            self._remove_waiting(held)
            actions.append(
                self._log(
                    f"desk: {name_for_log(held)} left the waiting room (said once the "
                    "connection was lost)",
                    held,
                )
            )
            said = "You left the waiting room."
        return [
            *actions,
            Send(conn, DeskEnded(self._make_id(), said, False, -1)),
            Close(conn, "gave up a place"),
        ]

    def _refuse(self, conn: ConnId, reply_to: str, reason: str) -> list[Action]:
        return [
            Send(conn, DeskRefused(self._make_id(), reply_to, reason)),
            Close(conn, "refused: " + reason),
        ]

    def _other_wire(self, conn: ConnId, msg: DeskJoin | DeskOperator, what: str) -> list[Action]:
        reason = wire_refusal(msg.wire, what)
        return [
            Log(f"desk: refused {clean(msg.name)!r}: {reason}"),
            *self._refuse(conn, msg.id, reason),
        ]

    def _join(self, conn: ConnId, msg: DeskJoin, now: float) -> list[Action]:
        # The crisis notice comes first, whatever happens next: a refused person in crisis
        # needs it most.
        actions: list[Action] = []
        crisis = crisis_reason(msg.topic, msg.description)
        if crisis:
            actions.append(Send(conn, DeskCrisis(self._make_id(), self.crisis_notice)))
        if msg.wire != WIRE_VERSION:
            return actions + self._other_wire(conn, msg, "desk client")
        phone = normalise_phone(msg.phone)
        problem = name_problem(msg.name) or (phone_problem(msg.phone) if phone is None else None)
        if problem is None and msg.topic not in TOPICS:
            problem = f"Topic {msg.topic} does not exist; topics are 1 to {len(TOPICS)}."
        if problem is None and len(msg.description) > MAX_DESCRIPTION:
            problem = f"A description has at most {MAX_DESCRIPTION} characters."
        if problem is not None or phone is None:
            return actions + self._refuse(conn, msg.id, problem or "Invalid request.")

        held = self._tokens.get(msg.token) if msg.token else None
        if held is not None and phone_key(held.phone) == phone_key(phone):
            return actions + self._restore(conn, held, msg, now)

        # Only a join from the same address learns that its number is here already: one
        # from anywhere else is admitted like any other, so that nobody can find out whether
        # someone is at the help desk by trying their number from another computer.
        address = self._addresses.get(conn, "")
        same = self._with_phone(phone, address)
        if same is not None and same.dropped is not None:
            # The same number from the same computer while its place is only held: its
            # client lost the token (it gave up waiting, its file is gone, another user
            # account), and a refusal would lock its person out of their own place.
            same.topic, same.description = msg.topic, msg.description
            same.crisis = stronger_crisis(same.crisis, crisis)
            return actions + self._restore(conn, same, msg, now)
        if same is not None:
            reason = "This number is already connected to the help desk."
            return actions + self._refuse(conn, msg.id, reason)

        if address and not _is_loopback(address):
            places = sum(1 for p in self._waiting if p.address == address)
            if places >= self.max_per_address:
                reason = (
                    f"This computer ({address}) already holds {places} places in the waiting "
                    "room, the most one address may hold; please try again once one of them "
                    "has been served."
                )
                actions.append(Log(f"desk: {address} holds {places} places; refused another"))
                return actions + self._refuse(conn, msg.id, reason)

        if len(self._waiting) >= self.max_waiting:
            estimate = self._estimate(msg.topic, len(self._waiting), now)
            reason = (
                f"The waiting room is full ({self.max_waiting} people); please try again "
                f"later. The current estimated wait is "
                f"{format_estimate(*estimate.wire())}."
            )
            actions.append(
                Log(f"desk: waiting room full; refused a newcomer for topic {msg.topic}")
            )
            return actions + self._refuse(conn, msg.id, reason)

        person = Person(
            token=self._new_token(),
            name=_masked_name(msg.name),
            phone=phone,
            topic=msg.topic,
            description=msg.description.strip(),
            joined=now,
            conn=conn,
            address=address,
            crisis=crisis,
            noticed_on=conn if crisis else None,
        )
        self._waiting.append(person)
        self._tokens[person.token] = person
        self._conns[conn] = person
        danger = f"; {DANGER_MARK} may be in danger: {CRISIS_REASONS[crisis]}" if crisis else ""
        actions.append(
            self._log(
                f"desk: {name_for_log(person)} joined for topic "
                f"{topic_label(person.topic)}{danger}",
                person,
            )
        )
        # Served at once when an operator is free: position 0 tells the client to skip
        # the waiting-room text. DeskQueued always answers the DeskJoin first.
        served = self._dispatch(now)
        actions.append(self._queued(person, msg.id, now, restored=False))
        actions += served
        if person in self._waiting:
            if speaks_of_crisis(person.description):
                # words of danger are told at once, to every operator who could act
                actions += self._alert(person, now, "their description speaks of it")[0]
            else:
                actions += self._tell_busy_operators(person, now)
        return actions

    def _restore(self, conn: ConnId, person: Person, msg: DeskJoin, now: float) -> list[Action]:
        actions: list[Action] = []
        if person.conn is not None and person.conn != conn:
            # The old connection may still look alive (a half-open socket): the token
            # proves who this is, so the new connection wins.
            old = person.conn
            self._conns.pop(old, None)
            actions.append(
                Send(old, DeskEnded(self._make_id(), "Replaced by a new connection.", False, -1))
            )
            actions.append(Close(old, "replaced by a reconnection"))
        if person in self._waiting:  # the name as given now (a slip put right, say)
            person.name = _masked_name(msg.name)
        person.conn = conn
        person.dropped = None
        if crisis_reason(msg.topic, msg.description):
            person.noticed_on = conn  # with the join's answer (see _join)
        self._conns[conn] = person
        self._restored.discard(person.token)
        actions.append(self._log(f"desk: {name_for_log(person)} took their place back", person))
        served = self._dispatch(now)
        actions.append(self._queued(person, msg.id, now, restored=True))
        if person.awaits and person in self._waiting:
            who = person.awaits
            actions.append(
                self._notice(
                    conn,
                    f"The help desk was restarted; your conversation with {who} resumes as "
                    f"soon as {who} is back.",
                )
            )
        return actions + served

    def _queued(self, person: Person, reply_to: str, now: float, *, restored: bool) -> Send:
        assert person.conn is not None
        if person in self._waiting:
            position, k = self.position(person)
            person.shown = (position, k)
            person.pushed_at = now
            person.due = None
            est = self._estimate_for(person, position - 1, now)
        else:  # served at once
            position, k, est = 0, 1, Estimate("range")
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

    def _operator_on(self, conn: ConnId, msg: DeskOperator, now: float) -> list[Action]:
        if not key_matches(msg.key, self._operator_key):
            # checked first: a caller without the key learns nothing (not even who is on duty)
            return [
                Log(f"desk: refused an operator calling itself {clean(msg.name)!r}: wrong key"),
                *self._refuse(conn, msg.id, WRONG_KEY),
            ]
        if msg.wire != WIRE_VERSION:
            return self._other_wire(conn, msg, "operator client")
        problem = operator_name_problem(msg.name)
        same = next(
            (o for o in self._operators.values() if name_key(o.name) == name_key(msg.name)), None
        )
        if problem is None and same is not None:
            # the name as it is on duty: `-o ANN` is refused because of ann
            problem = f"an operator named {same.name} {ALREADY_ON_DUTY}"
        if problem is None and not all(t in TOPICS for t in msg.topics):
            problem = f"topics are 1 to {len(TOPICS)}"
        if problem is not None:
            return self._refuse(conn, msg.id, f"Cannot go on duty: {problem}.")
        operator = Operator(
            conn=conn,
            name=msg.name,
            topics=frozenset(msg.topics),
            free_since=now,
            order=next(self._order),
        )
        self._operators[conn] = operator
        self._conns[conn] = operator
        actions: list[Action] = [
            *self._log_operator(operator, f"on duty ({topics_text(_sorted(operator.topics))})"),
            Send(conn, self._on_duty(operator, msg.id)),
        ]
        for person in self._waiting:
            if person.conn is None and self._kept_operator(person) is operator:
                name = clean(person.name)
                # their place may run out first: after a restart within RECLAIM_WINDOW
                held = self._reclaim_by if person.token in self._restored else float("inf")
                if person.dropped is not None:
                    held = min(held, person.dropped + self.grace)
                left = format_duration(min(person.awaits_until, held) - now)
                actions.append(
                    self._notice(
                        conn,
                        f"The help desk was restarted while you served {name}; your "
                        f"conversation resumes as soon as {name} is back (you take nobody "
                        f"else until then, for up to {left}).",
                    )
                )
        # whoever it takes at once first; then those still waiting who may be in danger
        served = self._dispatch(now)
        return actions + served + self._danger_waiting(operator)

    def _log_operator(self, operator: Operator, what: str) -> list[Action]:
        """`desk: operator ann <what>` for the log, but for the registry's console (on a
        connection never `opened`): the log is printed on that same console, just after
        the DeskOnDuty that says the same, and twice is once too many."""
        if operator.conn not in self._addresses:
            return []
        return [Log(f"desk: operator {operator.name} {what}")]

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
            _sorted(operator.topics),
            len(self._waiting),
            yours,
        )

    # -- a person's messages --------------------------------------------------------------

    def _from_person(self, person: Person, msg: DeskMessage, now: float) -> list[Action]:
        assert person.conn is not None
        conn = person.conn
        session = self._session_of(person)
        name = clean(person.name)
        if isinstance(msg, DeskQueueRequest):
            if session is not None:
                return [self._notice(conn, f"You are being served by {session.operator.name}.")]
            position, k = self.position(person)
            kind, low, high = self._estimate_for(person, position - 1, now).wire()
            info = DeskQueueInfo(
                self._make_id(), msg.id, position - 1, int(person.waited(now)), k, kind, low, high
            )
            return [Send(conn, info)]
        if isinstance(msg, DeskLine):
            if session is None and not msg.session and speaks_of_crisis(msg.text):
                return self._words_of_crisis(person, msg.text[:MAX_DESK_LINE], now)
            if session is None and not msg.session:
                return [
                    self._notice(
                        conn, "You are not being served yet; .queue shows where you stand."
                    )
                ]
            if session is None or msg.session != session.id:
                # It crossed the end of its session on its way: it is not for whoever
                # serves the person next.
                return [
                    self._notice(
                        conn,
                        "Not sent: your session had ended before this line reached the help "
                        f"desk. The line was: {msg.text[:MAX_DESK_LINE]}",
                    )
                ]
            session.heard += 1
            # Words of crisis are marked for the operator (render_operator) and in the
            # transcript; the person is told nothing more: someone who can help reads them.
            crisis = speaks_of_crisis(msg.text)
            said = self._say(
                session, person.name, conn, session.operator.conn, msg.text, crisis=crisis
            )
            if crisis and any(isinstance(action, SessionLine) for action in said):
                line = (
                    f"desk: {name_for_log(person)} wrote words of crisis in their session "
                    f"with {session.operator.name}"
                )
                said.append(self._log(line, person))
            return said
        if isinstance(msg, DeskEnd) and session is not None and msg.session != session.id:
            serving = session.operator.name
            return [
                self._notice(
                    conn, f"That session was already over; your session with {serving} goes on."
                )
            ]
        if isinstance(msg, DeskEnd | DeskLeave):
            if session is not None:
                return self._end(
                    session,
                    now,
                    to_person="You ended the session. Take care.",
                    to_operator=f"{name} ended the session.",
                    why="ended by the person",
                )
            self._remove_waiting(person)
            self._conns.pop(conn, None)
            return [
                self._log(f"desk: {name_for_log(person)} left the waiting room", person),
                Send(conn, DeskEnded(self._make_id(), "You left the waiting room.", False, -1)),
                Close(conn, "left the waiting room"),
            ]
        return [self._notice(conn, f"{type(msg).__name__} is not something a person can send.")]

    # -- an operator's messages -----------------------------------------------------------

    def _from_operator(self, operator: Operator, msg: DeskMessage, now: float) -> list[Action]:
        conn = operator.conn
        if isinstance(msg, DeskRoomRequest):
            return [Send(conn, self._room(msg.id, now))]
        if isinstance(msg, DeskFirst):
            return self._put_first(operator, msg)
        if isinstance(msg, DeskLine):
            if operator.session is None:
                # most often it crossed the person's .end on its way
                said = msg.text[:MAX_DESK_LINE]
                return [
                    self._notice(
                        conn, f"Not sent: you are not serving anyone now. The line was: {said}"
                    )
                ]
            if msg.session != operator.session.id:
                serving = clean(operator.session.person.name)
                return [
                    self._notice(
                        conn,
                        "Not sent: the session it was typed in is over; you now serve "
                        f"{serving}. The line was: {msg.text[:MAX_DESK_LINE]}",
                    )
                ]
            person_conn = operator.session.person.conn
            assert person_conn is not None
            return self._say(operator.session, operator.name, conn, person_conn, msg.text)
        if isinstance(msg, DeskEnd):
            if operator.session is None:
                return [self._notice(conn, "You are not serving anyone.")]
            if msg.session != operator.session.id:
                serving = clean(operator.session.person.name)
                return [
                    self._notice(
                        conn,
                        f"That session was already over; your session with {serving} goes on.",
                    )
                ]
            person = operator.session.person
            actions = self._end(
                operator.session,
                now,
                to_person=f"{operator.name} ended the session. Take care.",
                to_operator=f"Session with {clean(person.name)} ended.",
                why="ended by the operator",
            )
            actions += self._dispatch(now)
            if operator.session is None:
                actions.append(self._notice(conn, "Nobody is waiting for you right now."))
            return actions
        if isinstance(msg, DeskServe):
            if not all(t in TOPICS for t in msg.topics):
                return [self._notice(conn, f"Topics are 1 to {len(TOPICS)}.")]
            operator.topics = frozenset(msg.topics)
            return [
                *self._log_operator(
                    operator, f"now serves {topics_text(_sorted(operator.topics))}"
                ),
                Send(conn, self._on_duty(operator, msg.id)),
            ]
        if isinstance(msg, DeskLeave):
            said = "You are off duty."
            if operator.session is not None:  # that person is put back, and ought to be known
                name = clean(operator.session.person.name)
                said = f"You are off duty; {name} is back at the front of the waiting room."
            actions = self._operator_gone(operator, now, "went off duty")
            self._conns.pop(conn, None)
            actions.append(Send(conn, DeskEnded(self._make_id(), said, False, -1)))
            actions.append(Close(conn, "operator off duty"))
            return actions
        return [self._notice(conn, f"{type(msg).__name__} is not something an operator can send.")]

    def session_of(self, conn: ConnId) -> str:
        """The id of the session the operator or person on `conn` is in, or "" (none)."""
        operator = self._operators.get(conn)
        if operator is not None:
            return operator.session.id if operator.session else ""
        person = self._conns.get(conn)
        session = self._session_of(person) if isinstance(person, Person) else None
        return session.id if session else ""

    def _operator_gone(self, operator: Operator, now: float, why: str) -> list[Action]:
        """Take `operator` off duty. Its person, if any, goes back to the front of the
        waiting room: leaving them was not their doing, whether the operator went off duty
        or lost the connection (they may `.quit` if they were done)."""
        actions: list[Action] = [Log(f"desk: operator {operator.name} {why}")]
        session = operator.session
        self._operators.pop(operator.conn, None)
        if session is None:
            return actions
        person = session.person
        if why == "went off duty":
            gone = f"{operator.name} went off duty"
        else:
            gone = f"{operator.name}'s connection was lost"
        actions += self._end(
            session,
            now,
            to_person=f"{gone}; you are back at the front of the waiting room.",
            to_operator=None,
            why=f"operator {why}",
            requeue=True,
        )
        served = self._dispatch(now)
        actions.append(self._queued(person, "", now, restored=False))
        return actions + served

    # -- sessions -------------------------------------------------------------------------

    def _dispatch(self, now: float) -> list[Action]:
        """Give every free operator the earliest connected person it serves; just after
        a restart, once the people whose places were kept are back (see RESTART_SETTLE)."""
        if self._restored and now < self._settle_until:
            return []
        actions: list[Action] = []
        # operators kept for someone after a restart (see `restore`) take nobody else
        kept_for = {name_key(p.awaits) for p in self._waiting if p.awaits}
        for person in list(self._waiting):
            if person.conn is None:
                continue
            # A conversation cut by the restart resumes whatever its operator now serves:
            # `.serve` chooses who is taken next, never ends a conversation in progress.
            free = [
                o
                for o in self._operators.values()
                if o.session is None
                and (
                    name_key(o.name) == name_key(person.awaits)
                    if person.awaits
                    else person.topic in o.topics and name_key(o.name) not in kept_for
                )
            ]
            if free:
                operator = min(free, key=lambda o: (o.free_since, o.order))
                actions += self._start(person, operator, now)
        return actions

    def _start(self, person: Person, operator: Operator, now: float) -> list[Action]:
        assert person.conn is not None
        actions: list[Action] = []
        resumed = bool(person.awaits)
        if person.awaits:  # the two were kept for each other after a restart
            person.awaits = ""
            name = clean(person.name)
            actions += [
                self._notice(
                    person.conn,
                    f"The help desk was restarted; your conversation with {operator.name} resumes.",
                ),
                self._notice(
                    operator.conn,
                    f"The help desk was restarted; your conversation with {name} resumes.",
                ),
            ]
        self._remove_waiting(person)
        session = Session(self._make_id(), person, operator, now, resumed=resumed)
        operator.session = session
        waited = person.waited(now)
        return [
            *actions,
            Send(person.conn, DeskServed(self._make_id(), operator.name, session.id)),
            Send(
                operator.conn,
                DeskSession(
                    self._make_id(),
                    session.id,
                    person.name,
                    person.phone,
                    person.topic,
                    person.description,
                    round(waited),
                    person.crisis,
                    person.said,
                ),
            ),
            SessionStarted(
                session.id,
                scrub_phone(clean(person.name), person.phone),
                person.masked,
                person.topic,
                scrub_phone(clean(person.description), person.phone),
                operator.name,
                waited,
                person.crisis,
                tuple(scrub_phone(clean(line), person.phone) for line in person.said),
            ),
            self._log(
                f"desk: {operator.name} serves {name_for_log(person)} "
                f"(topic {person.topic}, waited {format_duration(waited)})",
                person,
            ),
        ]

    def _say(
        self,
        session: Session,
        sender: str,
        source: ConnId,
        to: ConnId,
        text: str,
        *,
        crisis: bool = False,
    ) -> list[Action]:
        if len(text) > MAX_DESK_LINE:
            return [self._notice(source, f"Line too long: at most {MAX_DESK_LINE} characters.")]
        if not text.strip():
            return []
        return [
            Send(to, DeskLine(self._make_id(), sender, text, session.id)),
            SessionLine(
                session.id,
                scrub_phone(clean(sender), session.person.phone),
                scrub_phone(clean(text), session.person.phone),
                crisis,
            ),
        ]

    def _end(
        self,
        session: Session,
        now: float,
        to_person: str | None,
        to_operator: str | None,
        why: str,
        *,
        requeue: bool = False,
        measure: bool = True,
    ) -> list[Action]:
        """End `session`, telling each side that is still there. The person's connection
        closes unless they go back to the waiting room. Its length counts in the estimate
        only when it ended as sessions do (`measure`, and the person not put back): one cut
        short by the desk closing or an operator leaving says nothing of how long help
        takes, and would pull the averages down."""
        person, operator = session.person, session.operator
        length = now - session.started
        operator.session = None
        operator.free_since = now
        person.served += length
        if measure and not requeue and not session.resumed:
            # (a resumed conversation's start was in the run before: its length here is
            # only the tail of one)
            self.estimator.record(person.topic, length)
        actions: list[Action] = [
            SessionEnded(session.id, why, length),
            self._log(
                f"desk: session of {name_for_log(person)} with {operator.name} ended "
                f"({why}; {format_duration(length)})",
                person,
            ),
        ]
        if to_operator is not None and operator.conn in self._conns:
            actions.append(Send(operator.conn, DeskEnded(self._make_id(), to_operator, False, -1)))
        if person.conn is not None and person.conn in self._conns:
            if to_person is not None:
                # Lines that cross the end are counted for a connection about to close;
                # one that stays is answered line by line (see _from_person).
                heard = -1 if requeue else session.heard
                actions.append(
                    Send(person.conn, DeskEnded(self._make_id(), to_person, requeue, heard))
                )
            if requeue:
                # Back to the front, with a fresh token (the old one left with the place).
                person.token = self._new_token()
                person.shown = None
                self._tokens[person.token] = person
                self._to_front(person)
            else:
                actions.append(Close(person.conn, "session ended"))
                self._conns.pop(person.conn, None)
        return actions

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

    # -- positions ------------------------------------------------------------------------

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

    def _settle(self, now: float) -> list[Action]:
        """After any change: serve who can be served, then push positions that changed,
        each person at most once per push_interval."""
        actions = self._dispatch(now)
        for person, position, k in self._positions():
            if person.conn is None:
                continue
            if person.shown == (position, k):
                person.due = None
                continue
            if now < person.pushed_at + self.push_interval:
                person.due = person.pushed_at + self.push_interval
                continue
            person.shown = (position, k)
            person.pushed_at = now
            person.due = None
            kind, low, high = self._estimate_for(person, position - 1, now).wire()
            actions.append(
                Send(person.conn, DeskPosition(self._make_id(), position, k, kind, low, high))
            )
        return actions

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

    # -- helpers --------------------------------------------------------------------------

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
        number = msg.position
        if msg.name:
            found = self._named(operator, msg.name)
            if isinstance(found, Send):
                return [found]
            number = found
        if not 1 <= number <= len(self._waiting):
            count = len(self._waiting)
            people = "person" if count == 1 else "people"
            return [
                self._notice(
                    operator.conn,
                    f"There is no number {number} in the waiting room ({count} {people}); "
                    ".room lists them.",
                )
            ]
        person = self._waiting[number - 1]
        self._waiting.remove(person)
        self._to_front(person)
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

    def _session_of(self, person: Person) -> Session | None:
        for operator in self._operators.values():
            if operator.session is not None and operator.session.person is person:
                return operator.session
        return None

    def _with_phone(self, phone: str, address: str) -> Person | None:
        """The person waiting or served with `phone` (however it is written: `phone_key`)
        who joined from `address`, if any."""
        key = phone_key(phone)
        for person in self._waiting:
            if phone_key(person.phone) == key and person.address == address:
                return person
        for session in self.sessions:
            if phone_key(session.person.phone) == key and session.person.address == address:
                return session.person
        return None

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


def name_for_log(person: Person) -> str:
    """`Alice (phone *******45)`: how a person appears in logs."""
    return f"{clean(person.name)} (phone {person.masked})"


def _sorted(topics: frozenset[int]) -> tuple[int, ...]:
    return tuple(sorted(topics))


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


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _masked_name(name: str) -> str:
    """The name a person gave, with any phone number in it masked (`mask_numbers`): the
    name is shown to every operator (`.room`, "... is waiting"), and a full number only to
    the one who serves its person."""
    return mask_numbers(name.strip())
