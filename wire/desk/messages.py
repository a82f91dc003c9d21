"""The help desk's messages. Must not import `wire.messages`, which imports this module."""

from __future__ import annotations

from typing import NamedTuple

from wire.base import Id, Int, Items, WireMessage, types_by_name
from wire.refusals import RefusalCode

#: A `WaitEstimate`'s kind: a range in seconds from the typical session length, or from the
#: sessions measured; nobody on duty for the topic; kept after a restart for the operator
#: who was serving the person, for up to `high` seconds more.
EST_TYPICAL = "typical"
EST_MEASURED = "measured"
EST_NOBODY = "nobody"
EST_KEPT = "kept"


class WaitEstimate(NamedTuple):
    """How long a waiting person may still wait: `kind` (EST_*) and whole seconds `low` to `high` (0
    and 0: no figure)."""

    kind: str
    low: Int
    high: Int


#: Seconds of silence before either end asks for a sign of life (`DeskPing`); as long again,
#: and the connection is lost (TCP's keepalive cannot tell a process stopped by SIGSTOP).
HEARTBEAT = 10.0

#: Why a person may be in danger ("" for nothing said so): a crisis topic, words of crisis
#: in the description, or typed while waiting. The latter say more, and win.
CRISIS_TOPIC = "topic"
CRISIS_DESCRIPTION = "description"
CRISIS_WAITING = "waiting"

# -- first frames -------------------------------------------------------------------------


class DeskJoin(WireMessage, frozen=True):
    """A person asks for help: a new place, or back the place of `token` ("" the first time);
    `phone` as typed; `wire` the sender's WIRE_VERSION; `work` solves this connection's
    `DeskWork`."""

    id: Id
    name: str
    phone: str
    topic: Int
    description: str
    token: str
    wire: str
    work: str = ""


class DeskOperator(WireMessage, frozen=True):
    """An operator comes on duty as `name`, serving `topics`, with the registry's operator `key`;
    `wire` as above."""

    id: Id
    name: str
    topics: Items[Int]
    key: str
    wire: str


class DeskGiveUp(WireMessage, frozen=True):
    """A person who left while their connection was lost gives up the place of `token` and `phone`;
    answered `DeskEnded`, held or not."""

    id: Id
    phone: str
    token: str
    wire: str


# -- registry to person -------------------------------------------------------------------


class DeskWork(WireMessage, frozen=True):
    """The desk is busy: the join `reply_to` takes a new place only sent again with the `work` that
    solves `seed` (hex) for `bits` (wire.desk.work)."""

    id: Id
    reply_to: Id
    seed: str
    bits: Int


class DeskCrisis(WireMessage, frozen=True):
    """The crisis notice, sent before anything else to a person who chose topic 1."""

    id: Id
    text: str


class DeskQueued(WireMessage, frozen=True):
    """Answer to `DeskJoin`: `token` takes the place back within `grace` seconds of a lost
    connection (`restored`: this answer did); `operators` serve the topic."""

    id: Id
    reply_to: Id
    token: str
    topic: Int
    position: Int
    operators: Int
    grace: Int
    restored: bool
    estimate: WaitEstimate


class DeskPosition(WireMessage, frozen=True):
    """Where a waiting person stands, 1 next: pushed when it or the number of operators changes
    (`reply_to` ""), or the answer to a person's `DeskLook`."""

    id: Id
    reply_to: Id
    position: Int
    operators: Int
    waited: Int
    estimate: WaitEstimate


class DeskServed(WireMessage, frozen=True):
    """The person's turn: `operator` serves them in `session`, which their lines name."""

    id: Id
    operator: str
    session: str


# -- registry to operator -----------------------------------------------------------------


class DeskOnDuty(WireMessage, frozen=True):
    """Answer to `DeskOperator` and `DeskServe`: the operator serves `topics`; `waiting` people wait
    in all, `yours` of them connected for its topics."""

    id: Id
    reply_to: Id
    name: str
    topics: Items[Int]
    waiting: Int
    yours: Int


class DeskSession(WireMessage, frozen=True):
    """The operator now serves this person: the full number travels only here; `said`, the words of
    crisis typed while waiting; `crisis`: CRISIS_*."""

    id: Id
    session: str
    name: str
    phone: str
    topic: Int
    description: str
    waited: Int
    crisis: str
    said: Items[str]


class RoomRow(NamedTuple):
    """One row of `.room`: the phone masked; `connected` false for a held place; `crisis`
    (CRISIS_*); after a restart, the operator it is `kept_for`, `kept_left` seconds at most."""

    name: str
    topic: Int
    phone: str
    waited: Int
    connected: bool
    crisis: str
    kept_for: str
    kept_left: Int


class DeskRoom(WireMessage, frozen=True):
    """An operator's `DeskLook` answered: the waiting room in order."""

    id: Id
    reply_to: Id
    rows: Items[RoomRow]


# -- either direction ---------------------------------------------------------------------


class DeskLine(WireMessage, frozen=True):
    """A line of `session`, the one it was typed in (none reaches a session that is over); the
    registry fills in `sender`."""

    id: Id
    sender: str
    text: str
    session: str


class DeskEnd(WireMessage, frozen=True):
    """End `session` (`.end`): one already over ends nothing, not the next one."""

    id: Id
    session: str


class DeskEnded(WireMessage, frozen=True):
    """A session ended, or the connection closes, for `reason`; `requeued`: back to the front;
    `heard`: how many of the person's lines of the session arrived (-1: not said)."""

    id: Id
    reason: str
    requeued: bool
    heard: Int


class DeskPing(WireMessage, frozen=True):
    """Either end asks for a sign of life after `HEARTBEAT` seconds of silence; answered at once
    with `DeskPong`."""

    id: Id


class DeskPong(WireMessage, frozen=True):
    """The sign of life that answers the `DeskPing` whose id is `reply_to`."""

    id: Id
    reply_to: Id


class DeskLeave(WireMessage, frozen=True):
    """A person gives up their place (`.quit`); an operator goes off duty."""

    id: Id


# -- requests -----------------------------------------------------------------------------


class DeskLook(WireMessage, frozen=True):
    """A look at the waiting room: a person's `.queue`, answered `DeskPosition`; an operator's
    `.room`, answered `DeskRoom`."""

    id: Id


class DeskServe(WireMessage, frozen=True):
    """An operator changes the topics it serves (`.serve 1,3`)."""

    id: Id
    topics: Items[Int]


class DeskFirst(WireMessage, frozen=True):
    """An operator puts number `position` of `.room` (`.first 3`), or, `position` 0, the one called
    `name` (`.first Maria`), at the front."""

    id: Id
    position: Int
    name: str = ""


class DeskRefused(WireMessage, frozen=True):
    """A request refused: `reason` for the user, `code` for the program; a refused first frame
    closes the connection."""

    id: Id
    reply_to: Id
    reason: str
    code: RefusalCode = RefusalCode.OTHER


class DeskNotice(WireMessage, frozen=True):
    """A line of information from the desk (someone is waiting, a line was too long)."""

    id: Id
    text: str


class DeskRegistries(WireMessage, frozen=True):
    """The service's registries ("ip:port" each), and `desk`, where its desk is, from a registry
    that does not run it and then closes ("" from the one that does)."""

    id: Id
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
