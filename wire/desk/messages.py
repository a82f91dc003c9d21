"""The help desk's messages (docs/DESK.md, "Messages"), each a `wire.base.WireMessage`. This
module must not import `wire.messages`, which imports it to add `DeskMessage` to the set.
"""

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
    """How long a waiting person may still wait: `kind` (one of EST_*) and a range of whole
    seconds, `low` to `high` (0 and 0 for a kind with no figure)."""

    kind: str
    low: Int
    high: Int


#: Seconds of silence after which either end asks the other for a sign of life
#: (`DeskPing`); as long again with nothing heard, and it takes the connection as lost. A
#: process stopped with SIGSTOP keeps its TCP connection open, and TCP's keepalive cannot
#: tell. The same period as a chat peer's keepalive (`--keepalive`).
HEARTBEAT = 10.0

#: Why a person may be in danger ("" for nothing said so): a crisis topic, words of crisis
#: in the description, or typed while waiting. The latter say more, and win.
CRISIS_TOPIC = "topic"
CRISIS_DESCRIPTION = "description"
CRISIS_WAITING = "waiting"

# -- first frames -------------------------------------------------------------------------


class DeskJoin(WireMessage, frozen=True):
    """A person asks for help: join the waiting room, or take back the place of `token` (""
    the first time). `phone` is as typed; `wire` the sender's WIRE_VERSION; `work` solves
    the puzzle of a `DeskWork` asked on this connection ("" when none was)."""

    id: Id
    name: str
    phone: str
    topic: Int
    description: str
    token: str
    wire: str
    work: str = ""


class DeskOperator(WireMessage, frozen=True):
    """An operator comes on duty under `name`, serving `topics`, with the registry's operator
    `key` (its `desk-key`: the person served is shown with the full number); `wire` as above."""

    id: Id
    name: str
    topics: Items[Int]
    key: str
    wire: str


class DeskGiveUp(WireMessage, frozen=True):
    """A person who left (`.quit`) while their connection was lost gives up the place held
    for `token` and `phone`; the registry answers `DeskEnded` and closes, held or not."""

    id: Id
    phone: str
    token: str
    wire: str


# -- registry to person -------------------------------------------------------------------


class DeskWork(WireMessage, frozen=True):
    """The desk is busy: the `DeskJoin` `reply_to` takes a new place only with work shown
    (wire.desk.work): the same join, sent again on this connection with the `work` that
    solves `seed` (hex) for `bits`."""

    id: Id
    reply_to: Id
    seed: str
    bits: Int


class DeskCrisis(WireMessage, frozen=True):
    """The crisis notice, sent before anything else to a person who chose topic 1."""

    id: Id
    text: str


class DeskQueued(WireMessage, frozen=True):
    """Answer to `DeskJoin`: the person is in the waiting room; `token` takes the place back
    within `grace` seconds of a lost connection (`restored`: this answer did so); `operators`
    serve the topic (0: nobody yet)."""

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
    """Pushed when a waiting person's position or number of operators changes (at most
    once a second). Position 1 means the person is next."""

    id: Id
    position: Int
    operators: Int
    estimate: WaitEstimate


class DeskQueueInfo(WireMessage, frozen=True):
    """Answer to `DeskQueueRequest` (`.queue`): people ahead, seconds waited, estimate."""

    id: Id
    reply_to: Id
    ahead: Int
    waited: Int
    operators: Int
    estimate: WaitEstimate


class DeskServed(WireMessage, frozen=True):
    """The person's turn has come: operator `operator` serves them from now on, in the
    session `session` (which the person's lines name, like an operator's)."""

    id: Id
    operator: str
    session: str


# -- registry to operator -----------------------------------------------------------------


class DeskOnDuty(WireMessage, frozen=True):
    """Answer to `DeskOperator` and `DeskServe`: the operator serves `topics`; `waiting`
    people are in the waiting room, held places and other topics included, of whom
    `yours` are there (connected) for one of `topics`: those the operator may be given."""

    id: Id
    reply_to: Id
    name: str
    topics: Items[Int]
    waiting: Int
    yours: Int


class DeskSession(WireMessage, frozen=True):
    """The operator now serves this person: the full number travels only here, with the
    description and `said`, the words of crisis typed while waiting; `crisis`: CRISIS_*."""

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
    """One place of the waiting room as `.room` shows it: the phone masked; `connected`
    false for a place held after a lost connection; `crisis` (CRISIS_*, ""); after a
    restart, the operator it is `kept_for` ("" for none), for `kept_left` seconds at most."""

    name: str
    topic: Int
    phone: str
    waited: Int
    connected: bool
    crisis: str
    kept_for: str
    kept_left: Int


class DeskRoom(WireMessage, frozen=True):
    """Answer to `DeskRoomRequest` (`.room`): the waiting room in order."""

    id: Id
    reply_to: Id
    rows: Items[RoomRow]


# -- either direction ---------------------------------------------------------------------


class DeskLine(WireMessage, frozen=True):
    """A line of `session` (the one it was typed in: none reaches a session that is over);
    from a client `sender` is ignored, the registry fills it in."""

    id: Id
    sender: str
    text: str
    session: str


class DeskEnd(WireMessage, frozen=True):
    """End the session `session` (`.end`; see DeskLine): an operator's `.end` for a session
    that is already over ends nothing, not the next one."""

    id: Id
    session: str


class DeskEnded(WireMessage, frozen=True):
    """A session ended, or the connection is about to close, for `reason`; `requeued`, the
    person goes back to the front; `heard`, to a person whose session ended, how many of its
    lines reached the registry (so the client can say which did not); else -1."""

    id: Id
    reason: str
    requeued: bool
    heard: Int


class DeskPing(WireMessage, frozen=True):
    """Either end asks the other for a sign of life after `HEARTBEAT` seconds of silence;
    the other answers at once with `DeskPong`. Nothing else follows from it."""

    id: Id


class DeskPong(WireMessage, frozen=True):
    """The sign of life that answers the `DeskPing` whose id is `reply_to`."""

    id: Id
    reply_to: Id


class DeskLeave(WireMessage, frozen=True):
    """A person gives up their place (`.quit`); an operator goes off duty."""

    id: Id


# -- requests -----------------------------------------------------------------------------


class DeskQueueRequest(WireMessage, frozen=True):
    """A waiting person asks where they stand (`.queue`)."""

    id: Id


class DeskServe(WireMessage, frozen=True):
    """An operator changes the topics it serves (`.serve 1,3`)."""

    id: Id
    topics: Items[Int]


class DeskRoomRequest(WireMessage, frozen=True):
    """An operator asks for the waiting room (`.room`)."""

    id: Id


class DeskFirst(WireMessage, frozen=True):
    """An operator puts the person at `position` of `.room` (from 1) at the front of the
    waiting room (`.first 3`), or, `position` 0, the one called `name` (`.first Maria`)."""

    id: Id
    position: Int
    name: str = ""


class DeskRefused(WireMessage, frozen=True):
    """A request was refused; `reason` is a sentence for the user, `code` what it means to
    the program. After a refused first frame the registry closes the connection."""

    id: Id
    reply_to: Id
    reason: str
    code: RefusalCode = RefusalCode.OTHER


class DeskNotice(WireMessage, frozen=True):
    """A line of information from the desk (someone is waiting, a line was too long)."""

    id: Id
    text: str


class DeskRegistries(WireMessage, frozen=True):
    """The registries of a service (`registries`, "ip:port" each), and where its help desk
    is: `desk` from a registry that does not run it, which closes the connection after this;
    "" from the one that does (docs/SCALING.md)."""

    id: Id
    desk: str
    registries: Items[str]


DeskMessage = (
    DeskJoin
    | DeskOperator
    | DeskCrisis
    | DeskQueued
    | DeskPosition
    | DeskQueueInfo
    | DeskServed
    | DeskOnDuty
    | DeskSession
    | DeskRoom
    | DeskLine
    | DeskEnd
    | DeskEnded
    | DeskLeave
    | DeskQueueRequest
    | DeskServe
    | DeskRoomRequest
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
