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

from registry.desk.actions import Action, Close, ConnId, Send
from registry.desk.joins import Joins
from registry.desk.limits import ARRIVALS_INTERVAL
from registry.desk.operators import NOBODY_WAITING, Operators
from registry.desk.people import Operator, Person, name_for_log
from registry.desk.persons import Persons
from registry.desk.sessions import Ending
from wire.desk.messages import (
    DeskEnd,
    DeskEnded,
    DeskGiveUp,
    DeskJoin,
    DeskLeave,
    DeskMessage,
    DeskOperator,
    DeskPing,
    DeskPong,
    DeskServe,
)
from wire.desk.text import format_duration
from wire.heartbeat import Beat, Heartbeat
from wire.shown_text import clean

#: What may hand someone over: a person joining (to an operator free), an operator going on
#: duty, or serving more topics (`.serve`), a session or a duty ending (the next person, or
#: the one put back at the front, goes to whoever is free). The adapter holds hand-overs
#: (`DeskQueue.hold`) before each, as it does when a connection ends: the other side of
#: that hand-over may have typed `.quit` at that moment, not read yet. (`.first` only
#: reorders who is next: anyone it could hand over was handed over already.)
HANDS_OVER = (DeskJoin, DeskOperator, DeskServe, DeskEnd, DeskLeave)


class DeskQueue(Joins, Operators, Persons):
    """The waiting room, the operators and the sessions. See the module docstring; each
    part is a layer of its own (registry.desk.state lists them)."""

    # -- events ----------------------------------------------------------------------------

    def next_wake(self) -> float | None:
        """When `timer` must run next: a held place running out or a held-back push."""
        times = [p.dropped + self.grace for p in self._waiting if p.dropped is not None]
        if not self._holding:  # held-back pushes go at `release`
            times += [p.due for p in self._waiting if p.due is not None]
        times += [o.told_at + ARRIVALS_INTERVAL for o in self._operators.values() if o.untold]
        if self._restored:
            times.append(self._reclaim_by)
            if self._settle_until > float("-inf"):
                times.append(self._settle_until)
        times += [beat.due() for conn, beat in self._beats.items() if conn in self._conns]
        times += [p.awaits_until for p in self._waiting if p.awaits]
        return min(times, default=None)

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
        return actions + self._settle(now) + self._tell_waiting(now) + self._keep()

    def disconnected(
        self, conn: ConnId, now: float, reason: str = "connection lost"
    ) -> list[Action]:
        """Connection `conn` is gone (closed, broken, or closed by us for bad frames)."""
        entity = self._conns.pop(conn, None)
        self._addresses.pop(conn, None)
        self._puzzles.pop(conn, None)
        self._conn_keys.pop(conn, None)
        self._beats.pop(conn, None)
        actions: list[Action] = []
        if isinstance(entity, Person):
            session = self._session_of(entity)
            if session is not None:
                name = clean(entity.name)
                told = (
                    f"{name}'s connection was lost ({reason}); the session has ended. "
                    f"They keep a place at the front of the waiting room for "
                    f"{format_duration(self.grace)}."
                )
                ending = Ending(
                    f"person's connection lost ({reason})", to_operator=told, requeue=True
                )
                actions += self._end(session, now, ending)
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
        return actions + self._settle(now) + self._tell_waiting(now) + self._keep()

    def hold(self) -> None:
        """Hand nobody over, and push no position nor send any `DeskQueued`, until
        `release`; everything else goes on as usual (lines, joins, `.queue`, `.room`). The
        adapter holds when it sees a connection end, since others may have ended at the
        same moment and not been read yet: a registry resumed after SIGSTOP reads the ends
        of every client that left meanwhile one at a time, and the first one read must not
        hand a waiting person to an operator just as gone (nor an operator to a person
        gone). Holding twice is holding once."""
        self._holding = True

    def release(self, now: float) -> list[Action]:
        """End a `hold`: serve who can be served now, answer the joins (and tell those put
        back at the front where they stand) with the figures now, push the positions that
        changed, and tell each operator whose `.end` came meanwhile and who is still free
        that nobody waits for it. Nothing happens without a hold."""
        if not self._holding:
            return []
        self._holding = False
        served = self._dispatch(now)
        # the answers kept meanwhile go first: a DeskQueued answers a join before anything
        # else (position 0 when the person is one of those just served)
        actions = self._held_answers(now) + served + self._settle(now) + self._tell_waiting(now)
        ended, self._ended_while_holding = self._ended_while_holding, set()
        for operator in self._operators.values():
            if operator.conn in ended and operator.session is None:
                actions.append(self._notice(operator.conn, NOBODY_WAITING))
        return actions + self._keep()

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
        return (
            actions
            + self._settle(now)
            + self._tell_waiting(now)
            + self._tell_held_back_arrivals(now)
            + self._keep()
        )

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

    def shutdown(self, now: float, reason: str = "The help desk is closing.") -> list[Action]:
        """The registry stops: end every session, tell everyone why, close everything."""
        actions: list[Action] = []
        # a person's place is not kept: they are told what they can do
        to_person = f"{reason.rstrip('.')}; please try again later."
        for operator in list(self._operators.values()):
            if operator.session is not None:
                # Operators hear the reason once, below, with everyone else.
                ending = Ending("registry closing", to_person=to_person, measure=False)
                actions += self._end(operator.session, now, ending)
        for conn in list(self._conns):
            said = reason if conn in self._operators else to_person
            actions.append(Send(conn, DeskEnded(self._make_id(), said, False, -1)))
            actions.append(Close(conn, "registry closing"))
        self._conns.clear()
        self._addresses.clear()
        self._puzzles.clear()
        self._operators.clear()
        self._waiting.clear()
        self._tokens.clear()
        self._arrivals.clear()
        self._briefings.clear()
        # everyone was told the desk is closing, and their clients end: nobody comes back
        return actions + self._keep()

    # -- first frames ----------------------------------------------------------------------

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
