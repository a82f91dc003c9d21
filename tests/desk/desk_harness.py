"""A fake-clock driver for the help desk's sans-IO queue, shared by the desk unit tests.

`Desk` wraps a `DeskQueue`, carries out its actions into plain lists (messages per
connection, closed connections, log lines, transcript records) and moves a fake clock,
running the timer at every wake-up the queue asks for, in order.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any, TypeVar

import msgspec

from registry.core.desk.actions import (
    Action,
    Close,
    DeskSend,
    KeptPlace,
    Log,
    SessionEnded,
    SessionLine,
    SessionStarted,
)
from registry.core.desk.limits import DeskSettings
from registry.core.desk.operators import revoke
from registry.core.desk.queue import DeskQueue
from registry.core.desk.sessions import places, restore
from registry.core.desk.state import Operator, Person
from tests.desk.listed import Listed, emitted
from wire.desk.messages import (
    DeskEnd,
    DeskJoin,
    DeskLeave,
    DeskLine,
    DeskLook,
    DeskMessage,
    DeskOperator,
    DeskQueued,
    DeskServe,
    DeskServed,
    DeskWork,
)
from wire.desk.text import ALL_TOPICS, DESCRIBE_TOPICS
from wire.desk.work import solve
from wire.version import WIRE_VERSION

M = TypeVar("M")

#: The operator key of the desks made here.
KEY = "the-operator-key"

PHONES = {
    "Alice": "+44 7700 900123",
    "Bob": "0151-2345-6789",
    "Carol": "+49 151 1234 5670",
    "Dan": "555 0100 222",
    "Eve": "+1 202 555 0199",
    "Fay": "07911 123456",
}


class Desk:
    """A DeskQueue on a fake clock, with everything it does recorded."""

    def __init__(self, **options: Any) -> None:
        ids = itertools.count(1)
        tokens = itertools.count(1)
        self.queue = Listed(
            DeskQueue(
                make_id=lambda: f"r-{next(ids)}",
                make_token=lambda: f"token-{next(tokens)}",
                operator_key=KEY,
                authorised=options.pop("authorised", None),
                settings=DeskSettings(**options),
            )
        )
        self.now = 0.0
        self.inbox: dict[str, list[DeskMessage]] = defaultdict(list)
        self.closed: list[str] = []
        self.logs: list[str] = []
        self.records: list[SessionStarted | SessionLine | SessionEnded] = []
        #: the places last kept on disk (registry.core.desk.sessions.places, after each event)
        self.kept: tuple[KeptPlace, ...] = ()
        self.sent_at: dict[str, list[tuple[float, DeskMessage]]] = defaultdict(list)
        self._ids = itertools.count(1)

    # -- carrying out actions -------------------------------------------------------------

    def apply(self, actions: list[Action]) -> list[Action]:
        self.kept = places(self.queue.state)
        for action in actions:
            if isinstance(action, DeskSend):
                assert action.conn not in self.closed, f"sent on closed {action.conn}"
                self.inbox[action.conn].append(action.message)
                self.sent_at[action.conn].append((self.now, action.message))
            elif isinstance(action, Close):
                self.closed.append(action.conn)
            elif isinstance(action, Log):
                self.logs.append(action.line)
            else:
                self.records.append(action)
        return actions

    def restore(self, places: list[KeptPlace], now: float) -> list[Action]:
        return self.apply(emitted(restore, self.queue.state, places, now))

    def revoke(self, name: str) -> list[Action]:
        return self.apply(emitted(revoke, self.queue.state, name, self.now))

    def mid(self) -> str:
        return f"c-{next(self._ids)}"

    def session_of(self, conn: str) -> str:
        """The id of the session the operator or person on `conn` is in, or ""."""
        who = self.queue.state.conns.get(conn)
        if isinstance(who, Operator):
            return who.session if who.person else ""
        operator = self.queue.state.serving_of(who) if isinstance(who, Person) else None
        return operator.session if operator else ""

    # -- events ---------------------------------------------------------------------------

    def send(self, conn: str, message: DeskMessage) -> list[Action]:
        return self.apply(self.queue.receive(conn, message, self.now))

    def join(
        self,
        conn: str,
        name: str = "Alice",
        *,
        phone: str | None = None,
        topic: int = 2,
        description: str | None = None,
        token: str = "",
        wire: str = WIRE_VERSION,
    ) -> list[Action]:
        number = phone if phone is not None else PHONES.get(name, "+1 555 000 0000")
        if description is None:  # as the client's form asks it
            description = "weak in maths" if topic in DESCRIBE_TOPICS else ""
        join = DeskJoin(self.mid(), name, number, topic, description, token, wire)
        actions = self.send(conn, join)
        asked = [a.message for a in actions if isinstance(a, DeskSend) and a.conn == conn]
        for message in asked:
            if isinstance(message, DeskWork):  # busy: the work done, as a client does it
                work = solve(message.seed, message.bits)
                again = msgspec.structs.replace(join, id=self.mid(), work=work)
                actions += self.send(conn, again)
        return actions

    def operator(
        self,
        conn: str,
        name: str,
        topics: tuple[int, ...] = ALL_TOPICS,
        key: str = "",
        wire: str = WIRE_VERSION,
    ) -> list[Action]:
        return self.send(conn, DeskOperator(self.mid(), name, topics, key or KEY, wire))

    def drop(self, conn: str, reason: str = "reset") -> list[Action]:
        return self.apply(self.queue.disconnected(conn, reason, self.now))

    def say(self, conn: str, text: str, session: str | None = None) -> list[Action]:
        """A line from `conn`: it names the current session of `conn` unless `session`."""
        current = self.session_of(conn) if session is None else session
        return self.send(conn, DeskLine(self.mid(), "", text, current))

    def end(self, conn: str, session: str | None = None) -> list[Action]:
        current = self.session_of(conn) if session is None else session
        return self.send(conn, DeskEnd(self.mid(), current))

    def leave(self, conn: str) -> list[Action]:
        return self.send(conn, DeskLeave(self.mid()))

    def ask(self, conn: str) -> list[Action]:
        return self.send(conn, DeskLook(self.mid()))

    def room(self, conn: str) -> list[Action]:
        return self.send(conn, DeskLook(self.mid()))

    def serve(self, conn: str, topics: tuple[int, ...]) -> list[Action]:
        return self.send(conn, DeskServe(self.mid(), topics))

    def advance(self, seconds: float) -> None:
        """Move the clock on, running the timer at each wake-up due on the way."""
        target = self.now + seconds
        while True:
            wake = self.queue.next_wake()
            if wake is None or wake > target:
                break
            self.now = max(self.now, wake)
            self.apply(self.queue.timer(self.now))
        self.now = target

    # -- looking at what was sent ---------------------------------------------------------

    def of(self, conn: str, kind: type[M]) -> list[M]:
        return [m for m in self.inbox[conn] if isinstance(m, kind)]

    def last(self, conn: str, kind: type[M]) -> M:
        found = self.of(conn, kind)
        assert found, f"{conn} got no {kind.__name__}: {self.inbox[conn]}"
        return found[-1]

    def take(self, conn: str) -> list[DeskMessage]:
        messages = self.inbox[conn]
        self.inbox[conn] = []
        return messages

    def token(self, conn: str) -> str:
        return self.last(conn, DeskQueued).token


def busy_desk(**options: object) -> Desk:
    """One operator serving everything, already busy with Zed."""
    desk = Desk(**options)
    desk.operator("op", "ann")
    desk.join("z", "Zed", phone="+1 999 888 7777")
    assert desk.of("z", DeskServed)
    return desk


def positions(desk: Desk, *conns: str) -> list[int]:
    return [desk.queue.state.position(desk.queue.state.conns.get(c))[0] for c in conns]  # type: ignore[arg-type]
