"""What the desk clients' cores ask their adapter (`peer.adapter.desk.runner`) to do."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from msgspec import Struct

from wire.desk.messages import DeskMessage
from wire.desk.render import render_person

if TYPE_CHECKING:
    from peer.core.desk.link import DeskLink

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
