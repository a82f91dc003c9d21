"""Each kind of request the peer sends the registry, declared once (`KINDS`), and a request's
life as a state machine (`LIFE`): a move a stage does not list raises UndefinedMoveError, a
misuse by the core, never the network's. Sans-IO."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from msgspec import Struct

from peer.core.lifecycle import UndefinedMoveError
from wire.messages import (
    ChannelPost,
    Deregister,
    Join,
    Keepalive,
    Leave,
    MailTaken,
    Message,
    Register,
    Rename,
    RoomPost,
    RoomsRequest,
    SaveMessage,
    SetAway,
    SetTopic,
    TableRequest,
)

ROOMS_DOWN = (
    "[Rooms are unavailable while the registry does not answer; direct messages still work.]"
)
KEPT_IN_OUTBOX = "[Kept in your outbox; sent when the server answers.]"
RECEIVED_BY_SERVER = "[Message received by Server.]"
EXITING = "[Exiting]"


@dataclass(frozen=True)
class Kind:
    """What the core knows of one kind of request."""

    #: The part and method that take its answer ("part.method"; "": handled as it comes).
    answered: str = ""
    #: What is said when it is given up on ("": said by its part; {name}: ours).
    given_up: str = ""
    #: Whether lines typed after it wait for its answer.
    typing_waits: bool = False
    #: Whether it carries what the user sent: kept in the outbox, sent again after a restart.
    kept: bool = False
    #: Whether it goes in the order typed, at the typing's pace.
    in_order: bool = False
    #: Whether it goes over TCP when long (`always`: whole tables, every time).
    streams: bool = False
    always_streams: bool = False
    #: Whether its outcome comes after its answer (saved, relayed).
    outcome: bool = False
    #: Whether its late answer is taken after it was given up on.
    late_taken: bool = False
    #: What its acceptance says, the first time; of one kept in the outbox ({text}, {room}).
    said: str = ""
    kept_said: str = ""


_POSTED = Kind("ends.accepted", kept=True, in_order=True, streams=True, outcome=True)
_NOT_RENAMED = "[Renames need the registry; you are still {name}.]"

#: Every kind of request, by its message type.
KINDS: dict[type[Message], Kind] = {
    Register: Kind("registration.register_answered", typing_waits=True, late_taken=True),
    Deregister: Kind("leaving.deregistered", EXITING, typing_waits=True, in_order=True),
    SaveMessage: replace(_POSTED, given_up=KEPT_IN_OUTBOX),
    ChannelPost: replace(
        _POSTED,
        given_up=KEPT_IN_OUTBOX,
        said=RECEIVED_BY_SERVER,
        kept_said="[Kept message received by Server: {text}]",
    ),
    RoomPost: replace(_POSTED, kept_said="[Kept line said in {room}: {text}]"),
    Leave: Kind("ends.accepted", typing_waits=True, kept=True, in_order=True),
    Join: Kind("membership.joined", ROOMS_DOWN, True, in_order=True, late_taken=True),
    RoomsRequest: Kind("membership.rooms_answered", ROOMS_DOWN),
    SetTopic: Kind("membership.topic_set", ROOMS_DOWN, in_order=True),
    SetAway: Kind("commands.away_answered", "[Away needs the registry; nobody was told.]"),
    Rename: Kind("table_news.rename_answered", _NOT_RENAMED, True, in_order=True, late_taken=True),
    MailTaken: Kind("registration.more_mail"),
    Keepalive: Kind("table_news.alive"),
    TableRequest: Kind(always_streams=True),
}

#: What a quit waits for and the outbox keeps; what goes in the order typed.
KEPT = tuple(kind for kind, row in KINDS.items() if row.kept)
IN_ORDER = tuple(kind for kind, row in KINDS.items() if row.in_order)
#: The requests a typed line may wait for the answer to, Register last.
TYPING_WAITS = (
    *(k for k, row in KINDS.items() if row.typing_waits and k is not Register),
    Register,
)

#: Does what the registry's answer (second) to our request (first) says.
Take = Callable[[Any, Message, float, Any], None]


class Stage(Enum):
    """Where one request is in its life. A group of stages is a tuple: a test of one by
    `in` compares identities, where a set would hash each stage in Python (Enum's hash),
    for every kept request after every event."""

    NEW = "new"
    PACED = "paced"  # waits for the typing's pace
    HELD = "held"  # waits, in order, behind the request waited for
    SENT = "sent"  # a datagram, its copies timed
    STREAMED = "streamed"  # over TCP, awaited while its connection is open
    BUSY_WAIT = "busy-wait"  # answered Busy, or waiting after a silent round
    ANSWERED = "answered"  # kept while accepted: its outcome awaited
    GIVEN_UP = "given up"


class Step(Enum):
    """What moves a request on."""

    SEND = "send"
    PACE = "pace"
    HOLD = "hold"
    STREAM = "stream"  # over TCP: a whole table, or answered TooBig
    BUSY = "busy"  # answered Busy, or a first registration unheard: it waits
    AGAIN = "again"  # a new round of copies (a Busy's wait over, a silence, a move)
    ANSWER = "answer"
    GIVE_UP = "give up"


_S, _T = Stage, Step
#: What each step does in each stage; a pair not listed is a misuse (UndefinedMoveError).
LIFE: dict[Stage, dict[Step, Stage]] = {
    _S.NEW: {_T.SEND: _S.SENT, _T.PACE: _S.PACED, _T.HOLD: _S.HELD, _T.STREAM: _S.STREAMED},
    _S.PACED: {_T.SEND: _S.SENT},
    _S.HELD: {_T.SEND: _S.SENT, _T.PACE: _S.PACED, _T.HOLD: _S.HELD, _T.GIVE_UP: _S.GIVEN_UP},
    _S.SENT: {
        _T.AGAIN: _S.SENT,
        _T.STREAM: _S.STREAMED,
        _T.BUSY: _S.BUSY_WAIT,
        _T.ANSWER: _S.ANSWERED,
        _T.GIVE_UP: _S.GIVEN_UP,
    },
    _S.STREAMED: {_T.AGAIN: _S.SENT, _T.ANSWER: _S.ANSWERED, _T.GIVE_UP: _S.GIVEN_UP},
    _S.BUSY_WAIT: {
        _T.AGAIN: _S.SENT,
        _T.BUSY: _S.BUSY_WAIT,
        _T.ANSWER: _S.ANSWERED,
        _T.GIVE_UP: _S.GIVEN_UP,
    },
    # a copy of its answer, or its outcome; or asked again for its outcome
    _S.ANSWERED: {_T.ANSWER: _S.ANSWERED, _T.SEND: _S.SENT, _T.PACE: _S.PACED, _T.HOLD: _S.HELD},
    # a move to another registry of the service, or a first registration tried later
    _S.GIVEN_UP: {_T.AGAIN: _S.SENT, _T.BUSY: _S.BUSY_WAIT, _T.ANSWER: _S.ANSWERED},
}


class RequestRecord(Struct):
    """A request to the registry waiting for its answer (`quiet`: an outbox retry)."""

    message: Message
    quiet: bool = False
    #: when its current round of tries began, and how many rounds it had beyond the first
    since: float = 0.0
    rounds: int = 0
    #: where it is in its life (peer.core.request_kinds.LIFE)
    stage: Stage = Stage.NEW
    #: when its wait ends (after a Busy or a silent round), its connection (over TCP), or
    #: the wait for its outcome (accepted); infinite: no wait timed
    due: float = math.inf
    #: when its first Busy came
    busy_since: float | None = None
    #: whether the registry accepted it, its outcome still to come; and, a save, from the outbox
    accepted: bool = False
    kept: bool = False
    #: a join shown done by its room's notice: its give-up is taken as its ack
    noticed: bool = False

    def to(self, step: Step) -> RequestRecord:
        """Move on by `step` (UndefinedMoveError if its stage does not allow it): itself."""
        stage = LIFE[self.stage].get(step)
        if stage is None:
            raise UndefinedMoveError(f"{step.value!r} in stage {self.stage.value!r}")
        self.stage = stage
        return self
