"""The help desk's waiting room as a sans-IO state machine.

`DeskQueue` knows people waiting for help, operators on duty and the sessions between
them. It never touches a socket, a clock or a file: every method takes an event with
`now` (seconds on a monotonic clock) and returns the actions for the adapter to carry out
in order: frames to send to a connection, connections to close, log lines, transcript
records. `next_wake()` says when `timer(now)` must be called next (grace periods running
out, position pushes held back by the once-a-second limit).

Connections are named by opaque ids the adapter chooses. The first message of a
connection says who it is: `DeskJoin` (a person) or `DeskOperator` (an operator). The
registry's own console is an operator like any other, on a connection id of its own.

Rules (docs/DESK.md):

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

from collections.abc import Callable
from typing import Any, Unpack

from registry.desk.actions import Action, Close, ConnId, Emit, KeptPlace, Send
from registry.desk.danger import Danger
from registry.desk.joins import Joins
from registry.desk.line import Line
from registry.desk.notices import Notices
from registry.desk.operators import NOBODY_WAITING, Duty
from registry.desk.people import Operator, Person, Session
from registry.desk.persons import Persons
from registry.desk.restart import HeldPlaces
from registry.desk.sessions import Ending, Sessions
from registry.desk.state import DeskState, Link, QueueOptions
from wire.desk.messages import (
    DeskEnd,
    DeskFirst,
    DeskGiveUp,
    DeskJoin,
    DeskLeave,
    DeskLine,
    DeskMessage,
    DeskOperator,
    DeskPing,
    DeskPong,
    DeskQueueRequest,
    DeskRoom,
    DeskRoomRequest,
    DeskServe,
)
from wire.desk.text import format_duration
from wire.heartbeat import Beat, Heartbeat

#: What may hand someone over: a person joining (to an operator free), an operator going on
#: duty, or serving more topics (`.serve`), a session or a duty ending (the next person, or
#: the one put back at the front, goes to whoever is free). The adapter holds hand-overs
#: (`DeskQueue.hold`) before each, as it does when a connection ends: the other side of
#: that hand-over may have typed `.quit` at that moment, not read yet. (`.first` only
#: reorders who is next: anyone it could hand over was handed over already.)
HANDS_OVER = (DeskJoin, DeskOperator, DeskServe, DeskEnd, DeskLeave)

#: Who sends a message: a connection that has not said who it is (None), a person or an
#: operator.
Role = type[Person] | type[Operator] | None
#: What handles one kind of message from one role: who sent it (the connection's id for
#: None, else the person or operator), the message, now, the actions.
Handler = Callable[[Any, Any, float, Emit], None]


class DeskQueue:
    """The waiting room, the operators and the sessions. See the module docstring; the
    parts are listed in docs/ARCHITECTURE.md ("The desk core, by part")."""

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
        `danger_room`; TypeError for an option it does not know."""
        self._s = s = DeskState(make_id, make_token, operator_key, options)
        #: Operators' public keys authorised by the operator key, shown once (key -> name).
        self.authorised = s.authorised
        #: The wait estimates, which the adapter keeps on disk.
        self.estimator = s.estimator
        self._line = line = Line(s)
        self._sessions = sessions = Sessions(s, line)
        self._held = held = HeldPlaces(s)
        danger = Danger(s, line)
        self._notices = notices = Notices(s, danger)
        joins = Joins(s, line, sessions, notices)
        self._duty = duty = Duty(s, line, sessions, held, notices)
        persons = Persons(s, line, sessions, danger)
        self._handlers: dict[tuple[Role, type[DeskMessage]], Handler] = {
            (None, DeskJoin): joins.join,
            (None, DeskOperator): duty.on,
            (None, DeskGiveUp): joins.give_up,
            (Person, DeskQueueRequest): persons.where,
            (Person, DeskLine): persons.line,
            (Person, DeskEnd): persons.leaves,
            (Person, DeskLeave): persons.leaves,
            (Operator, DeskRoomRequest): duty.room,
            (Operator, DeskFirst): danger.put_first,
            (Operator, DeskLine): duty.line,
            (Operator, DeskEnd): duty.end,
            (Operator, DeskServe): duty.serve,
            (Operator, DeskLeave): duty.off,
        }

    # -- events ----------------------------------------------------------------------------

    def receive(self, conn: ConnId, message: DeskMessage, now: float) -> list[Action]:
        """A message arrived on `conn`. The first one of a connection says who it is."""
        s = self._s
        who = s.conns.get(conn)
        link = s.links.get(conn)
        if link is not None and link.beat is None:
            link.beat = Heartbeat(now, s.heartbeat)
        elif link is not None and link.beat is not None:
            link.beat.heard(now)
        if who is not None and isinstance(message, DeskPing):
            # answered at once, and changes nothing else: a sign of life only
            return [Send(conn, DeskPong(s.make_id(), message.id))]
        if who is not None and isinstance(message, DeskPong):
            return []
        actions: list[Action] = []
        emit = actions.append
        handler = self._handlers.get((None if who is None else type(who), type(message)))
        if handler is not None:
            handler(conn if who is None else who, message, now, emit)
        elif who is None:
            said = "A help-desk connection starts with DeskJoin or DeskOperator."
            s.refuse(conn, message.id, said, emit)
        else:
            role = "a person" if isinstance(who, Person) else "an operator"
            emit(s.notice(conn, f"{type(message).__name__} is not something {role} can send."))
        self._after(now, emit)
        return actions

    def disconnected(
        self, conn: ConnId, now: float, reason: str = "connection lost"
    ) -> list[Action]:
        """Connection `conn` is gone (closed, broken, or closed by us for bad frames)."""
        s = self._s
        who = s.conns.pop(conn, None)
        s.links.pop(conn, None)
        s.puzzles.pop(conn, None)
        actions: list[Action] = []
        emit = actions.append
        if isinstance(who, Person):
            self._sessions.person_gone(who, now, reason, emit)
        elif isinstance(who, Operator):
            self._sessions.operator_gone(who, now, f"connection lost ({reason})", emit)
        self._after(now, emit)
        return actions

    def _after(self, now: float, emit: Emit) -> None:
        """After any event: serve who can be served, push the positions that changed, tell
        the operators what is due, and keep the places on disk when they changed."""
        self._sessions.settle(now, emit)
        self._notices.tell(now, emit)
        self._held.keep(emit)

    def hold(self) -> None:
        """Hand nobody over, and push no position nor send any `DeskQueued`, until
        `release`; everything else goes on as usual (lines, joins, `.queue`, `.room`). The
        adapter holds when it sees a connection end, since others may have ended at the
        same moment and not been read yet: a registry resumed after SIGSTOP reads the ends
        of every client that left meanwhile one at a time, and the first one read must not
        hand a waiting person to an operator just as gone (nor an operator to a person
        gone). Holding twice is holding once."""
        self._s.holding = True

    def release(self, now: float) -> list[Action]:
        """End a `hold`: serve who can be served now, answer the joins (and tell those put
        back at the front where they stand) with the figures now, push the positions that
        changed, and tell each operator whose `.end` came meanwhile and who is still free
        that nobody waits for it. Nothing happens without a hold."""
        s = self._s
        if not s.holding:
            return []
        s.holding = False
        served: list[Action] = []
        self._sessions.hand_over(now, served.append)
        # the answers kept meanwhile go first: a DeskQueued answers a join before anything
        # else (position 0 when the person is one of those just served)
        actions: list[Action] = []
        emit = actions.append
        self._line.held_answers(now, emit)
        for action in served:
            emit(action)
        self._sessions.settle(now, emit)
        self._notices.tell(now, emit)
        ended, s.ended_while_holding = s.ended_while_holding, set()
        for operator in s.operators.values():
            if operator.conn in ended and operator.session is None:
                emit(s.notice(operator.conn, NOBODY_WAITING))
        self._held.keep(emit)
        return actions

    def timer(self, now: float) -> list[Action]:
        """Time has passed: give up places held too long (or, after a restart, not taken
        back within RECLAIM_WINDOW), send held-back position pushes, ask quiet connections
        for a sign of life and drop those silent too long."""
        actions: list[Action] = []
        emit = actions.append
        self._heartbeats(now, emit)
        self._held.expire(now, emit)
        self._sessions.settle(now, emit)
        self._notices.tell(now, emit)
        self._notices.tell_held_back(now, emit)
        self._held.keep(emit)
        return actions

    def _heartbeats(self, now: float, emit: Emit) -> None:
        """A DeskPing to each connection silent for `heartbeat`; each silent for twice as
        long (it did not answer) is closed, with a notice for when its process runs again,
        and taken as lost (`disconnected`)."""
        s = self._s
        for conn, link in list(s.links.items()):
            if link.beat is None:
                continue
            if conn not in s.conns:  # left, refused or closed: nothing to watch
                link.beat = None
                continue
            match link.beat.check(now):
                case Beat.PING:
                    emit(Send(conn, DeskPing(s.make_id())))
                case Beat.LOST:
                    silent = format_duration(link.beat.silent_for(now))
                    said = (
                        f"No sign of life from your client for {silent}, so the help "
                        "desk took your connection as lost and closed it."
                    )
                    emit(s.notice(conn, said))
                    emit(Close(conn, f"no sign of life for {silent}"))
                    for action in self.disconnected(conn, now, f"no sign of life for {silent}"):
                        emit(action)

    def next_wake(self) -> float | None:
        """When `timer` must run next: a held place running out, a held-back push or
        notice, a connection to ask for a sign of life."""
        s = self._s
        times = self._held.wakes() + self._notices.wakes()
        if not s.holding:  # held-back pushes go at `release`
            times += [p.due for p in s.waiting if p.due is not None]
        times += [
            link.beat.due()
            for conn, link in s.links.items()
            if link.beat is not None and conn in s.conns
        ]
        return min(times, default=None)

    def shutdown(self, now: float, reason: str = "The help desk is closing.") -> list[Action]:
        """The registry stops: end every session, tell everyone why, close everything."""
        s = self._s
        actions: list[Action] = []
        emit = actions.append
        # a person's place is not kept: they are told what they can do
        to_person = f"{reason.rstrip('.')}; please try again later."
        for session in s.sessions():
            # Operators hear the reason once, below, with everyone else.
            ending = Ending("registry closing", to_person=to_person, measure=False)
            self._sessions.end(session, now, ending, emit)
        for conn in list(s.conns):
            s.goodbye(conn, reason if conn in s.operators else to_person, "registry closing", emit)
        for held in (s.conns, s.links, s.puzzles, s.operators, s.tokens):
            held.clear()
        s.waiting.clear()
        s.arrivals.clear()
        s.briefings.clear()
        # everyone was told the desk is closing, and their clients end: nobody comes back
        self._held.keep(emit)
        return actions

    def restore(self, places: list[KeptPlace], now: float) -> list[Action]:
        """Hold `places`, kept on disk by the run before (see KeepPlaces), as places whose
        connection broke just now: each is kept for its token, in the order given (those
        `back` first, as they were), and given up if nobody takes it back within
        RECLAIM_WINDOW (or `grace`, if shorter). Call before any connection; beyond
        `max_waiting` (and the room kept for people in danger) the rest are not held.

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
        actions: list[Action] = []
        emit = actions.append
        self._held.restore(places, now, emit)
        return actions

    def revoke(self, name: str) -> list[Action]:
        """Revoke the keys authorised for operator `name` (the registry console's `revoke`):
        it shows the operator key again to go on duty, and one on duty now with such a key
        is taken off it (its connection closed). Nothing when none is authorised."""
        actions: list[Action] = []
        emit = actions.append
        self._duty.revoke(name, emit)
        return actions

    def opened(self, conn: ConnId, address: str, key: str = "") -> None:
        """Connection `conn` comes from IP `address` with the public `key` (wire.keys text;
        "" when none): a person joining on it counts against that address's places
        (MAX_PER_ADDRESS; "" when unknown), and is watched for silence once it says who it
        is (see `heartbeat`). A connection never opened (the registry's console) is
        neither limited nor watched."""
        self._s.links[conn] = Link(address, key)

    # -- read-only views (for the adapter, the console and tests) --------------------------

    @property
    def waiting(self) -> tuple[Person, ...]:
        """The waiting room in order, held places included."""
        return tuple(self._s.waiting)

    def room(self, now: float) -> DeskRoom:
        """The waiting room at `now`, in order, as `.room` shows it to an operator."""
        return self._line.room("", now)

    @property
    def operators(self) -> tuple[Operator, ...]:
        """Operators on duty, in the order they came."""
        return tuple(self._s.operators.values())

    @property
    def sessions(self) -> tuple[Session, ...]:
        """Sessions in progress."""
        return tuple(self._s.sessions())

    def position(self, person: Person) -> tuple[int, int]:
        """(position, operators able to serve) for a waiting person."""
        return self._line.position(person)

    def on(self, conn: ConnId) -> Person | Operator | None:
        """The person or operator on connection `conn`, or None (not yet said who it is,
        or gone)."""
        return self._s.conns.get(conn)

    def knows(self, conn: ConnId) -> bool:
        """Whether `conn` has said who it is and has not left."""
        return conn in self._s.conns

    def serving(self, conn: ConnId) -> bool:
        """Whether operator `conn` is in a session now."""
        return bool(self.session_of(conn)) and conn in self._s.operators

    def session_of(self, conn: ConnId) -> str:
        """The id of the session the operator or person on `conn` is in, or "" (none)."""
        who = self._s.conns.get(conn)
        if isinstance(who, Operator):
            return who.session.id if who.session else ""
        session = self._s.session_of(who) if isinstance(who, Person) else None
        return session.id if session else ""

    def place_tokens(self) -> frozenset[str]:
        """The tokens a returning person may ask a place back with: one per person waiting
        (held places included)."""
        return frozenset(self._s.tokens)

    # -- the settings (registry.desk.state.QueueOptions) ------------------------------------

    @property
    def grace(self) -> float:
        return self._s.grace

    @property
    def max_waiting(self) -> int:
        return self._s.max_waiting

    @property
    def push_interval(self) -> float:
        return self._s.push_interval

    @property
    def reclaim_window(self) -> float:
        return self._s.reclaim_window

    @property
    def heartbeat(self) -> float:
        return self._s.heartbeat

    @property
    def crisis_notice(self) -> str:
        return self._s.crisis_notice
