"""What the desk's core asks its adapter to do (`ConnId` names the adapter's connections);
its `Log` lines, the registry core's, never hold a person's full number. What the adapter
keeps of the state on disk: `KeptPlace`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from msgspec import Meta, Struct

from registry.core.actions import Log as Log  # (the one Log, re-exported)
from wire.desk.messages import DeskMessage, DeskSession

ConnId = str


class DeskSend(Struct, frozen=True):
    conn: ConnId
    message: DeskMessage


class Close(Struct, frozen=True):
    """Close connection `conn` once what was sent before has gone; `reason` is for the log."""

    conn: ConnId
    reason: str


class SessionStarted(Struct, frozen=True):
    """A session's transcript starts: what its `operator` was `told`, the phone masked, the rest
    scrubbed."""

    operator: str
    told: DeskSession

    @property
    def session(self) -> str:
        return self.told.session


class SessionLine(Struct, frozen=True):
    """A line of a session, scrubbed of the person's number; `crisis`: words of crisis."""

    session: str
    sender: str
    text: str
    crisis: bool = False


class SessionEnded(Struct, frozen=True):
    session: str
    reason: str
    length: float


class KeptPlace(
    Struct,
    frozen=True,
    forbid_unknown_fields=True,
    rename={"joined": "joined_at", "serving_since": "serving_at"},
):
    """A place as kept on disk, times on the queue's clock (the file's are times of day);
    `serving_since` None: no session."""

    token: Annotated[str, Meta(min_length=1)]
    name: str
    phone: str
    topic: int
    description: str
    address: str
    joined: float  # msgspec refuses NaN, Infinity and what overflows a float
    operator: str = ""
    back: bool = False
    served: Annotated[float, Meta(ge=0)] = 0.0
    serving_since: float | None = None
    crisis: str = ""
    said: tuple[str, ...] = ()


Action = DeskSend | Close | Log | SessionStarted | SessionLine | SessionEnded
Emit = Callable[[Action], None]
