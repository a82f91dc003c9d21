"""The peer's lifecycle as a state machine (docs/ARCHITECTURE.md, "The lifecycle"): an
undefined transition raises UndefinedMoveError, a misuse by the core, never the network's.
"""

from __future__ import annotations

from enum import Enum


class LifePhase(Enum):
    """Where the peer is in its life."""

    STARTING = "starting"
    STARTING_LATE = "starting, late"
    START_FAILED = "start failed"
    REGISTERED = "registered"
    OFFLINE = "offline"
    QUITTING = "quitting"
    QUITTING_OFFLINE = "quitting, offline"
    LEAVING = "leaving"
    GONE = "gone"
    REPLACED = "replaced"
    LEFT = "left"


class Event(Enum):
    """What moves the lifecycle on."""

    WELCOME = "welcome"  # the first registration, a typed `reg`, a quiet re-registration
    REGISTER_RESENT = "register resent"  # the first registration sent again
    START_FAILED = "start failed"  # the first registration refused, or unanswered
    DEREGISTERED = "deregistered"  # a typed `dereg`, or the quit's, answered
    REFUSED = "refused"  # a quiet re-registration refused
    RELEASED = "released"  # by the registry's console
    QUIT = "quit"  # /quit or the end of input, registered
    DELIVERED = "delivered"  # nothing the user sent is on its way any more
    REPLACED = "replaced"  # another start holds our name now
    LEAVE_NOW = "leave now"


S, E = LifePhase, Event

#: The registration is over: a `dereg` (or the quit's) answered, refused, or released.
_OFF = (E.DEREGISTERED, E.REFUSED, E.RELEASED)
_STARTING = {
    E.WELCOME: S.REGISTERED,
    E.REGISTER_RESENT: S.STARTING_LATE,
    E.START_FAILED: S.START_FAILED,
    E.REPLACED: S.REPLACED,
}
#: What each event does in each phase; a pair not listed is a misuse (UndefinedMoveError).
TRANSITIONS: dict[LifePhase, dict[Event, LifePhase]] = {
    S.STARTING: _STARTING,
    S.STARTING_LATE: _STARTING,  # (told apart only by what an early end of input says)
    S.START_FAILED: {},
    S.REGISTERED: {
        E.WELCOME: S.REGISTERED,  # a quiet re-registration, after the registry gave up on us
        **dict.fromkeys(_OFF, S.OFFLINE),
        E.QUIT: S.QUITTING,
        E.REPLACED: S.REPLACED,
    },
    S.OFFLINE: {
        E.WELCOME: S.REGISTERED,
        # a typed `dereg` answered after the name was released meanwhile
        E.DEREGISTERED: S.OFFLINE,
        E.REPLACED: S.REPLACED,
    },
    S.QUITTING: {
        E.WELCOME: S.QUITTING,
        **dict.fromkeys(_OFF, S.QUITTING_OFFLINE),
        E.QUIT: S.QUITTING,  # a second quit: its farewell, if it has one, replaces the first
        E.DELIVERED: S.LEAVING,
        E.REPLACED: S.REPLACED,
    },
    S.QUITTING_OFFLINE: {
        E.WELCOME: S.QUITTING,
        E.DEREGISTERED: S.QUITTING_OFFLINE,
        E.DELIVERED: S.GONE,
        E.REPLACED: S.REPLACED,
    },
    S.LEAVING: {
        # a registration sent before the quit, answered after its Deregister went
        E.WELCOME: S.LEAVING,
        # the quit's Deregister went unanswered (the peer said it exits), and the end of
        # input waited for it: quit again, as typed
        E.QUIT: S.LEAVING,
        E.DELIVERED: S.LEAVING,
        **dict.fromkeys(_OFF, S.GONE),
        E.REPLACED: S.REPLACED,
    },
    S.GONE: {
        # answers still coming in the datagram that said Bye: the exit is on its way
        E.WELCOME: S.LEAVING,
        E.DEREGISTERED: S.GONE,
        E.DELIVERED: S.GONE,  # a quit again (see LEAVING) that lost its registration
        E.REPLACED: S.REPLACED,
    },
    S.REPLACED: {
        # answers still coming in the datagram that was refused: this start sends nothing
        # more, whatever they say
        E.WELCOME: S.REPLACED,
        E.DEREGISTERED: S.REPLACED,
    },
    S.LEFT: {},
}
#: LEAVE_NOW ends every phase.
for _moves in TRANSITIONS.values():
    _moves[E.LEAVE_NOW] = S.LEFT

_NOT_STARTED = frozenset({S.STARTING, S.STARTING_LATE, S.START_FAILED})
_REGISTERED = frozenset({S.REGISTERED, S.QUITTING, S.LEAVING})
#: a quit or a replacement is under way: typed lines are no longer carried out
_GOING = frozenset({S.QUITTING, S.QUITTING_OFFLINE, S.LEAVING, S.GONE, S.REPLACED, S.LEFT})
#: leaving for good: the room left on the way out stays kept for the next start
_FOR_GOOD = frozenset({S.LEAVING, S.GONE, S.REPLACED, S.LEFT})


class UndefinedMoveError(Exception):
    """A move a state machine of the core does not list (TRANSITIONS here, LIFE in
    peer/core/request_kinds.py, MOVES in peer/core/desk/link.py)."""


class Lifecycle:
    """The peer's phase, and the farewell of the quit that waits for what is on its way."""

    def __init__(self, phase: LifePhase = LifePhase.STARTING) -> None:
        """A peer's lifecycle, in `phase` (STARTING, but for a test's)."""
        #: The farewell a waiting quit will send (QUIT sets it, DELIVERED and REPLACED
        #: take it); None when no quit waits.
        self.farewell: str | None = None
        self._set(phase)

    def fire(self, event: Event, farewell: str = "") -> LifePhase:
        """Move on by `event`; the new phase. QUIT takes `farewell` (an empty one keeps the
        one waiting); DELIVERED and REPLACED drop it. UndefinedMoveError: nothing changes."""
        phase = TRANSITIONS[self.phase].get(event)
        if phase is None:
            raise UndefinedMoveError(f"{event.value!r} in phase {self.phase.value!r}")
        if event is Event.QUIT:
            if self.farewell is None or farewell:
                self.farewell = farewell
        elif event is Event.DELIVERED or event is Event.REPLACED:
            self.farewell = None
        self._set(phase)
        return phase

    def _set(self, phase: LifePhase) -> None:
        self.phase = phase
        #: Whether the first registration was answered with a Welcome.
        self.started = phase not in _NOT_STARTED
        #: Whether the registry counts us online (as far as we know).
        self.registered = phase in _REGISTERED
        #: Whether a quit (or a replacement) is under way: typed lines are refused.
        self.going = phase in _GOING
        #: Whether the peer leaves for good (see RoomReturn.keep).
        self.for_good = phase in _FOR_GOOD
