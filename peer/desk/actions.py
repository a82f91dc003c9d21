"""What the help-desk clients' cores ask for, and the events they are driven by.

`peer.desk.person.PersonCore` (`ChatApp -d`) and `peer.desk.duty.OperatorCore`
(`ChatApp -o`) are sans-IO state machines, like the peer's and the registry's cores
(docs/ARCHITECTURE.md): each method takes one event with `now` (monotonic seconds) and
returns the actions to carry out, in order. `peer.desk.runner` carries them out over a
real terminal, TCP connection and clock; the tests drive the cores directly.

Actions and events are msgspec Structs, as the peer's and the registry's actions are: a
Struct class is made in C, where a frozen dataclass execs generated code for each class at
every start of a client.
"""

from __future__ import annotations

from collections.abc import Callable

from msgspec import Struct

from wire.desk.messages import (
    HEARTBEAT,
    DeskLeave,
    DeskMessage,
    DeskPing,
    DeskPong,
    DeskRegistries,
)
from wire.desk.text import format_duration
from wire.heartbeat import Beat, Heartbeat
from wire.reliable import IdMaker

Addr = tuple[str, int]

#: Seconds to wait for the desk to confirm a `.quit` before closing anyway.
LEAVE_TIMEOUT = 2.0
#: Seconds between reconnection attempts: doubling from the first to the last.
RETRY_FIRST, RETRY_MAX = 0.5, 4.0
#: Seconds the desk has to answer the first message on a connection (a join, an operator's
#: hello): a registry answers at once, so what is silent that long is not one (a chat
#: peer's port, another server that accepts connections) or is stuck.
ANSWER_TIMEOUT = 10.0


class Show(Struct, frozen=True):
    """Print a line (`>>> ` before it), in a style: system, chat, error, alert or prompt."""

    line: str
    style: str = "system"


class Ask(Struct, frozen=True):
    """Ask a question: the prompt on a terminal, a line otherwise."""

    question: str


class SetPrompt(Struct, frozen=True):
    """The prompt shown on a terminal from now on."""

    text: str


class Connect(Struct, frozen=True):
    """Open a new connection to the desk (closing any other); answered by `connected` or
    `not_connected`. Events of an older connection are not handed to the core again."""


class Drop(Struct, frozen=True):
    """Close the connection, which the core has given up on (it stopped answering): its
    events, should any still come, are not handed to the core."""


class Probe(Struct, frozen=True):
    """See whether the desk can be reached, with a connection closed at once (it takes no
    place): answered by `probe_failed` only when it cannot. The person's form takes a while
    to fill in, and a desk that is down is better said before it than after."""


class Send(Struct, frozen=True):
    """Write one frame on the connection (lost without a word when it is broken: `lost`
    follows)."""

    message: DeskMessage


class PutTyped(Struct, frozen=True):
    """Put `text` back into the prompt on a terminal, where Enter sends it again (nothing
    when not a terminal, or when something new is being typed there already)."""

    text: str


class FindPlace(Struct, frozen=True):
    """Look for a place this phone number held at this desk in an earlier run; answered
    by `place_found`."""

    phone: str


class KeepPlace(Struct, frozen=True):
    """Keep the place (token, topic, description, grace period) in the held-place file,
    or refresh the time it was last known alive."""

    token: str
    topic: int
    description: str
    grace: float


class ForgetPlace(Struct, frozen=True):
    """Remove the held-place file: the place is left, served, refused or given up."""


class Exit(Struct, frozen=True):
    """The run ends with this exit status."""

    code: int


Action = (
    Show
    | Ask
    | SetPrompt
    | Connect
    | Drop
    | Probe
    | Send
    | PutTyped
    | FindPlace
    | KeepPlace
    | ForgetPlace
    | Exit
)


class KeptPlace(Struct, frozen=True):
    """A place held in an earlier run, as read from its file."""

    token: str
    topic: int
    description: str
    grace: float


def unreachable(ip: str, port: int, why: str) -> str:
    """The line said when the desk at `ip`:`port` cannot be reached, `why` being the
    system's reason."""
    return f"[Cannot reach the help desk at {ip}:{port} ({why}).]"


def no_answer(ip: str, port: int) -> str:
    """The line said when what listens at `ip`:`port` never answers (see ANSWER_TIMEOUT)."""
    return (
        f"[No answer from the help desk at {ip}:{port} in {int(ANSWER_TIMEOUT)} s: is that "
        "the address and port of a ChatApp registry?]"
    )


def address(text: str) -> Addr | None:
    """The address "ip:port" in `text`, or None when it is not one."""
    ip, _, port = text.rpartition(":")
    if ip and port.isdigit() and 0 < int(port) < 65536:
        return ip, int(port)
    return None


def style_of(line: str) -> str:
    """How a rendered desk line is shown: bracketed lines are the desk's own."""
    if line.startswith("!!!"):
        return "alert"
    return "system" if line.startswith("[") else "chat"


class DeskClientCore:
    """What `peer.desk.runner` drives: one method per event, each returning actions. The
    events that only one of the clients expects answer nothing here."""

    def __init__(
        self,
        ip: str,
        port: int,
        new_id: IdMaker,
        leave_timeout: float,
        heartbeat: float = HEARTBEAT,
    ) -> None:
        """`leave_timeout`: how long a leave waits for the desk to confirm it; `heartbeat`:
        the seconds of silence after which the desk is asked for a sign of life (and taken
        as lost after twice that: see `_beat`)."""
        self.ip, self.port = ip, port
        self.new_id = new_id
        self.phase = ""  # each client's own; "leaving" and "done" are common to both
        self._connected = False
        # lines typed (None: the end of input) before the first connection is up, each with
        # when it was begun
        self._early: list[tuple[str | None, float]] = []
        self._leave_timeout = leave_timeout
        self._leave_by: float | None = None
        # when the desk must have answered the connection's first message (ANSWER_TIMEOUT)
        self._answer_by: float | None = None
        self._answered = False  # the desk has answered in this run
        self.heartbeat = heartbeat
        # the desk's silence on this connection (None: not answered yet, or no connection)
        self._liveness: Heartbeat | None = None
        #: The registries of the service, when the desk is one of several (DeskRegistries);
        #: and those that failed (or sent us on) since the desk last answered.
        self.registries: tuple[Addr, ...] = ()
        self._tried: set[Addr] = set()
        self._sent_on = False  # a registry of the service sent us to the desk this round

    def start(self, now: float) -> list[Action]:
        """The run begins."""
        raise NotImplementedError

    def typed(self, text: str, now: float, begun: float | None = None) -> list[Action]:
        """The user typed a line, begun at `begun` (None: `now`): on a terminal its first
        key, otherwise the moment it was read (see `peer.desk.terminal.Typed`). A notice
        shown at an earlier `now` had not been seen when the line was begun if `begun` is
        before it."""
        raise NotImplementedError

    def end_of_input(self, now: float) -> list[Action]:
        """Input ended, or the user pressed Ctrl-C."""
        raise NotImplementedError

    def connected(self, now: float) -> list[Action]:
        """The connection asked for by `Connect` is up."""
        raise NotImplementedError

    def not_connected(self, why: str, now: float) -> list[Action]:
        """The connection asked for by `Connect` could not be made, for the reason `why`."""
        raise NotImplementedError

    def received(self, message: DeskMessage, now: float) -> list[Action]:
        """The desk sent `message`."""
        raise NotImplementedError

    def probe_failed(self, why: str, now: float) -> list[Action]:
        """The connection of a `Probe` could not be made, for the reason `why`."""
        return []

    def lost(self, reason: str, now: float) -> list[Action]:
        """The connection ended, for `reason`."""
        raise NotImplementedError

    def tick(self, now: float) -> list[Action]:
        """`next_wake` has come."""
        raise NotImplementedError

    def next_wake(self) -> float | None:
        """When `tick` is next due (monotonic seconds), or None."""
        raise NotImplementedError

    def place_found(self, kept: KeptPlace | None, now: float) -> list[Action]:
        """What `FindPlace` found."""
        return []

    # -- what both clients do alike ----------------------------------------------------------

    def _heard(self, message: DeskMessage, now: float, out: list[Action]) -> bool:
        """The desk sent `message`: it answers (see `_unanswered` and `_beat`). A DeskPing
        is answered at once; True when `message` was only a sign of life (a ping or its
        answer), which the client has no more to do with."""
        self._answer_by = None
        self._answered = True
        self._tried.clear()
        if self._liveness is None:
            self._liveness = Heartbeat(now, self.heartbeat)
        else:
            self._liveness.heard(now)
        if isinstance(message, DeskPing):
            if self._connected:
                out.append(Send(DeskPong(self.new_id(), message.id)))
            return True
        return isinstance(message, DeskPong)

    def _beat_due(self) -> float | None:
        """When the heartbeat has work (see `_beat`), or None when it does not run."""
        if self._liveness is None or not self._connected:
            return None
        return self._liveness.due()

    def _beat(self, now: float, out: list[Action]) -> bool:
        """The heartbeat, once the desk has answered on this connection: after `heartbeat`
        seconds without a word from it, ask it for a sign of life; after twice as long,
        drop the connection and take it as lost (`lost`), as when it breaks. True when it
        was taken as lost. A registry stopped (SIGSTOP) or cut off keeps the connection
        open, and nothing else would notice."""
        if self._liveness is None or not self._connected:
            return False
        match self._liveness.check(now):
            case Beat.WAIT:
                return False
            case Beat.PING:
                out.append(Send(DeskPing(self.new_id())))
                return False
        silent = format_duration(self._liveness.silent_for(now))
        self._liveness = None
        out.append(Drop())
        out.extend(self.lost(f"no answer from the help desk for {silent}", now))
        return True

    def _unanswered(
        self, now: float, out: list[Action], give_up: Callable[[list[Action]], None]
    ) -> bool:
        """Whether the desk's answer to the connection's first message is overdue
        (ANSWER_TIMEOUT). If so: when it never answered in this run, what listens there is
        no help desk, said before `give_up` ends the run; when it did, it is stuck now, and
        taken as a lost connection (`lost`)."""
        if self._answer_by is None or now < self._answer_by:
            return False
        self._answer_by = None
        if self._answered:
            out.append(Drop())
            out.extend(self.lost(f"no answer in {int(ANSWER_TIMEOUT)} s", now))
        else:
            out.append(Show(no_answer(self.ip, self.port), "error"))
            give_up(out)
        return True

    # -- a service of several registries (docs/SCALING.md) -----------------------------------

    def _learn(self, message: DeskRegistries) -> bool:
        """The registry said which registries the service has, and where its desk is: True
        when it named the desk's address (a registry that does not run it), which this
        client uses from now on: the registry closes this connection, and the caller asks
        for a new one. (Its own address: it is taking the desk over; ask it again.) The
        same service key answers there, so nothing is asked or said."""
        # (those it knew are kept: a registry that stopped a moment ago may be missing
        # from the list, and one that is gone costs a refused connection at most)
        told = [a for a in map(address, message.registries) if a is not None]
        self.registries = tuple(dict.fromkeys([*told, *self.registries]))
        desk = address(message.desk)
        if desk is None:
            return False
        self._sent_on = True
        self._tried.add((self.ip, self.port))
        self.ip, self.port = desk
        return True

    def _next_registry(self) -> bool:
        """The registry in use could not be reached: the next registry of the service is
        used from now on. True when that one has not been tried since the desk last
        answered (the caller connects to it at once); False when every one has, or there
        is no other: the caller waits its delay before the next round."""
        here = (self.ip, self.port)
        self._tried.add(here)
        ring = self.registries if here in self.registries else (here, *self.registries)
        if len(ring) < 2:
            return False
        start = ring.index(here)
        after = ring[start + 1 :] + ring[: start + 1]
        fresh = [addr for addr in after if addr not in self._tried]
        if not fresh:
            self._tried.clear()
        self.ip, self.port = (fresh or after)[0]
        return bool(fresh)

    def _service_answers(self) -> bool:
        """Whether a registry of the service sent us on since this was last asked: the
        service runs, and its desk is moving to another registry (the one that ran it
        stopped), so the next round of tries is not put off longer than the first."""
        answered, self._sent_on = self._sent_on, False
        return answered

    def _hold(self, line: str | None, begun: float) -> None:
        """Keep a typed line (None: the end of input), begun at `begun`, until the first
        connection is up."""
        self._early.append((line, begun))

    def _replay(self, now: float) -> list[Action]:
        """The held lines, handled now that the connection is up, each as begun when it
        was."""
        out: list[Action] = []
        early, self._early = self._early, []
        for line, begun in early:
            out.extend(self.end_of_input(now) if line is None else self.typed(line, now, begun))
        return out

    def _start_leaving(self, now: float, out: list[Action]) -> None:
        """Tell the desk we leave and wait (`_leave_timeout` at most) for it to confirm, so
        that the leave is not lost in a reset connection."""
        out.append(Send(DeskLeave(self.new_id())))
        self.phase = "leaving"
        self._leave_by = now + self._leave_timeout

    def _leaving_due(self, now: float) -> bool:
        """Whether the wait for the desk to confirm a leave is over."""
        return self.phase == "leaving" and self._leave_by is not None and now >= self._leave_by

    def _end(self, code: int, out: list[Action]) -> None:
        self.phase = "done"
        out.append(Exit(code))
