"""The help desk, sans-IO (`DeskQueue`): its rules are docs/DESK.md's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from registry.core.desk import operators, persons, sessions
from registry.core.desk.actions import Close, ConnId, DeskSend, Emit, Log
from registry.core.desk.limits import DEFAULTS, DeskSettings
from registry.core.desk.sessions import Ending
from registry.core.desk.state import DeskState, Link, Operator, Person
from wire.desk.messages import (
    DeskEnd,
    DeskFirst,
    DeskGiveUp,
    DeskJoin,
    DeskLeave,
    DeskLine,
    DeskLook,
    DeskMessage,
    DeskOperator,
    DeskPing,
    DeskPong,
    DeskServe,
)
from wire.desk.text import format_duration
from wire.heartbeat import Beat, Heartbeat

#: What may hand someone over: the adapter holds hand-overs (`DeskState.holding`) before each,
#: as when a connection ends, since the other side may have typed `.quit` not read yet.
HANDS_OVER = (DeskJoin, DeskOperator, DeskServe, DeskEnd, DeskLeave)


class DeskQueue:
    def __init__(
        self,
        *,
        make_id: Callable[[], str],
        make_token: Callable[[], str],
        operator_key: str,
        authorised: dict[str, str] | None = None,
        settings: DeskSettings = DEFAULTS,
    ) -> None:
        """A `DeskOperator` goes on duty with `operator_key`, or from a key `authorised`."""
        self.state = self._s = DeskState(make_id, make_token, operator_key, authorised, settings)
        self._handlers = _CLOSED if settings.closed else HANDLERS

    def receive(self, conn: ConnId, message: DeskMessage, now: float, emit: Emit) -> None:
        """A message arrived on `conn`; its first says who it is."""
        s = self._s
        who, link = s.conns.get(conn), s.links.get(conn)
        if link is not None:
            link.beat = link.beat or Heartbeat(now, s.settings.heartbeat)
            link.beat.heard(now)
        if who is not None and isinstance(message, DeskPing | DeskPong):  # a sign of life only
            if isinstance(message, DeskPing):
                emit(DeskSend(conn, DeskPong(s.make_id(), message.id)))
            return
        handler = self._handlers.get((None if who is None else type(who), type(message)))
        if handler is not None:
            handler(s, conn if who is None else who, message, now, emit)
        elif who is None:
            said = "A help-desk connection starts with DeskJoin or DeskOperator."
            s.refuse(conn, message.id, said, emit)
        else:
            role = "a person" if isinstance(who, Person) else "an operator"
            s.notice(conn, f"{type(message).__name__} is not something {role} can send.", emit)
        self._after(now, emit)

    def disconnected(self, conn: ConnId, reason: str, now: float, emit: Emit) -> None:
        s = self._s
        who = s.conns.pop(conn, None)
        s.links.pop(conn, None)
        s.puzzles.pop(conn, None)
        if isinstance(who, Person):
            sessions.person_gone(s, who, now, reason, emit)
        elif isinstance(who, Operator):
            sessions.operator_gone(s, who, now, f"connection lost ({reason})", emit)
        self._after(now, emit)

    def _after(self, now: float, emit: Emit) -> None:
        sessions.settle(self._s, now, emit)
        operators.tell(self._s, now, emit)

    def end_hold(self, now: float, emit: Emit) -> None:
        """End a hold (`DeskState.holding`): what was held back settles."""
        if self._s.holding:
            self._s.holding = False
            self._after(now, emit)

    def timer(self, now: float, emit: Emit) -> None:
        """Heartbeats first, then places and notices that fell due."""
        s = self._s
        for conn, link in list(s.links.items()):
            if link.beat is None:
                continue
            if conn not in s.conns:  # left, refused or closed: nothing to watch
                link.beat = None
                continue
            match link.beat.check(now):
                case Beat.PING:
                    emit(DeskSend(conn, DeskPing(s.make_id())))
                case Beat.LOST:
                    silent = format_duration(link.beat.silent_for(now))
                    said = (
                        f"No sign of life from your client for {silent}, so the help "
                        "desk took your connection as lost and closed it."
                    )
                    s.notice(conn, said, emit)
                    emit(Close(conn, f"no sign of life for {silent}"))
                    self.disconnected(conn, f"no sign of life for {silent}", now, emit)
        sessions.expire(s, now, emit)
        self._after(now, emit)
        operators.tell_held_back(s, now, emit)

    def next_wake(self) -> float | None:
        s = self._s
        times = sessions.wakes(s) + operators.wakes(s)
        if not s.holding:  # held-back pushes go at `end_hold`
            times += [p.due for p in s.waiting if p.due is not None]
        times += [
            link.beat.due()
            for conn, link in s.links.items()
            if link.beat is not None and conn in s.conns
        ]
        return min(times, default=None)

    def shutdown(self, now: float, emit: Emit) -> None:
        s, reason = self._s, "The help desk is closing."
        # a person's place is not kept: they are told what they can do
        to_person = f"{reason.rstrip('.')}; please try again later."
        for operator in s.serving():
            # Operators hear the reason once, below, with everyone else.
            ending = Ending("registry closing", to_person=to_person, measure=False)
            sessions.end(s, operator, now, ending, emit)
        for conn in list(s.conns):
            s.goodbye(conn, reason if conn in s.operators else to_person, "registry closing", emit)
        # (nobody comes back: no place is kept)
        for held in (s.conns, s.links, s.puzzles, s.operators, s.waiting, s.arrivals, s.briefings):
            held.clear()

    def opened(self, conn: ConnId, address: str, key: str = "") -> None:
        """`conn` comes from IP `address` with the public `key` ("": none): its places count against
        both, its silence is watched. The console is never opened."""
        self._s.links[conn] = Link(address, key)


def _closed(s: DeskState, conn: ConnId, msg: DeskMessage, now: float, emit: Emit) -> None:
    if isinstance(msg, DeskGiveUp):
        s.goodbye(conn, s.settings.closed, "desk closed", emit)
    else:
        log = Log("desk: closed; refused a client", "desk: closed")
        s.refuse(conn, msg.id, s.settings.closed, emit, log=log)


#: Who sends a message: a connection that has not said who it is (None), a person or an
#: operator; its handler gets the state, then the connection's id for None, else the person
#: or operator.
Role = type[Person] | type[Operator] | None
Handler = Callable[[DeskState, Any, Any, float, Emit], None]
HANDLERS: dict[tuple[Role, type[DeskMessage]], Handler] = {
    (None, DeskJoin): persons.join,
    (None, DeskOperator): operators.on,
    (None, DeskGiveUp): persons.give_up,
    (Person, DeskLook): persons.where,
    (Person, DeskLine): persons.line,
    (Person, DeskEnd): persons.leaves,
    (Person, DeskLeave): persons.leaves,
    (Operator, DeskLook): operators.room,
    (Operator, DeskFirst): operators.put_first,
    (Operator, DeskLine): operators.line,
    (Operator, DeskEnd): operators.end,
    (Operator, DeskServe): operators.serve,
    (Operator, DeskLeave): operators.off,
}
#: A closed desk refuses whoever comes, and says why.
_CLOSED = HANDLERS | {(None, first): _closed for first in (DeskJoin, DeskOperator, DeskGiveUp)}
