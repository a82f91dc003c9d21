"""The connection to the desk as both clients keep it (`DeskLink`); what the desk clients' cores
ask their adapter (`peer.adapter.desk.runner`) to do."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Protocol

from msgspec import Struct

from peer.core.lifecycle import UndefinedMoveError
from wire.base import IdMaker
from wire.desk.messages import HEARTBEAT, DeskLeave, DeskMessage, DeskPing, DeskPong, DeskRegistries
from wire.desk.render import render_person
from wire.desk.text import format_duration
from wire.heartbeat import Beat, Heartbeat
from wire.messages import address, ring_next

Addr = tuple[str, int]


class Show(Struct, frozen=True):
    """`text` for the terminal: a line in a style (system, chat, error, alert); or, by its
    `style`, a question asked ("question"), the prompt from now on ("prompt"), or a line
    put back where it is typed, to be edited ("typed")."""

    text: str
    style: str = "system"


#: The styles of a `Show` that is no line.
NOT_LINES = frozenset({"question", "prompt", "typed"})


class Connection(Enum):
    """OPEN a new connection (closing any other), answered by `connected` or `not_connected`;
    an older one's events are dropped. DROP the connection; its events are dropped. PROBE:
    see whether the desk can be reached, on a connection closed at once, answered by `probed`
    (why not, or ""): said before the form, not after."""

    OPEN = "open"
    DROP = "drop"
    PROBE = "probe"


class SendToDesk(Struct, frozen=True):
    """Lost silently when the connection is broken: `lost` follows."""

    message: DeskMessage


class FindPlace(Struct, frozen=True):
    """Look for a place this number held at this desk; answered by `place_found`."""

    phone: str


class KeepPlace(Struct, frozen=True):
    """Keep the place in the held-place file (or refresh it); also the place found there.
    With no `token`, the place is forgotten: left, served, refused or given up."""

    token: str = ""
    topic: int = 0
    description: str = ""
    grace: float = 0.0


class ExitDesk(Struct, frozen=True):
    code: int


Action = Show | Connection | SendToDesk | FindPlace | KeepPlace | ExitDesk
#: Takes each action as a part decides it, in order (docs/ARCHITECTURE.md, "Cores and adapters").
Emit = Callable[[Action], None]
Render = Callable[[DeskMessage], list[str]]


def show(message: DeskMessage, emit: Emit, render: Render = render_person) -> None:
    """Show what `render` makes of `message`: `!!!` lines as alerts, the desk's `[...]` as
    system lines, the rest as chat."""
    for line in render(message):
        style = "alert" if line.startswith("!!!") else "system" if line.startswith("[") else "chat"
        emit(Show(line, style))


class DeskClient(Protocol):
    """What `peer.adapter.desk.runner` drives, one method per event; a core may derive from it."""

    link: DeskLink

    def start(self, now: float, emit: Emit) -> None: ...
    def typed(self, text: str, now: float, emit: Emit, begun: float | None = None) -> None: ...
    def end_of_input(self, now: float, emit: Emit) -> None: ...
    def connected(self, now: float, emit: Emit) -> None: ...
    def not_connected(self, why: str, now: float, emit: Emit) -> None: ...
    def received(self, message: DeskMessage, now: float, emit: Emit) -> None: ...
    def lost(self, reason: str, now: float, emit: Emit) -> None: ...
    def tick(self, now: float, emit: Emit) -> None: ...
    def next_wake(self) -> float | None: ...
    def probed(self, why: str, now: float, emit: Emit) -> None:
        return None  # (only a person's client sends a Probe, or a FindPlace)

    def place_found(self, kept: KeepPlace | None, now: float, emit: Emit) -> None:
        return None


#: Seconds to wait for the desk to confirm a `.quit` before closing anyway.
LEAVE_TIMEOUT = 2.0
#: Seconds between reconnection attempts: doubling from the first to the last.
RETRY_FIRST, RETRY_MAX = 0.5, 4.0
#: The longest of those waits when the desk's service has other registries: one of them
#: takes the desk over within seconds of its registry's death, and is reached at once.
SERVICE_RETRY_MAX = 1.0
#: Seconds the desk has to answer the first message on a connection (a join, an operator's
#: hello): a registry answers at once, so what is silent that long is not one (a chat
#: peer's port, another server that accepts connections) or is stuck.
ANSWER_TIMEOUT = 10.0


class DeskPhase(Enum):
    """Where a desk client is: a person's (FORM to SERVED) or an operator's (CONNECTING,
    DUTY), and the end common to both (LEAVING, DONE)."""

    NEW = "new"
    FORM = "form"  # the person fills in the form (name, topic, how urgent)
    CONNECTING = "connecting"  # the first connection is made; typed lines wait for it
    JOINING = "joining"  # a join sent, its place not known yet
    RECONNECTING = "reconnecting"  # the connection was lost; the place is kept a while
    WAITING = "waiting"  # in the waiting room
    SERVED = "served"  # in a session with an operator
    DUTY = "duty"  # an operator on duty, or reconnecting to be
    LEAVING = "leaving"  # a goodbye sent, its answer awaited
    DONE = "done"  # the client exits


P = DeskPhase
_ENDS = frozenset({P.LEAVING, P.DONE})
#: A person's phases while the desk may answer: its answers come in any order (a place kept
#: is served at once, a session ends back in the queue), so any of them may follow another.
_LIVE = frozenset({P.CONNECTING, P.JOINING, P.RECONNECTING, P.WAITING, P.SERVED})
#: Where each phase may go next (staying where it is is no move, always allowed); any other
#: move is a misuse by the core (UndefinedMoveError): nobody goes back to the form, an operator
#: never has a person's phases, and a goodbye sent only ends.
MOVES: dict[DeskPhase, frozenset[DeskPhase]] = {
    P.NEW: frozenset({P.FORM, P.CONNECTING}),
    P.FORM: frozenset({P.CONNECTING, P.DONE}),
    P.CONNECTING: _LIVE | {P.DUTY} | _ENDS,
    **dict.fromkeys(_LIVE - {P.CONNECTING}, _LIVE | _ENDS),
    P.DUTY: _ENDS,
    P.LEAVING: frozenset({P.DONE}),
    P.DONE: frozenset(),
}


class ClientSettings(Struct, frozen=True, kw_only=True):
    """`retry`: the first and longest wait between attempts; `prompt`: lines typed at a terminal;
    `serve_when_asked` (`OperatorCore`)."""

    retry: tuple[float, float] = (RETRY_FIRST, RETRY_MAX)
    leave_timeout: float = LEAVE_TIMEOUT
    heartbeat: float = HEARTBEAT
    prompt: bool = False
    serve_when_asked: bool = False


DEFAULTS = ClientSettings()


class DeskLink:
    """One client's connection to the desk; what says a connection is lost returns the reason."""

    def __init__(self, desk: Addr, new_id: IdMaker, settings: ClientSettings) -> None:
        self.ip, self.port = desk
        self.new_id = new_id
        self.settings = settings
        self.phase = DeskPhase.NEW  # (read here; moved by `go` alone)
        self.up = False  # the connection asked for is up
        #: Lines typed (None: the end of input) before the first connection is up, when begun.
        self.early: list[tuple[str | None, float]] = []
        self.leave_by: float | None = None
        self.answer_by: float | None = None
        self._answered = False  # the desk has answered in this run
        # the desk's silence on this connection (None: not answered yet, or no connection)
        self._liveness: Heartbeat | None = None
        self.registries: tuple[Addr, ...] = ()
        self._tried: set[Addr] = set()  # those that failed (or sent us on) since it answered
        self._wait = settings.retry[0]  # before the next reconnection attempt
        #: When the next reconnection attempt is due (None: none is, or one is under way).
        self.retry_at: float | None = None

    def go(self, phase: DeskPhase) -> None:
        """Move to `phase`. UndefinedMoveError when MOVES does not list the move."""
        if phase is not self.phase and phase not in MOVES[self.phase]:
            raise UndefinedMoveError(
                f"a desk client cannot go from {self.phase.value} to {phase.value}"
            )
        self.phase = phase

    def hold(self, line: str | None, begun: float) -> bool:
        """While the first connection is made, hold `line` (None: the end of input) for `opened`."""
        if self.phase is not DeskPhase.CONNECTING:
            return False
        self.early.append((line, begun))
        return True

    def opened(self, first: DeskMessage, now: float, client: DeskClient, emit: Emit) -> None:
        """The connection is up: `first` goes on it; then the lines held are handed to `client`."""
        self.up = True
        self._liveness = None
        emit(self.ask(first, now))
        early, self.early = self.early, []
        for line, begun in early:
            if line is None:
                client.end_of_input(now, emit)
            else:
                client.typed(line, now, emit, begun)

    def unreachable(self, why: str) -> Show:
        return Show(f"[Cannot reach the help desk at {self.ip}:{self.port} ({why}).]", "error")

    def ask(self, first: DeskMessage, now: float) -> SendToDesk:
        self.answer_by = now + ANSWER_TIMEOUT
        return SendToDesk(first)

    def closed(self) -> None:
        self.up = False
        self.answer_by = None

    def heard(self, message: DeskMessage, now: float, emit: Emit) -> bool:
        """Whether `message` was only a sign of life (a DeskPing is answered)."""
        self.answer_by = None
        self._answered = True
        self._tried.clear()
        self._liveness = self._liveness or Heartbeat(now, self.settings.heartbeat)
        self._liveness.heard(now)
        if isinstance(message, DeskPing):
            if self.up:
                emit(SendToDesk(DeskPong(self.new_id(), message.id)))
            return True
        return isinstance(message, DeskPong)

    def unanswered(self, now: float, emit: Emit) -> str | None:
        """None while the desk answers; "" when it never answered in this run (said here); else why
        the connection, dropped, is lost."""
        if self.answer_by is not None and now >= self.answer_by:
            self.answer_by = None
            if not self._answered:
                where = f"{self.ip}:{self.port} in {int(ANSWER_TIMEOUT)} s"
                said = "is that the address and port of a ChatApp registry?"
                emit(Show(f"[No answer from the help desk at {where}: {said}]", "error"))
                return ""
            why = f"no answer in {int(ANSWER_TIMEOUT)} s"
        elif self._liveness is None or not self.up:
            return None
        else:
            match self._liveness.check(now):
                case Beat.WAIT:
                    return None
                case Beat.PING:
                    emit(SendToDesk(DeskPing(self.new_id())))
                    return None
            silent = format_duration(self._liveness.silent_for(now))
            why = f"no answer from the help desk for {silent}"
        self._liveness = None
        emit(Connection.DROP)
        return why

    def leave(self, now: float) -> SendToDesk:
        self.go(DeskPhase.LEAVING)
        self.leave_by = now + self.settings.leave_timeout
        return SendToDesk(DeskLeave(self.new_id()))

    def leaving_due(self, now: float) -> bool:
        return (
            self.phase is DeskPhase.LEAVING and self.leave_by is not None and now >= self.leave_by
        )

    def end(self, code: int, emit: Emit) -> None:
        self.go(DeskPhase.DONE)
        emit(ExitDesk(code))

    def next_wake(self, *more: float | None) -> float | None:
        if self.phase is DeskPhase.LEAVING:
            return self.leave_by
        beat = self._liveness.due() if self._liveness is not None and self.up else None
        wakes = [t for t in (self.retry_at, self.answer_by, beat, *more) if t is not None]
        return min(wakes) if wakes else None

    def learn(self, message: DeskRegistries) -> bool:
        """Whether `message` names the desk's address, used from now on."""
        # (those it knew are kept: a registry that stopped a moment ago may be missing
        # from the list, and one that is gone costs a refused connection at most)
        told = [a for a in map(address, message.registries) if a is not None]
        self.registries = tuple(dict.fromkeys([*told, *self.registries]))
        if (desk := address(message.desk)) is None:
            return False
        self.rewind()  # sent on: the first wait again
        self._tried.add((self.ip, self.port))
        self.ip, self.port = desk
        return True

    def try_again(self, now: float, emit: Emit, until: float = float("inf")) -> None:
        """The next registry untried since the desk last answered, now; else the next, `later`."""
        here = (self.ip, self.port)
        self._tried.add(here)
        fresh = ring_next(here, [addr for addr in self.registries if addr not in self._tried])
        if fresh is not None:
            emit(Connection.OPEN)
        else:
            self._tried.clear()
            self.later(now, until)
        self.ip, self.port = fresh or ring_next(here, self.registries) or here

    def later(self, now: float, until: float = float("inf")) -> None:
        """The next attempt, by `until`: the first `retry` after `rewind`, then doubling up to
        the longest (SERVICE_RETRY_MAX with other registries)."""
        cap = SERVICE_RETRY_MAX if len(self.registries) > 1 else self.settings.retry[1]
        longest = min(self.settings.retry[1], cap)
        wait, self._wait = min(self._wait, longest), min(self._wait * 2, longest)
        self.retry_at = now + min(wait, max(0.0, until - now))

    def retry_due(self, now: float) -> bool:
        if self.retry_at is None or now < self.retry_at:
            return False
        self.retry_at = None
        return True

    def rewind(self) -> None:
        self._wait = self.settings.retry[0]
