"""The help desk's messages. Must not import `wire.messages`, which imports this module."""

from __future__ import annotations

from typing import NamedTuple

from wire.base import Int, Items, Reply, WireMessage, types_by_name
from wire.refusals import RefusalCode

#: A `WaitEstimate`'s kind: from the typical session length, or measured; nobody on duty;
#: kept after a restart for the person's operator, up to `high` seconds more.
EST_TYPICAL = "typical"
EST_MEASURED = "measured"
EST_NOBODY = "nobody"
EST_KEPT = "kept"


class WaitEstimate(NamedTuple):
    """`kind` (EST_*) and whole seconds `low` to `high` (0 and 0: no figure)."""

    kind: str
    low: Int
    high: Int


#: Seconds of silence before either end sends `DeskPing`; as long again, and the connection is
#: lost (TCP's keepalive cannot tell a process stopped by SIGSTOP).
HEARTBEAT = 10.0

#: Why a person may be in danger ("" for nothing said so); the latter say more, and win.
CRISIS_TOPIC = "topic"
CRISIS_DESCRIPTION = "description"
CRISIS_WAITING = "waiting"

# -- first frames -------------------------------------------------------------------------


class DeskJoin(WireMessage, frozen=True):
    """A new place, or back the place of `token` ("" the first time); `wire`, the sender's
    WIRE_VERSION; `work` solves this connection's `DeskWork`."""

    name: str
    phone: str
    topic: Int
    description: str
    token: str
    wire: str
    work: str = ""


class DeskOperator(WireMessage, frozen=True):
    """An operator comes on duty, with the registry's operator `key`."""

    name: str
    topics: Items[Int]
    key: str
    wire: str


class DeskGiveUp(WireMessage, frozen=True):
    """A person who left while their connection was lost gives up their place; answered
    `DeskEnded`, held or not."""

    phone: str
    token: str
    wire: str


# -- registry to person -------------------------------------------------------------------


class DeskWork(Reply, frozen=True):
    """The join `reply_to` takes a new place only sent again with the `work` that solves `seed`
    (hex) for `bits` (wire.desk.work)."""

    seed: str
    bits: Int


class DeskCrisis(WireMessage, frozen=True):
    """The crisis notice, before anything else."""

    text: str


class DeskQueued(Reply, frozen=True):
    """Answer to `DeskJoin`: `token` takes the place back within `grace` seconds of a lost
    connection (`restored`: this answer did)."""

    token: str
    topic: Int
    position: Int
    operators: Int
    grace: Int
    restored: bool
    estimate: WaitEstimate


class DeskPosition(Reply, frozen=True):
    """Where a waiting person stands, 1 next: pushed when it or the number of operators changes
    (`reply_to` ""), or the answer to a person's `DeskLook`."""

    position: Int
    operators: Int
    waited: Int
    estimate: WaitEstimate


class DeskServed(WireMessage, frozen=True):
    """The person's turn, in `session`, which their lines name."""

    operator: str
    session: str


# -- registry to operator -----------------------------------------------------------------


class DeskOnDuty(Reply, frozen=True):
    """Answer to `DeskOperator` and `DeskServe`: `waiting` people in all, `yours` connected for
    its topics."""

    name: str
    topics: Items[Int]
    waiting: Int
    yours: Int


class DeskSession(WireMessage, frozen=True):
    """The operator now serves this person: the full number travels only here; `said`, the words of
    crisis typed while waiting."""

    session: str
    name: str
    phone: str
    topic: Int
    description: str
    waited: Int
    crisis: str
    said: Items[str]


class RoomRow(NamedTuple):
    """One row of `.room`: the phone masked; after a restart, the operator it is `kept_for`,
    `kept_left` seconds at most."""

    name: str
    topic: Int
    phone: str
    waited: Int
    connected: bool
    crisis: str
    kept_for: str
    kept_left: Int


class DeskRoom(Reply, frozen=True):
    """An operator's `DeskLook` answered, in order."""

    rows: Items[RoomRow]


# -- either direction ---------------------------------------------------------------------


class DeskLine(WireMessage, frozen=True):
    """A line of the `session` it was typed in; the registry fills in `sender`."""

    sender: str
    text: str
    session: str


class DeskEnd(WireMessage, frozen=True):
    """`.end`: a session already over ends nothing, not the next one."""

    session: str


class DeskEnded(WireMessage, frozen=True):
    """A session ended, or the connection closes; `requeued`: back to the front; `heard`: how
    many of the person's lines of the session arrived (-1: not said)."""

    reason: str
    requeued: bool
    heard: Int


class DeskPing(WireMessage, frozen=True):
    """Sent after `HEARTBEAT` seconds of silence; answered at once with `DeskPong`."""


class DeskPong(Reply, frozen=True):
    """Answers the `DeskPing` `reply_to` names."""


class DeskLeave(WireMessage, frozen=True):
    """`.quit`."""


# -- requests -----------------------------------------------------------------------------


class DeskLook(WireMessage, frozen=True):
    """A look at the waiting room: a person's `.queue`, answered `DeskPosition`; an operator's
    `.room`, answered `DeskRoom`."""


class DeskServe(WireMessage, frozen=True):
    topics: Items[Int]


class DeskFirst(WireMessage, frozen=True):
    """`.first 3` (number `position` of `.room`), or `.first Maria` (`position` 0)."""

    position: Int
    name: str = ""


class DeskRefused(Reply, frozen=True):
    """`reason` for the user, `code` for the program; a refused first frame closes the
    connection."""

    reason: str
    code: RefusalCode = RefusalCode.OTHER


class DeskNotice(WireMessage, frozen=True):
    text: str


class DeskRegistries(WireMessage, frozen=True):
    """The service's registries ("ip:port" each), and `desk`, where its desk is, from a registry
    that does not run it and then closes ("" from the one that does)."""

    desk: str
    registries: Items[str]


DeskMessage = (
    DeskJoin
    | DeskOperator
    | DeskCrisis
    | DeskQueued
    | DeskPosition
    | DeskServed
    | DeskOnDuty
    | DeskSession
    | DeskRoom
    | DeskLine
    | DeskEnd
    | DeskEnded
    | DeskLeave
    | DeskLook
    | DeskServe
    | DeskFirst
    | DeskRefused
    | DeskNotice
    | DeskPing
    | DeskPong
    | DeskGiveUp
    | DeskWork
    | DeskRegistries
)

#: Every desk message type by the name it travels under; joins `wire.messages.MESSAGE_TYPES`.
DESK_TYPES: dict[str, type[DeskMessage]] = types_by_name(DeskMessage)
