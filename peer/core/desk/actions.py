"""What the desk clients' cores ask their adapter (`peer.adapter.desk.runner`) to do."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from msgspec import Struct

from wire.desk.messages import DeskMessage
from wire.desk.render import render_person

if TYPE_CHECKING:
    from peer.core.desk.link import DeskLink

Addr = tuple[str, int]


class Show(Struct, frozen=True):
    """A line, in a style: system, chat, error, alert or prompt."""

    line: str
    style: str = "system"


class Ask(Struct, frozen=True):
    question: str


class SetPrompt(Struct, frozen=True):
    text: str


class Connect(Struct, frozen=True):
    """Open a new connection (closing any other), answered by `connected` or `not_connected`; an
    older one's events are dropped."""


class Drop(Struct, frozen=True):
    """Close the connection; its events are dropped."""


class Probe(Struct, frozen=True):
    """See whether the desk can be reached, on a connection closed at once, answered by `probed`
    (why not, or ""): said before the form, not after."""


class SendToDesk(Struct, frozen=True):
    """Lost silently when the connection is broken: `lost` follows."""

    message: DeskMessage


class PutTyped(Struct, frozen=True):
    text: str


class FindPlace(Struct, frozen=True):
    """Look for a place this number held at this desk; answered by `place_found`."""

    phone: str


class KeepPlace(Struct, frozen=True):
    """Keep the place in the held-place file (or refresh it); also the place found there."""

    token: str
    topic: int
    description: str
    grace: float


class ForgetPlace(Struct, frozen=True):
    """The place is left, served, refused or given up."""


class ExitDesk(Struct, frozen=True):
    code: int


Action = (
    Show
    | Ask
    | SetPrompt
    | Connect
    | Drop
    | Probe
    | SendToDesk
    | PutTyped
    | FindPlace
    | KeepPlace
    | ForgetPlace
    | ExitDesk
)
#: Takes each action as a part decides it, in order (docs/ARCHITECTURE.md, "Cores and adapters").
Emit = Callable[[Action], None]
Render = Callable[[DeskMessage], list[str]]


def unreachable(ip: str, port: int, why: str) -> str:
    return f"[Cannot reach the help desk at {ip}:{port} ({why}).]"


def show(message: DeskMessage, emit: Emit, render: Render = render_person) -> None:
    """Show what `render` makes of `message`: `!!!` lines as alerts, the desk's `[...]` as
    system lines, the rest as chat."""
    for line in render(message):
        style = "alert" if line.startswith("!!!") else "system" if line.startswith("[") else "chat"
        emit(Show(line, style))


class DeskClient(Protocol):
    """What `peer.adapter.desk.runner` drives, one method per event."""

    link: DeskLink

    def start(self, now: float, emit: Emit) -> None: ...
    def typed(self, text: str, now: float, emit: Emit, begun: float | None = None) -> None: ...
    def end_of_input(self, now: float, emit: Emit) -> None: ...
    def connected(self, now: float, emit: Emit) -> None: ...
    def not_connected(self, why: str, now: float, emit: Emit) -> None: ...
    def received(self, message: DeskMessage, now: float, emit: Emit) -> None: ...
    def probed(self, why: str, now: float, emit: Emit) -> None: ...
    def lost(self, reason: str, now: float, emit: Emit) -> None: ...
    def tick(self, now: float, emit: Emit) -> None: ...
    def next_wake(self) -> float | None: ...
    def place_found(self, kept: KeepPlace | None, now: float, emit: Emit) -> None: ...
